import express, { type NextFunction, type RequestHandler, type Response } from 'express';
import type { ActionContext, ActionLookup, RunnableAction, Services } from './app.js';
import { scopesAllow } from './auth.js';
import type { Caller } from './callers.js';
import type { CallerLimit, CallerResolver } from './caller-auth.js';
import type { ApiKey } from './config.js';
import type { Database } from './db.js';
import { ApiError, apiError } from './errors.js';
import type { IdempotencyStore } from './idempotency.js';
import { jsonBodyReader } from './json-body.js';
import type { Logger } from './logger.js';
import { stateOf, type RequestState } from './request-state.js';
import { RequestContext } from './request-context.js';
import { bodyError, sendError, sendJsonText } from './responses.js';
import { StreamedResult } from './streamed-result.js';
import { withSpan } from './tracing.js';

// `POST /<resource>/<action>` (DESIGN.md §2): a chain, each step able to answer — find the action, check the
// caller, read the JSON body, run it — and the answer for every other path.

const NAME = /^[a-z][a-z0-9_]*$/;

/** What the action route needs from the app. */
export interface ActionRouteOptions {
  database: Database;
  logger: Logger;
  actions: ActionLookup;
  services: Services;
  apiKeys: readonly ApiKey[];
  bodyLimitBytes: number;
  resolveCaller: CallerResolver;
  callerLimit: CallerLimit | undefined;
  idempotency: IdempotencyStore | undefined;
}

/**
 * The handlers of `POST /:resource/:action`, in order. `knownOnly`: pass what is not an action on to the routes
 * registered after it (the app mounts the route twice: first for actions, last for every other two-segment POST).
 */
export function actionRoute(options: ActionRouteOptions): (knownOnly: boolean) => RequestHandler[] {
  const { database, logger, actions, services, resolveCaller, callerLimit, idempotency } = options;
  const scopesOf = new Map(options.apiKeys.map((key) => [key.name, key.scopes]));
  const parseJson = express.json({ limit: options.bodyLimitBytes, strict: false, type: () => true });
  const readJsonBody = jsonBodyReader(
    options.bodyLimitBytes,
    function parseBody(req, res, next) {
      parseJson(req, res, (err?: unknown) => next(err === undefined ? undefined : bodyError(req, err)));
    },
    bodyError,
  );
  /** The action exists, the key's scopes allow it, the caller is within its limit: on to the body. */
  function admit(
    action: RunnableAction | undefined,
    resource: string,
    actionName: string,
    state: RequestState,
    res: Response,
    next: NextFunction,
  ): void | Promise<void> {
    if (!action) throw apiError('unknown_action', { action: `${resource}/${actionName}` });
    if (state.caller.kind === 'service' && !scopesAllow(scopesOf.get(state.caller.keyName as string), resource, action.access)) {
      throw apiError('key_forbidden', {
        key: state.caller.keyName as string,
        action: `${resource}/${actionName}`,
        access: action.access,
      });
    }
    res.locals.action = action;
    if (callerLimit && !action.public) return callerLimit(state.caller, database.db).then(() => next());
    next();
  }
  return (knownOnly) => [
    function resolveAction(req, res, next) {
      const state = stateOf(res);
      const resource = String(req.params.resource);
      const actionName = String(req.params.action);
      const action = NAME.test(resource) && NAME.test(actionName) ? actions.lookup(resource, actionName) : undefined;
      if (!action && knownOnly) return next('route');
      if (action) {
        state.resource = resource;
        state.action = actionName;
      }
      if (action?.public) return admit(action, resource, actionName, state, res, next);
      const caller = resolveCaller(req.get('authorization'), database.db);
      const admitAs = (found: Caller | null) => {
        if (found === null) throw new ApiError('unauthorized');
        state.caller = found;
        return admit(action, resource, actionName, state, res, next);
      };
      // an API key is known at once: no promise, no microtask; only a user token waits for its lookup
      return caller instanceof Promise ? caller.then(admitAs) : admitAs(caller);
    },
    readJsonBody,
    async function runAction(req, res) {
      const state = stateOf(res);
      const body: unknown = req.body === undefined ? {} : req.body;
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw apiError('body_not_object');
      }
      const ctx = actionContextOf(database, logger, state, services);
      const action = res.locals.action as RunnableAction;
      const key = req.get('idempotency-key');
      if (key !== undefined && idempotency) ctx.idempotency = { key, store: idempotency };
      // the handler's database commands and log lines belong to the request's span
      const result = await (state.span ? withSpan(state.span, () => action.run(body, ctx)) : action.run(body, ctx));
      if (result instanceof StreamedResult) return await result.send(res);
      if (ctx.headers) res.set(ctx.headers);
      // a replayed answer is stored JSON, maybe an error body: not what the action's serializer was compiled for
      sendJsonText(res, ctx.status ?? 200, action.serialize && !ctx.replayed ? action.serialize(result) : JSON.stringify(result));
    },
  ];
}

/** Every other request: 401 without a valid key (existence is not told), 405 on an action's path, else unknown_action. */
export function unknownRoute(actions: ActionLookup, database: Database, resolveCaller: CallerResolver): RequestHandler {
  return async function unknownRoute(req, res) {
    const state = stateOf(res);
    // an action's path with another method: 405, after the same key rule as the action itself
    const [, resource = '', actionName = ''] = /^\/([^/]+)\/([^/]+)$/.exec(req.path) ?? [];
    const action = NAME.test(resource) && NAME.test(actionName) ? actions.lookup(resource, actionName) : undefined;
    if (!action?.public && (await resolveCaller(req.get('authorization'), database.db)) === null) {
      sendError(res, new ApiError('unauthorized'));
      return;
    }
    if (action) {
      res.setHeader('Allow', 'POST');
      sendError(res, apiError('method_not_allowed', { method: req.method, path: req.path, allow: 'POST' }), state);
      return;
    }
    sendError(res, apiError('unknown_action', { action: `${req.method} ${req.path}` }), state);
  };
}

/** The context of one action call: the database, a request-scoped logger made on first use, the caller, the services. */
export function actionContextOf(database: Database, logger: Logger, state: RequestState, services: Services): ActionContext {
  return new RequestContext(database.db, logger, state.requestId, state.caller, services);
}
