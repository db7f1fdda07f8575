import type { Server } from 'node:http';
import type { Express } from 'express';
import type { Config } from '../core/config.js';

/** Listens on the configured host and port; rejects with the listen error (a taken port, say). */
export async function listen(app: Express, config: Pick<Config, 'host' | 'port'>): Promise<Server> {
  return await new Promise((resolve, reject) => {
    const server = app.listen(config.port, config.host);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}

/**
 * Stops accepting and waits for the requests in flight. A keep-alive connection that goes idle after its last
 * answer would otherwise hold the close open until the keep-alive timeout, so idle ones are closed as they appear.
 */
export async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  server.closeIdleConnections();
  try {
    await closed;
  } finally {
    clearInterval(sweep);
  }
}

/** The port a listening server got (PORT=0 picks one). */
export function portOf(server: Server, fallback: number): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : fallback;
}
