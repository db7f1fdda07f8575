import express from 'express';
import type { Authenticator } from './auth.js';
import type { Database } from './db.js';
import { ApiError } from './errors.js';
import type { Metrics } from './metrics.js';
import { methodNotAllowed } from './reference.js';
import { sendError } from './responses.js';

// The routes an operator's tools call, not clients: liveness, readiness and the Prometheus scrape.

/** What `/readyz` needs to know besides the database: kept by the service and by the shutdown. */
export interface Readiness {
  /** The declared indexes exist (the service builds them before it serves). */
  indexesBuilt: boolean;
  /** A graceful shutdown has begun: a load balancer should send no more. */
  stopping: boolean;
}

/** Ready from the start (indexes built, not stopping): for apps whose builder says nothing. */
export const ALWAYS_READY: Readiness = Object.freeze({ indexesBuilt: true, stopping: false });

/** How long `/readyz` waits for the database's answer. */
const READY_PING_MS = 2_000;

/** `GET /metrics` (with an API key, when metrics are on), `GET /healthz`, `GET /readyz`; other methods on the last two 405. */
export function healthRoutes(options: {
  database: Database;
  readiness: Readiness;
  authenticate: Authenticator;
  metrics: Metrics | undefined;
}): express.Router {
  const { database, readiness, authenticate, metrics } = options;
  const router = express.Router();
  if (metrics) {
    router.get('/metrics', async function serveMetrics(req, res) {
      if (authenticate(req.get('authorization')) === null) return sendError(res, new ApiError('unauthorized'));
      const { contentType, body } = await metrics.render();
      res.setHeader('Content-Type', contentType);
      res.send(body);
    });
  }

  // liveness: the process answers; it does not ask the database, so a database outage restarts nothing
  router.get('/healthz', function alive(_req, res) {
    res.json({ ok: true });
  });

  // readiness: whether to send this process work (DESIGN.md §2, issue 17)
  router.get('/readyz', async function ready(_req, res) {
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
  router.all('/healthz', methodNotAllowed('GET, HEAD'));
  router.all('/readyz', methodNotAllowed('GET, HEAD'));
  return router;
}
