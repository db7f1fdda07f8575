import type { Db, Document, IndexDescription } from 'mongodb';
import type { ActionContext, ActionLookup, RunnableAction } from './app.js';
import type { CountPolicy } from './count-policy.js';
import { allowedCallers, callerForbidden, checkCallers } from './caller-rules.js';
import type { CallerDeclaration } from './callers.js';
import type { ErrorCode } from './errors.js';
import { runAsCaller } from './ownership.js';
import type { FindQueries } from './find-indexes.js';
import { validateItemwise } from './batch-partial.js';
import { Model } from './model.js';
import type { RowWindow } from './paging.js';
import {
  compileParams,
  type Params,
  type ParamRule,
  type ParamsDeclaration,
  type ParamsValidator,
  type UnknownParamHints,
} from './params.js';
import { DeclarationError, DeclarationProblems, type DeclarationProblem } from './declaration-error.js';
import { checkDeclarations } from './declarations.js';
import { RESULT_METAS, ShapeError, type ResultMeta, type ResultSchema, type SchemaRegistry } from './result-schemas.js';
import { compileSerializer, type ResultSerializer } from './result-serializer.js';
import { StreamedResult } from './streamed-result.js';
import { runKeyed } from './idempotency.js';
import { freshWritePlan, isKeyed, type WritePlan } from './idempotency-key.js';

/** What a handler gets: the converted params and the request context, plus the projection of its result schema. */
export interface HandlerContext extends ActionContext {
  /** The fields the action's result schema reads (undefined: all); standard reads use it as their projection. */
  resultProjection: Document | undefined;
  /** The action's compiled result schema (an export writes its columns from it). */
  resultSchema: ResultSchema;
  /** Set by a transport that pages by offset (GraphQL): `find` reads these rows instead of `_meta`'s page. */
  window?: RowWindow;
  /**
   * Set by a transport that asks for some fields only (GraphQL's selection): the result's own fields whose refs are
   * loaded; a ref field outside it answers null without a query. Undefined: every field (the RPC answer).
   */
  refsWanted?: ReadonlySet<string>;
  /** The clock and the ids of the records this request creates (fixed by its Idempotency-Key, when it has one). */
  write: WritePlan;
}

/** What an action does to the data, for API key scopes. */
export type ActionAccess = 'read' | 'write';

export type ActionHandler<P extends Params = Params> = (params: P, ctx: HandlerContext) => Promise<unknown>;

/** One action of a resource, as its module declares it. */
export interface ActionDefinition<P extends Params = Params> {
  summary?: string;
  /** The short Chinese name of the SEP-12 title (`/wallet/transfer 钱包转账`); standard action names have defaults. */
  titleZh?: string;
  /** Error codes this action itself can answer (`not_found`, `conflict`, …); standard action names have defaults. */
  errors?: ErrorCode[];
  /** Checks of the params beyond what their declaration states (answered 400 `invalid_params`), for the docs. */
  paramChecks?: string[];
  params: ParamsDeclaration;
  rules?: ParamRule[];
  /** How unknown params are explained (the filters a find has, why update refuses a field). */
  unknownParams?: UnknownParamHints;
  /** `read` actions change nothing; API keys may be limited to them (default `write`). */
  access?: ActionAccess;
  /** The YAML result schema that shapes the answer. */
  result: string;
  /** The envelope, when it is not the schema's `meta` (like the seed's `@api_result_set_with_meta`). */
  envelope?: ResultMeta;
  /** Callable without an API key (the same as `callers: ['public']`). */
  public?: boolean;
  /** A find's count policy (count-policy.ts), for the docs and the OpenAPI of its `_meta`; absent: exact. */
  count?: CountPolicy;
  /** Who may call it (callers.ts): `public` (anyone, no credentials), `user` (a user token), `service` (an API key). Default `service`. */
  callers?: CallerDeclaration[];
  /** `false`: a write action that ignores `Idempotency-Key` (default: every write action honours it). */
  idempotent?: false;
  /** What a 202 answer means, for an action that gives one while its work is still under way (same body shape). */
  accepted?: string;
  /** The queries a find sends, checked against the declared indexes (find-indexes.ts); std.find derives them. */
  queries?: FindQueries;
  /** A batch with `atomic: false`: docs that fail their params are set aside for the answer (batch-partial.ts). */
  itemwise?: boolean;
  handler: ActionHandler<P>;
}

