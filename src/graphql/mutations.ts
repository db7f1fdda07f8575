import {
  GraphQLBoolean,
  GraphQLID,
  GraphQLInputObjectType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLString,
  type GraphQLFieldConfig,
  type GraphQLFieldConfigMap,
} from 'graphql';
import type { CompiledAction } from '../core/dispatch.js';
import { toApiError } from '../core/errors.js';
import { inputFields } from './input-types.js';
import { camelCase, pascalCase } from './names.js';
import { mutationErrors, runAction, toGraphqlError, type GraphqlContext } from './run.js';

/** Seed 001's `ErrorType {field, messages}`, plus our stable error `code`. */
export const ErrorType = new GraphQLObjectType({
  name: 'ErrorType',
  fields: {
    field: { type: new GraphQLNonNull(GraphQLString), description: 'the input field (GraphQL name), or "__all__"' },
    messages: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(GraphQLString))) },
    code: { type: GraphQLString, description: 'the error code of the RPC API (invalid_params, not_found, conflict, …)' },
  },
});

/** The actions of one resource that become mutations. */
export interface MutationActions {
  resource: string;
  get: CompiledAction | undefined;
  create: CompiledAction | undefined;
  update: CompiledAction | undefined;
  delete: CompiledAction | undefined;
  /** `mark_disable` → `Disable`; only marks that take just `_id`. */
  marks: Array<{ verb: string; action: CompiledAction }>;
}

type Payload = { ok: boolean; errors: unknown[]; object: unknown };

/**
 * `<resource>Create(new<Resource>: …CreateGenericType!)`, `<resource>Update(new<Resource>: …UpdateGenericType!)`,
 * `<resource>Delete(id: ID!)` and `<resource>Mark<Verb>(id: ID!)`, each answering `<Resource>SerializerMutation
 * {ok, errors, <resource>}`. The record in the answer is read back through the resource's `get` action.
 */
export function mutationFields(
  actions: MutationActions,
  objectType: GraphQLObjectType | undefined,
  claimName: (name: string, where: string) => void,
): GraphQLFieldConfigMap<unknown, GraphqlContext> {
  const singular = camelCase(actions.resource);
  const typeBase = pascalCase(actions.resource);
  const payloadName = `${typeBase}SerializerMutation`;
  claimName(payloadName, `resource ${actions.resource}`);
  const payload = new GraphQLObjectType<Payload>({
    name: payloadName,
    fields: {
      errors: { type: new GraphQLList(ErrorType), resolve: (p) => p.errors },
      ...(objectType ? { [singular]: { type: objectType, resolve: (p: Payload) => p.object } } : {}),
      ok: { type: GraphQLBoolean, resolve: (p) => p.ok },
    },
  });
  const fields: GraphQLFieldConfigMap<unknown, GraphqlContext> = {};
  const readBack = async (id: unknown, ctx: GraphqlContext): Promise<unknown> => {
    if (!actions.get) return null;
    try {
      return await runAction(actions.get, { _id: id }, ctx);
    } catch (err) {
      // written but gone already (deleted meanwhile): the write still happened
      if (toApiError(err).code === 'not_found') return null;
      throw err;
    }
  };
  const inputArg = `new${typeBase}`;
  for (const [kind, action] of [
    ['Create', actions.create],
    ['Update', actions.update],
  ] as const) {
    if (!action) continue;
    const typeName = `${typeBase}${kind}GenericType`;
    claimName(typeName, `${action.resource}/${action.name}`);
    const input = inputFields(action.validator.params, camelCase, typeName, claimName);
    const inputType = new GraphQLInputObjectType({ name: typeName, fields: input.fields });
    fields[`${singular}${kind}`] = mutation(
      payload,
      { [inputArg]: { type: new GraphQLNonNull(inputType) } },
      action,
      kind === 'Update',
      async (args, ctx) => {
        const done = (await runAction(action, input.toParams(args[inputArg] as Record<string, unknown>), ctx)) as { _id?: unknown };
        return readBack(done._id, ctx);
      },
    );
  }
  if (actions.delete) {
    const action = actions.delete;
    fields[`${singular}Delete`] = mutation(payload, { id: { type: new GraphQLNonNull(GraphQLID) } }, action, true, async (args, ctx) => {
      await runAction(action, { _id: args.id }, ctx);
      return null;
    });
  }
  for (const { verb, action } of actions.marks) {
    fields[`${singular}Mark${pascalCase(verb)}`] = mutation(
      payload,
      { id: { type: new GraphQLNonNull(GraphQLID) } },
      action,
      true,
      async (args, ctx) => {
        await runAction(action, { _id: args.id }, ctx);
        return readBack(args.id, ctx);
      },
    );
  }
  return fields;
}

/** A mutation field: client errors of the action become `{ok: false, errors}`; a server error stays a GraphQL error. */
function mutation(
  payload: GraphQLObjectType<Payload>,
  args: Record<string, { type: GraphQLNonNull<GraphQLInputObjectType | typeof GraphQLID> }>,
  action: CompiledAction,
  hasId: boolean,
  perform: (args: Record<string, unknown>, ctx: GraphqlContext) => Promise<unknown>,
): GraphQLFieldConfig<unknown, GraphqlContext> {
  return {
    type: payload,
    args,
    ...(action.definition.summary ? { description: action.definition.summary } : {}),
    resolve: async (_root, given: Record<string, unknown>, ctx): Promise<Payload> => {
      try {
        return { ok: true, errors: [], object: await perform(given, ctx) };
      } catch (err) {
        const error = toApiError(err);
        if (error.status >= 500) throw toGraphqlError(error, ctx);
        return { ok: false, errors: mutationErrors(error, hasId), object: null };
      }
    },
  };
}
