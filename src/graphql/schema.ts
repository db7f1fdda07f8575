import {
  GraphQLID,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  lexicographicSortSchema,
  printSchema,
  type GraphQLFieldConfigMap,
} from 'graphql';
import { DeclarationError, type ActionTable, type CompiledAction } from '../core/dispatch.js';
import { listField } from './list.js';
import { ErrorType, mutationFields, type MutationActions } from './mutations.js';
import { camelCase, pascalCase, pluralCamel } from './names.js';
import { OutputTypes } from './output-types.js';
import { runAction, toGraphqlError, type GraphqlContext } from './run.js';
import { wantedFields } from './selection.js';
import { DateScalar, DateTimeScalar, SafeIntScalar } from './scalars.js';

/**
 * The GraphQL schema of the action table, in the conventions of seed 001. Nothing here names a resource: per
 * resource, `find` gives the list field, `get` the single field and the object type, `create`/`update`/`mark_delete`
 * and the other `mark_*` actions the mutations. The YAML result schemas give the object types.
 */
export function buildGraphqlSchema(table: ActionTable): GraphQLSchema {
  const claimed = new Map<string, string>();
  const claimName = (name: string, where: string) => {
    const first = claimed.get(name);
    if (first !== undefined && first !== where) throw new DeclarationError(where, `GraphQL name ${name} is also made by ${first}`);
    claimed.set(name, where);
  };
  for (const builtIn of ['Query', 'Mutation', 'ErrorType', 'SafeInt', 'DateTime', 'Date', 'JSON']) claimName(builtIn, 'graphql');
  const outputs = new OutputTypes(table.schemas, claimName);
  const query: GraphQLFieldConfigMap<unknown, GraphqlContext> = {};
  const mutation: GraphQLFieldConfigMap<unknown, GraphqlContext> = {};
  const addField = (
    fields: GraphQLFieldConfigMap<unknown, GraphqlContext>,
    name: string,
    config: (typeof fields)[string],
    where: string,
  ) => {
    if (name in fields) throw new DeclarationError(where, `GraphQL field ${name} is made twice`);
    fields[name] = config;
  };

  for (const resource of table.resources) {
    // GraphQL authenticates API keys only: actions for user callers stay off its schema
    const action = (name: string) => forServices(table.lookup(resource.name, name));
    const get = usable(action('get'), 'object_result', ['_id']);
    const find = usable(action('find'), 'result_set_with_meta');
    const objectType = get ? outputs.forSchema(get.schema.name) : undefined;
    const typeBase = pascalCase(resource.name);
    if (find) {
      addField(
        query,
        pluralCamel(resource.name),
        listField(find, typeBase, outputs.forSchema(find.schema.name), claimName),
        `${resource.name}/find`,
      );
    }
    if (get && objectType) addField(query, camelCase(resource.name), singleField(get, objectType), `${resource.name}/get`);

    const actions: MutationActions = {
      resource: resource.name,
      get,
      create: action('create'),
      update: action('update'),
      delete: usable(action('mark_delete'), 'ok_result', ['_id']),
      marks: [],
    };
    for (const other of table.list()) {
      if (other.resource !== resource.name || !other.name.startsWith('mark_') || other.name === 'mark_delete') continue;
      if (!forServices(other)) continue;
      if (usable(other, 'ok_result', ['_id'])) actions.marks.push({ verb: other.name.slice('mark_'.length), action: other });
    }
    if (actions.create || actions.update || actions.delete || actions.marks.length > 0) {
      for (const [name, config] of Object.entries(mutationFields(actions, objectType, claimName)))
        addField(mutation, name, config, resource.name);
    }
  }

  return new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: query }),
    ...(Object.keys(mutation).length > 0 ? { mutation: new GraphQLObjectType({ name: 'Mutation', fields: mutation }) } : {}),
    types: [ErrorType, SafeIntScalar, DateTimeScalar, DateScalar],
  });
}

/** The schema as SDL, sorted so that the generated file only changes when the declarations do. */
export function printGraphqlSchema(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}

/** `account(id: ID!)`: the `get` action; an id that matches nothing answers null. */
function singleField(get: CompiledAction, type: GraphQLObjectType): GraphQLFieldConfigMap<unknown, GraphqlContext>[string] {
  return {
    type,
    args: { id: { type: new GraphQLNonNull(GraphQLID) } },
    ...(get.definition.summary ? { description: get.definition.summary } : {}),
    resolve: async (_root, args: { id: string }, ctx, info) => {
      try {
        return await runAction(get, { _id: args.id }, ctx, undefined, wantedFields(get.schema.fields, info));
      } catch (err) {
        const error = toGraphqlError(err, ctx, { _id: 'id' });
        if (error.extensions.code === 'not_found') return null;
        throw error;
      }
    },
  };
}

/** The action when an API key may call it. */
function forServices(action: CompiledAction | undefined): CompiledAction | undefined {
  return action?.callers.includes('service') ? action : undefined;
}

/** The action when it has the standard shape (envelope, and exactly these params when given). */
function usable(action: CompiledAction | undefined, envelope: string, params?: string[]): CompiledAction | undefined {
  if (!action || action.envelope !== envelope) return undefined;
  if (params && action.validator.params.map((p) => p.name).join(',') !== params.join(',')) return undefined;
  return action;
}