/** A resource module: its model (collection, soft delete, references), indexes and actions. */
export interface ResourceDefinition {
  name: string;
  summary?: string;
  /** The short Chinese name of the resource in SEP-12 titles (default: the Chinese words `summary` starts with). */
  titleZh?: string;
  /** Fields every stored record carries (M, defaulted, timestamps, derived): the docs mark the others nullable. */
  presentFields?: readonly string[];
  model: Model;
  indexes: IndexDescription[];
  actions: Record<string, ActionDefinition>;
  /** The stored fields (SEP-12), when declared: result schemas of this model are checked against them. */
  fields?: ParamsDeclaration;
  /** Fields `derive` adds before shaping. */
  derived?: readonly string[];
  /** Mistakes found while the module was built; the start reports them with all others. */
  problems?: readonly DeclarationProblem[];
}

/** A validated, compiled action in the table. */
export interface CompiledAction extends RunnableAction {
  readonly resource: string;
  readonly name: string;
  readonly definition: ActionDefinition;
  readonly validator: ParamsValidator;
  readonly schema: ResultSchema;
  readonly envelope: ResultMeta;
  /** Writes what `run` answered as JSON: the bytes of JSON.stringify, compiled from the result schema. */
  readonly serialize: ResultSerializer;
}

export { DeclarationError } from './declaration-error.js';

const NAME = /^[a-z][a-z0-9_]*$/;

/** The action table: every action of every resource, compiled once. */
export class ActionTable implements ActionLookup {
  private readonly byKey = new Map<string, CompiledAction>();

  constructor(
    readonly resources: readonly ResourceDefinition[],
    readonly schemas: SchemaRegistry,
    problems = new DeclarationProblems(),
    /** Schemas that are defined but broken (already reported): an action naming one is not compiled. */
    brokenSchemas: ReadonlySet<string> = new Set(),
  ) {
    for (const resource of resources) {
      for (const [name, definition] of Object.entries(resource.actions)) {
        if (brokenSchemas.has(definition.result)) continue;
        try {
          this.byKey.set(`${resource.name}/${name}`, compileAction(resource, name, definition, schemas));
        } catch (err) {
          problems.addError(err, '', 'bad_action');
        }
      }
    }
    problems.throwIfAny();
  }

  lookup(resource: string, action: string): CompiledAction | undefined {
    return this.byKey.get(`${resource}/${action}`);
  }

  list(): CompiledAction[] {
    return [...this.byKey.values()];
  }
}

/**
 * Checks and compiles the resources and the result schemas in `schemaDir`. Any malformed or duplicate
 * declaration throws, naming the resource/action (or `file: schema.field`).
 */
export function buildActionTable(resources: readonly ResourceDefinition[], schemaDir: string): ActionTable {
  const problems = new DeclarationProblems();
  const models = new Map<string, Model>();
  const collections = new Map<string, string>();
  const bad = (resource: ResourceDefinition, message: string) =>
    problems.add({ code: 'bad_resource', where: `resource ${resource.name}`, message });
  for (const resource of resources) {
    if (!NAME.test(resource.name)) bad(resource, 'names are lower_snake_case');
    else if (models.has(resource.name)) bad(resource, 'is declared twice');
    else if (!(resource.model instanceof Model)) bad(resource, 'has no model');
    else if ([...collections.values()].includes(resource.model.collectionName))
      bad(resource, `collection "${resource.model.collectionName}" is used twice`);
    else {
      models.set(resource.name, resource.model);
      collections.set(resource.name, resource.model.collectionName);
    }
  }
  for (const model of models.values()) {
    try {
      model.link(models);
    } catch (err) {
      problems.addError(err, '', 'bad_resource');
    }
  }
  const checked = checkDeclarations(resources, schemaDir);
  for (const problem of checked.problems) problems.add(problem);
  const broken = new Set([...checked.defined].filter((name) => !checked.schemas.get(name)));
  return new ActionTable(resources, checked.schemas, problems, broken);
}

