import type { Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, redactUrl, type Config } from './core/config.js';
import { connectDatabase, type Database } from './core/db.js';
import { createLogger, type Logger } from './core/logger.js';
import { provisionDatabase, type ProvisionedDatabase } from './local-db/index.js';
import { createService, type Service } from './service.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Starts the API: config, database (provisioned when MONGODB_URL is unset), HTTP server, graceful shutdown. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ level: config.logLevel, pretty: config.logPretty, name: 'api' });
  const stoppers: Array<() => Promise<void>> = [];
  const shutdown = installShutdown(logger, config, stoppers);

  let provisioned: ProvisionedDatabase;
  try {
    provisioned = await provisionDatabase({
      mongodbUrl: config.mongodbUrl,
      storage: 'file',
      projectRoot,
      dataDir: config.dataDir,
      log: (level, message) => logger[level](message),
    });
  } catch (err) {
    logger.fatal((err as Error).message);
    process.exit(1);
  }
  stoppers.unshift(() => provisioned.stop());

  let database: Database;
  try {
    database = await connectDatabase({ url: provisioned.url, dbName: config.mongodbDb });
  } catch (err) {
    logger.fatal((err as Error).message);
    await shutdown('startup-failure', 1);
    return;
  }
  stoppers.unshift(() => database.close());

  let service: Service;
  try {
    service = await createService({ database, config, logger });
  } catch (err) {
    // declaration and schema mistakes: their message names the file and field, a stack adds nothing
    logger.fatal(`cannot start: ${(err as Error).message}`);
    await shutdown('startup-failure', 1);
    return;
  }
  stoppers.unshift(() => service.stop());

  const server = await listen(service.app, config);
  stoppers.unshift(() => closeServer(server));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info(
    { url: `http://${config.host}:${port}`, database: provisioned.mode, db: config.mongodbDb, db_pid: provisioned.pid },
    `listening on http://${config.host}:${port} — database: ${provisioned.description}` +
      (provisioned.mode === 'external' ? ` ${redactUrl(provisioned.url)}` : ''),
  );
  if (config.generatedApiKey) printGeneratedKey(config, port);
}

function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
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

async function listen(app: import('express').Express, config: Config): Promise<Server> {
  return await new Promise((resolve, reject) => {
    const server = app.listen(config.port, config.host);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}

async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await closed;
}

/**
 * SIGTERM/SIGINT: stop accepting, let in-flight requests finish, then close the worker, the driver and any
 * database we started (stoppers run in order). Also stops when the parent process dies: started by `npm start`,
 * we would otherwise outlive an npm that was killed with SIGKILL.
 */
function installShutdown(logger: Logger, config: Config, stoppers: Array<() => Promise<void>>) {
  let shuttingDown = false;
  const shutdown = async (reason: string, exitCode = 0): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ reason }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeout_ms: config.shutdownTimeoutMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    for (const stop of stoppers) {
      try {
        await stop();
      } catch (err) {
        logger.error({ err }, 'error during shutdown');
      }
    }
    logger.info('stopped');
    logger.flush();
    process.exit(exitCode);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  const parentPid = process.ppid;
  if (parentPid > 1) {
    setInterval(() => {
      if (process.ppid !== parentPid) void shutdown('parent process exited');
    }, 1_000).unref();
  }
  return shutdown;
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
