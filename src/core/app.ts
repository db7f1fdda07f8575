import express, { type NextFunction, type Request, type Response } from 'express';
import type { Db } from 'mongodb';
import { actionContextOf, actionRoute, unknownRoute } from './action-route.js';
import { createAuthenticator, type Authenticator, type Caller } from './auth.js';
import { createCallerResolver, type CallerLimit } from './caller-auth.js';
import type { CallerKind } from './callers.js';
import type { Config } from './config.js';
import type { Database } from './db.js';
import { type ApiError, toApiError } from './errors.js';
import { ALWAYS_READY, healthRoutes, type Readiness } from './health-routes.js';
import type { IdempotencyStore } from './idempotency.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { stateOf, trackRequests, type RequestState } from './request-state.js';
import { bodyError, sendError } from './responses.js';
import type { UserTokens } from './user-tokens.js';

// The express app: what a handler and another transport get from it, and createApp wiring the pieces in their
// order — request tracking, the actions, the operator routes, the reference, GraphQL, the answer for other paths,
// the one error handler.

export type { Readiness } from './health-routes.js';
export type { RequestState } from './request-state.js';

/** What a handler receives besides its params (STYLE.md: no globals, everything through ctx). */
export interface ActionContext {
  db: Db;
  log: Logger;
  requestId: string;
  caller: Caller;
  /** What the application hands every handler (such as the payment engine). */
  services: Services;
  /** A handler sets 202 when its answer describes work still under way (the body is the same shape); a replay sets the stored one. */
  status?: number;
  /** Response headers beside the answer (`Idempotent-Replayed`). */
  headers?: Record<string, string>;
  /** The answer is one stored by an earlier request with the same Idempotency-Key. */
  replayed?: boolean;
  /** The request's `Idempotency-Key` and the store that keeps its answer (write actions only use it, dispatch.ts). */
  idempotency?: { key: string; store: IdempotencyStore };
}

/**
 * The services of the application. Empty in core: a module that provides one adds it by declaration merging
 * (`declare module '.../core/app.js' { interface Services { payments: PaymentEngine } }`).
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging
export interface Services {}

/** An action as the HTTP layer sees it: whether it needs a key, and how to run it on a parsed body. */
export interface RunnableAction {
  readonly public: boolean;
  /** The kinds of caller it takes (callers.ts); `run` refuses the others with 403. */
  readonly callers: readonly CallerKind[];
  /** Checked against the scopes of the caller's key. */
  readonly access: 'read' | 'write';
  run(body: unknown, ctx: ActionContext): Promise<unknown>;
  /** Writes what `run` answered as JSON (default JSON.stringify): the same bytes, compiled for the schema. */
  serialize?(result: unknown): string;
}

/** The action table the app dispatches into (built once at startup by core/dispatch.ts). */
export interface ActionLookup {
  lookup(resource: string, action: string): RunnableAction | undefined;
}

export interface AppDependencies {
  database: Database;
  config: Pick<Config, 'apiKeys' | 'bodyLimitBytes'>;
  logger: Logger;
  actions: ActionLookup;
  /** Default: ready (indexes built, not stopping). */
  readiness?: Readiness;
  /** Mounts `/graphql` (src/graphql) beside the actions, sharing their key check, request state and context. */
  graphql?: (shared: SharedTransport) => express.RequestHandler;
  /** Handed to every handler as `ctx.services`. */
  services?: Services;
  /** More GET routes served beside the actions (the reference: /openapi.json, /docs). */
  routes?: express.Router;
  /** Counts every request by action and status, and serves `GET /metrics` to API-key callers. */
  metrics?: Metrics;
  /** End-user tokens accepted beside the API keys (user-tokens.ts); without it only API keys authenticate. */
  userTokens?: UserTokens;
  /** The per-caller rate limit (caller-auth.ts), counted on every authenticated action call. */
  callerLimit?: CallerLimit;
  /** Keeps the answers of requests with an `Idempotency-Key` header (absent: the header is ignored). */
  idempotency?: IdempotencyStore;
}

/** What another protocol on this app shares with the action route, so auth, request ids and logs are the same. */
export interface SharedTransport {
  authenticate: Authenticator;
  stateOf(res: Response): RequestState;
  actionContext(state: RequestState): ActionContext;
  /** A body reader's failure as the API error the client gets (413, 400, 415). */
  bodyError(req: Request, err: unknown): ApiError;
  /** The Idempotency-Key store, when the app has one: a keyed mutation runs under it. */
  idempotency?: IdempotencyStore;
}

/** Builds the express app: transport, auth, dispatch and the error model of DESIGN.md §2–3. */
export function createApp({
  database,
  config,
  logger,
  actions,
  graphql,
  services = {} as Services,
  routes,
  metrics,
  idempotency,
  readiness = ALWAYS_READY,
  userTokens,
  callerLimit,
}: AppDependencies): express.Express {
  const authenticate = createAuthenticator(config.apiKeys);
  const resolveCaller = createCallerResolver(authenticate, userTokens);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', false);

  app.use(trackRequests(logger, metrics));
  const route = actionRoute({
    database,
    logger,
    actions,
    services,
    apiKeys: config.apiKeys,
    bodyLimitBytes: config.bodyLimitBytes,
    resolveCaller,
    callerLimit,
    idempotency,
  });
  // first, so that an action's request skips the routes below (the lean hot path of issue 10)
  app.post('/:resource/:action', ...route(true));
  app.use(healthRoutes({ database, readiness, authenticate, metrics }));
  if (routes) app.use(routes);

  if (graphql) {
    app.use(
      '/graphql',
      graphql({
        authenticate,
        stateOf,
        actionContext: (state) => actionContextOf(database, logger, state, services),
        bodyError,
        ...(idempotency ? { idempotency } : {}),
      }),
    );
  }

  // every other two-segment POST: 401 without a key, else unknown_action
  app.post('/:resource/:action', ...route(false));
  app.use(unknownRoute(actions, database, resolveCaller));

  app.use(function handleError(err: unknown, _req: Request, res: Response, _next: NextFunction) {
    sendError(res, toApiError(err));
  });

  return app;
}
