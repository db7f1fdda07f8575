import { GraphQLError } from 'graphql';
import type { ActionContext } from '../core/app.js';
import type { CompiledAction, HandlerContext } from '../core/dispatch.js';
import { ApiError, ERROR_CODES, type ErrorBody, toApiError, type FieldError } from '../core/errors.js';
import type { RowWindow } from '../core/paging.js';
import { graphqlFieldPath } from './names.js';

/** What every resolver of one GraphQL request gets: how to make an action context, and where a 500 is reported. */
export interface GraphqlContext extends Record<PropertyKey, unknown> {
  /** A fresh action context per action run (`run` extends it in place, and resolvers run side by side). */
  actionContext(): ActionContext;
  requestId: string;
  /** Records an internal error for the request's log line (with its cause); the client sees only its code. */
  reportInternal(error: ApiError): void;
  /**
   * The request's `Idempotency-Key` (with the store), when it has one: the write action of its one mutation runs
   * under it, as `POST /<resource>/<action>` would (a validation rule keeps it to one mutation per request).
   */
  idempotency?: NonNullable<ActionContext['idempotency']>;
  /** Set when a keyed write answered from its stored answer: the response then says `Idempotent-Replayed: true`. */
  replayed?: boolean;
}

/** Runs a compiled action on a params body: the same validation, handler and shaping as `POST /<resource>/<action>`. */
export async function runAction(
  action: CompiledAction,
  body: Record<string, unknown>,
  ctx: GraphqlContext,
  window?: RowWindow,
  refsWanted?: ReadonlySet<string>,
): Promise<unknown> {
  const actionCtx = ctx.actionContext() as HandlerContext;
  if (window) actionCtx.window = window;
  if (refsWanted) actionCtx.refsWanted = refsWanted;
  // read actions ignore the key (the dispatcher keys only writes), so the read-back of a mutation runs fresh
  if (ctx.idempotency) actionCtx.idempotency = ctx.idempotency;
  const result = await action.run(body, actionCtx);
  if (!actionCtx.replayed) return result;
  ctx.replayed = true;
  // a stored refusal is replayed as the error it was, not as a result
  if ((actionCtx.status ?? 200) >= 400) throw storedRefusal(result);
  return result;
}

/** The ApiError of a replayed error body (`{error: {code, message, zh_message, fields}}`). */
function storedRefusal(body: unknown): ApiError {
  const error = (body as Partial<ErrorBody> | null)?.error;
  if (!error || !(error.code in ERROR_CODES)) return new ApiError('internal', { cause: new Error('a stored refusal without its code') });
  return new ApiError(error.code, {
    message: error.message,
    zhMessage: error.zh_message,
    ...(error.fields ? { fields: error.fields } : {}),
  });
}

/** A params field in GraphQL spelling; `rename` covers fields the GraphQL side names differently (`_sort` → `ordering`). */
export function graphqlFields(fields: readonly FieldError[] | undefined, rename: Record<string, string> = {}): FieldError[] {
  return (fields ?? []).map(({ field, messages }) => ({ field: rename[field] ?? graphqlFieldPath(field), messages }));
}

/**
 * Any error of a resolver as the GraphQL error the client sees: client errors keep their code, message and fields
 * (in GraphQL names); anything else is `internal` with no text of its own, and is reported for the log.
 */
export function toGraphqlError(err: unknown, ctx: GraphqlContext, rename: Record<string, string> = {}): GraphQLError {
  if (err instanceof GraphQLError) return err;
  const apiError = toApiError(err);
  if (apiError.status >= 500) ctx.reportInternal(apiError);
  const fields = graphqlFields(apiError.fields, rename);
  const first = fields[0];
  const message =
    apiError.code === 'invalid_params' && first ? `Invalid argument ${first.field}: ${first.messages.join('; ')}` : apiError.message;
  return new GraphQLError(message, {
    extensions: { code: apiError.code, ...(fields.length > 0 ? { fields } : {}), request_id: ctx.requestId },
  });
}

/** The `errors` of a mutation answer: `{field, messages, code}`; an error about no field in particular names `id` or `__all__`. */
export function mutationErrors(error: ApiError, hasId: boolean): Array<FieldError & { code: string }> {
  const fields = graphqlFields(error.fields);
  if (fields.length === 0)
    return [{ field: hasId && error.code === 'not_found' ? 'id' : '__all__', messages: [error.message], code: error.code }];
  return fields.map((f) => ({ ...f, code: error.code }));
}
