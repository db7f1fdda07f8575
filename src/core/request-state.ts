import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Caller } from './auth.js';
import { anonymousCaller } from './callers.js';
import type { ApiError } from './errors.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { endRequestSpan, startRequestSpan, traceIdOf, tracingOn, type Span } from './tracing.js';

// One request as the transport tracks it from its first byte to its log line: the id, the caller, the error it
// answered, its span and its metrics label.

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

/** The state `trackRequests` gave this response's request. */
export function stateOf(res: Response): RequestState {
  return res.locals.state as RequestState;
}

/** The first middleware: a request id (the caller's when well-formed), then one log line, span and metric per request. */
export function trackRequests(logger: Logger, metrics: Metrics | undefined): RequestHandler {
  return function assignRequestId(req, res, next) {
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
  };
}

/** The `action` label of a request: `resource/action` for an action, the route for the few others, never an id. */
function metricsLabel(req: Request, state: RequestState): string {
  if (state.resource && state.action) return `${state.resource}/${state.action}`;
  if (req.path === '/healthz' || req.path === '/readyz' || req.path === '/metrics' || req.path.startsWith('/graphql')) {
    return req.path.startsWith('/graphql') ? 'graphql' : req.path.slice(1);
  }
  return 'unmatched';
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
