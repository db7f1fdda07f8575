import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Db } from 'mongodb';
import { createAuthenticator, scopesAllow, type Authenticator, type Caller } from './auth.js';
import { createCallerResolver, type CallerLimit } from './caller-auth.js';
import { anonymousCaller, type CallerKind } from './callers.js';
import type { UserTokens } from './user-tokens.js';
import type { Config } from './config.js';
import type { Database } from './db.js';
import { ApiError, apiError, toApiError } from './errors.js';
import { jsonBodyReader } from './json-body.js';
import type { Logger } from './logger.js';
import { methodNotAllowed } from './reference.js';
import type { Metrics } from './metrics.js';
import type { IdempotencyStore } from './idempotency.js';
import { StreamedResult } from './streamed-result.js';
import { endRequestSpan, startRequestSpan, traceIdOf, tracingOn, withSpan, type Span } from './tracing.js';

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

/** What `/readyz` needs to know besides the database: kept by the service and by the shutdown. */
export interface Readiness {
  /** The declared indexes exist (the service builds them before it serves). */
  indexesBuilt: boolean;
  /** A graceful shutdown has begun: a load balancer should send no more. */
  stopping: boolean;
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
}

const NAME = /^[a-z][a-z0-9_]*$/;
/** How long `/readyz` waits for the database's answer. */
const READY_PING_MS = 2_000;
const ALWAYS_READY: Readiness = Object.freeze({ indexesBuilt: true, stopping: false });
const INCOMING_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** One request as the transport tracks it: its id, the caller, and the error its log line reports. */
export interface RequestState {
  requestId: string;
  startedAt: bigint;
  resource?: string;
  action?: string;
  caller: Caller;
  error?: ApiError;
  /** The request's trace span, when tracing is on (core/tracing.ts). */
  span?: Span;
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
  const scopesOf = new Map(config.apiKeys.map((key) => [key.name, key.scopes]));
  const parseJson = express.json({ limit: config.bodyLimitBytes, strict: false, type: () => true });
  const readJsonBody = jsonBodyReader(
    config.bodyLimitBytes,
    function parseBody(req, res, next) {
      parseJson(req, res, (err?: unknown) => next(err === undefined ? undefined : bodyError(req, err)));
    },
    bodyError,
  );
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', false);

  app.use(function assignRequestId(req, res, next) {
    const incoming = req.get('x-request-id');
    const state: RequestState = {
      requestId: incoming && INCOMING_REQUEST_ID.test(incoming) ? incoming : randomUUID(),
      startedAt: process.hrtime.bigint(),
      caller: anonymousCaller(),
    };
    res.locals.state = state;
    res.setHeader('X-Request-Id', state.requestId);
    res.on('finish', () => logRequest(logger, req, res, state));
    if (tracingOn()) {
      const span = startRequestSpan(req.method, req.get('traceparent'));
      state.span = span;
      res.on('close', () => {
        span.updateName(metricsLabel(req, state));
        endRequestSpan(span, res.statusCode, state.error?.code);
      });
    }
    if (metrics) {
      const end = metrics.startRequest();
      // 'close' also fires for a client that went away before the answer: in-flight must come down then too
      res.on('close', () => end(metricsLabel(req, state), res.statusCode));
    }
    next();
  });

