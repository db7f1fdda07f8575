import type { Server } from 'node:http';
import type { Express } from 'express';
import type { Config } from './core/config.js';
import { bootProcess } from './process.js';
import { createService, type Service } from './service.js';

/** `npm start`: the API (and, unless WORKER=off, the payment worker) on the configured or a local database. */
async function main(): Promise<void> {
  const { config, payments, logger, opened, onStop, fail } = await bootProcess('api');
  let service: Service;
  try {
    service = await createService({ database: opened.database, config, logger, payments, startWorker: payments.worker.enabled });
  } catch (err) {
    // declaration and schema mistakes: their message names the file and field, a stack adds nothing
    return await fail(`cannot start: ${(err as Error).message}`);
  }
  onStop(() => service.stop());

  let server: Server;
  try {
    server = await listen(service.app, config);
  } catch (err) {
    return await fail(`cannot listen on ${config.host}:${config.port}: ${(err as Error).message} (set PORT or HOST)`);
  }
  onStop(() => closeServer(server));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info(
    { url: `http://${config.host}:${port}`, database: opened.mode, db: config.mongodbDb, db_pid: opened.pid, worker: payments.worker.enabled },
    `listening on http://${config.host}:${port} — database: ${opened.description}; payment worker ${payments.worker.enabled ? 'on' : 'off'}`,
  );
  if (config.generatedApiKey) printGeneratedKey(config, port);
}

/** The generated key is a secret: it goes to the terminal once, never into the log. */
function printGeneratedKey(config: Config, port: number): void {
  const key = config.generatedApiKey;
  if (!key) return;
  process.stdout.write(
    `\nNo API_KEYS set: generated a key for this run (name "${key.name}"):\n\n` +
      `    Authorization: Bearer ${key.secret}\n\n` +
      `  curl -s -X POST http://${config.host}:${port}/account/find \\\n` +
      `    -H 'Authorization: Bearer ${key.secret}' -H 'Content-Type: application/json' -d '{}'\n\n`,
  );
}

async function listen(app: Express, config: Config): Promise<Server> {
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
async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  server.closeIdleConnections();
  try {
    await closed;
  } finally {
    clearInterval(sweep);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