function compileAction(resource: ResourceDefinition, name: string, definition: ActionDefinition, schemas: SchemaRegistry): CompiledAction {
  const where = `${resource.name}/${name}`;
  if (!NAME.test(name)) throw new DeclarationError(where, 'action names are lower_snake_case');
  if (typeof definition.handler !== 'function') throw new DeclarationError(where, 'has no handler');
  if (!definition.params || typeof definition.params !== 'object') throw new DeclarationError(where, 'has no params declaration');
  const callerMistake = checkCallers(definition);
  if (callerMistake) throw new DeclarationError(where, callerMistake);
  if (definition.access !== undefined && definition.access !== 'read' && definition.access !== 'write') {
    throw new DeclarationError(where, '`access` must be read or write');
  }
  if (definition.idempotent !== undefined && definition.idempotent !== false) {
    throw new DeclarationError(where, '`idempotent` can only be false (write actions honour Idempotency-Key by default)');
  }
  const schema = schemas.get(definition.result);
  if (!schema) throw new DeclarationError(where, `result schema "${definition.result}" does not exist`);
  if (definition.envelope !== undefined && !RESULT_METAS.includes(definition.envelope)) {
    throw new DeclarationError(where, `unknown envelope "${definition.envelope}"`);
  }
  let validator: ParamsValidator;
  try {
    validator = compileParams(definition.params, definition.rules, definition.unknownParams);
  } catch (err) {
    throw new DeclarationError(where, (err as Error).message);
  }
  const envelope = definition.envelope ?? schema.meta;
  const handler = definition.handler;
  const itemwise = definition.itemwise === true;
  const resultProjection = schema.projection;
  const serialize = compileSerializer(schema, envelope, (other) => schemas.get(other));
  const callers = allowedCallers(definition);
  const keyed = isKeyed({ access: definition.access ?? 'write', public: callers.includes('anonymous'), definition });
  const runChecked = async (body: unknown, ctx: ActionContext): Promise<unknown> => {
    const params = itemwise ? validateItemwise(validator, body) : validator.validate(body);
    // ctx is this request's own object: extended in place (a spread would also evaluate its lazy `log`)
    const handlerCtx = ctx as HandlerContext;
    handlerCtx.resultProjection = resultProjection;
    handlerCtx.resultSchema = schema;
    const execute = async (plan: WritePlan) => {
      handlerCtx.write = plan;
      const result = await handler(params, handlerCtx);
      if (result instanceof StreamedResult) return result;
      return await shapeResult(schema, envelope, result, ctx.db, handlerCtx.refsWanted);
    };
    if (keyed && ctx.idempotency) return await runKeyed(where, params, ctx, ctx.idempotency, execute);
    return await execute(freshWritePlan());
  };
  return {
    resource: resource.name,
    name,
    definition,
    validator,
    schema,
    envelope,
    serialize,
    public: callers.includes('anonymous'),
    callers,
    access: definition.access ?? 'write',
    async run(body, ctx) {
      // the wrong kind of caller learns nothing about the params: refused before they are read
      if (!callers.includes(ctx.caller.kind)) throw callerForbidden(where, ctx.caller.kind, callers);
      return await runAsCaller(ctx.caller, () => runChecked(body, ctx));
    },
  };
}

/** Wraps shaped records in the envelope of seed 004. */
export async function shapeResult(
  schema: ResultSchema,
  envelope: ResultMeta,
  result: unknown,
  db: Db,
  refsWanted?: ReadonlySet<string>,
): Promise<unknown> {
  const where = `${schema.file}: ${schema.name}`;
  switch (envelope) {
    case 'object_result': {
      const [shaped] = await schema.shapeMany([result], db, refsWanted);
      return shaped;
    }
    case 'ok_result': {
      const [shaped] = await schema.shapeMany([result ?? {}], db, refsWanted);
      return { ok: true, ...(shaped as object) };
    }
    case 'result_set':
    case 'result_set_with_meta': {
      const set = result as { _meta?: unknown; data?: unknown };
      if (!set || !Array.isArray(set.data)) throw new ShapeError(where, `${envelope} needs {data: [...]}`);
      const data = await schema.shapeMany(set.data, db, refsWanted);
      if (envelope === 'result_set') return { data };
      if (!set._meta || typeof set._meta !== 'object') throw new ShapeError(where, 'result_set_with_meta needs _meta');
      return { _meta: set._meta, data };
    }
  }
}