  // a chain, each step able to answer: find the action, check the key, read the JSON body, run it.
  // `knownOnly`: pass what is not an action on to the routes registered after it
  const actionRoute = (knownOnly: boolean): express.RequestHandler[] => [
    async function resolveAction(req, res, next) {
      const state = stateOf(res);
      const resource = String(req.params.resource);
      const actionName = String(req.params.action);
      const action = NAME.test(resource) && NAME.test(actionName) ? actions.lookup(resource, actionName) : undefined;
      if (!action && knownOnly) return next('route');
      if (action) {
        state.resource = resource;
        state.action = actionName;
      }
      if (!action?.public) {
        const caller = await resolveCaller(req.get('authorization'), database.db);
        if (caller === null) throw new ApiError('unauthorized');
        state.caller = caller;
      }
      if (!action) throw apiError('unknown_action', { action: `${resource}/${actionName}` });
      if (state.caller.kind === 'service' && !scopesAllow(scopesOf.get(state.caller.keyName as string), resource, action.access)) {
        throw apiError('key_forbidden', {
          key: state.caller.keyName as string,
          action: `${resource}/${actionName}`,
          access: action.access,
        });
      }
      if (callerLimit && !action.public) await callerLimit(state.caller, database.db);
      res.locals.action = action;
      next();
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
  // first, so that an action's request skips the routes below (the lean hot path of issue 10)
  app.post('/:resource/:action', ...actionRoute(true));

  if (metrics) {
    app.get('/metrics', async function serveMetrics(req, res) {
      if (authenticate(req.get('authorization')) === null) return sendError(res, new ApiError('unauthorized'));
      const { contentType, body } = await metrics.render();
      res.setHeader('Content-Type', contentType);
      res.send(body);
    });
  }

  // liveness: the process answers; it does not ask the database, so a database outage restarts nothing
  app.get('/healthz', function alive(_req, res) {
    res.json({ ok: true });
  });

  // readiness: whether to send this process work (DESIGN.md §2, issue 17)
  app.get('/readyz', async function ready(_req, res) {
    if (readiness.stopping) {
      sendError(res, new ApiError('unavailable', { message: 'The service is shutting down', zhMessage: '服务正在停止' }));
    } else if (!readiness.indexesBuilt) {
      sendError(res, new ApiError('unavailable', { message: 'The indexes are being built', zhMessage: '索引正在建立' }));
    } else if (await database.ping(READY_PING_MS)) {
      res.json({ ok: true });
    } else {
      sendError(res, new ApiError('unavailable'));
    }
  });
  app.all('/healthz', methodNotAllowed('GET, HEAD'));
  app.all('/readyz', methodNotAllowed('GET, HEAD'));
  if (routes) app.use(routes);

  if (graphql) {
    app.use(
      '/graphql',
      graphql({ authenticate, stateOf, actionContext: (state) => actionContextOf(database, logger, state, services), bodyError }),
    );
  }

  // every other two-segment POST: 401 without a key, else unknown_action
  app.post('/:resource/:action', ...actionRoute(false));

  app.use(async function unknownRoute(req, res) {
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
  });

  app.use(function handleError(err: unknown, _req: Request, res: Response, _next: NextFunction) {
    sendError(res, toApiError(err));
  });

  return app;
}

/** The `action` label of a request: `resource/action` for an action, the route for the few others, never an id. */
function metricsLabel(req: Request, state: RequestState): string {
  if (state.resource && state.action) return `${state.resource}/${state.action}`;
  if (req.path === '/healthz' || req.path === '/readyz' || req.path === '/metrics' || req.path.startsWith('/graphql')) {
    return req.path.startsWith('/graphql') ? 'graphql' : req.path.slice(1);
  }
  return 'unmatched';
}

function actionContextOf(database: Database, logger: Logger, state: RequestState, services: Services): ActionContext {
  let log: Logger | undefined;
  return {
    db: database.db,
    // made on first use: most requests never log from their handler
    get log() {
      log ??= logger.child({ req_id: state.requestId });
      return log;
    },
    requestId: state.requestId,
    caller: state.caller,
    services,
  };
}

function stateOf(res: Response): RequestState {
  return res.locals.state as RequestState;
}

/** What res.json sends, without its detour through res.send (charset parsing, a Buffer copy past 1000 bytes). */
function sendJsonText(res: Response, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  // a string body goes out in one write with the head
  res.end(text);
}

function sendError(res: Response, error: ApiError, state: RequestState = stateOf(res)): void {
  state.error = error;
  if (res.headersSent) return;
  // a caller without a valid key gets its answer, not a socket to keep open
  if (error.code === 'unauthorized') res.setHeader('Connection', 'close');
  if (error.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(error.retryAfterSeconds));
  res.status(error.status).json(error.toBody(state.requestId));
}

const BODY_PARSER_ERRORS: Record<string, ApiError['code']> = {
  'entity.parse.failed': 'invalid_json',
  'entity.too.large': 'payload_too_large',
  'charset.unsupported': 'unsupported_media_type',
  'encoding.unsupported': 'unsupported_media_type',
  'request.size.invalid': 'invalid_json',
  'request.aborted': 'invalid_json',
};

/**
 * What the body reader's failure means for the client. A body that does not inflate (corrupt gzip, deflate or
 * br) comes as a 4xx with no type of its own: the client sent it, so it is a 400, not an `internal`.
 */
function bodyError(req: Request, err: unknown): ApiError {
  const known = BODY_PARSER_ERRORS[(err as { type?: string } | null)?.type ?? ''];
  if (known) return new ApiError(known, { cause: err });
  const status = (err as { status?: unknown } | null)?.status;
  const encoded = (req.get('content-encoding') ?? 'identity').trim().toLowerCase() !== 'identity';
  if (typeof status === 'number' && status >= 400 && status < 500)
    return new ApiError(encoded ? 'invalid_encoding' : 'invalid_json', { cause: err });
  return toApiError(err);
}

function logRequest(logger: Logger, req: Request, res: Response, state: RequestState): void {
  const failed = state.error !== undefined && state.error.status >= 500;
  if (!logger.isLevelEnabled(failed ? 'error' : 'info')) return;
  const durationMs = Number(process.hrtime.bigint() - state.startedAt) / 1e6;
  const line = {
    req_id: state.requestId,
    method: req.method,
    // originalUrl: a mounted router (/graphql) rewrites req.path for its own routes
    path: req.originalUrl.split('?')[0],
    resource: state.resource,
    action: state.action,
    status: res.statusCode,
    duration_ms: Math.round(durationMs * 100) / 100,
    key: state.caller.keyName ?? undefined,
    user: state.caller.kind === 'user' ? (state.caller.id ?? undefined) : undefined,
    error_code: state.error?.code,
    trace_id: traceIdOf(state.span),
  };
  if (failed) {
    logger.error({ ...line, err: state.error?.cause ?? state.error }, 'request failed');
  } else {
    logger.info(line, 'request');
  }
}
