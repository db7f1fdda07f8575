import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Express } from 'express';
import type { Readiness } from '../core/app.js';
import type { Config } from '../core/config.js';

/** What the HTTP server needs from the configuration. */
export type ServerConfig = Pick<Config, 'host' | 'port' | 'headersTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs'>;

/** A body that stops arriving for this long during a shutdown is cut off (the client is trickling). */
const SHUTDOWN_BODY_IDLE_MS = 1_000;

/**
 * The HTTP server with the limits on slow clients: the headers within HEADERS_TIMEOUT_MS and the whole request
 * within REQUEST_TIMEOUT_MS (else 408 and the socket closes), an idle keep-alive socket closed after
 * KEEP_ALIVE_TIMEOUT_MS. Node checks the first two every `connectionsCheckingInterval`, 30 s by default, which
 * would let a trickling client overstay a short limit by that much.
 */
export function createHttpServer(app: Express, config: Omit<ServerConfig, 'host' | 'port'>): Server {
  const server = createServer(
    {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      keepAliveTimeout: config.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, Math.ceil(config.headersTimeoutMs / 4)),
    },
    app,
  );
  const inFlight = new Set<IncomingMessage>();
  server.on('request', (req: IncomingMessage, res) => {
    inFlight.add(req);
    res.on('close', () => inFlight.delete(req));
  });
  requestsOf.set(server, inFlight);
  return server;
}

const requestsOf = new WeakMap<Server, Set<IncomingMessage>>();

/** Listens on the configured host and port; rejects with the listen error (a taken port, say). */
export async function listen(app: Express, config: ServerConfig): Promise<Server> {
  const server = createHttpServer(app, config);
  return await new Promise((resolve, reject) => {
    server.once('listening', () => resolve(server));
    server.once('error', reject);
    server.listen(config.port, config.host);
  });
}

/**
 * Stops accepting and waits for the requests in flight. A keep-alive connection that goes idle after its last
 * answer would otherwise hold the close open until the keep-alive timeout, so idle ones are closed as they appear.
 * A request whose body is still arriving keeps its socket only while bytes keep coming: one that trickles would
 * otherwise hold the shutdown up to REQUEST_TIMEOUT_MS.
 */
export async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const watched = new WeakSet<IncomingMessage>();
  const cutTricklers = () => {
    for (const req of requestsOf.get(server) ?? []) {
      if (req.complete || watched.has(req)) continue;
      watched.add(req);
      req.socket.setTimeout(SHUTDOWN_BODY_IDLE_MS, () => {
        if (!req.complete) req.socket.destroy();
      });
      // once the body is in, the request may take as long as its work takes
      req.once('end', () => req.socket.setTimeout(0));
    }
  };
  const sweep = setInterval(() => {
    server.closeIdleConnections();
    cutTricklers();
  }, 50);
  server.closeIdleConnections();
  cutTricklers();
  try {
    await closed;
  } finally {
    clearInterval(sweep);
  }
}

/**
 * The HTTP side of a graceful stop: not ready at once, so a load balancer polling `/readyz` drains this process,
 * while it keeps serving for `drainMs` (SHUTDOWN_DRAIN_MS); then closeServer.
 */
export async function stopServing(server: Server, readiness: Readiness, drainMs: number): Promise<void> {
  readiness.stopping = true;
  if (drainMs > 0) await new Promise((resolve) => setTimeout(resolve, drainMs));
  await closeServer(server);
}

/** The port a listening server got (PORT=0 picks one). */
export function portOf(server: Server, fallback: number): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : fallback;
}
