import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, redactUrl, type Config } from './core/config.js';
import { connectDatabase, type Database } from './core/db.js';
import { createLogger, type Logger } from './core/logger.js';
import { findRunningLocalDb, publishLocalDb, unpublishLocalDb } from './local-db/discovery.js';
import { provisionDatabase } from './local-db/index.js';
import { loadPaymentsConfig, type PaymentsConfig } from './payments/config.js';

/** The project folder (dist/.. or src/..). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Reads both configurations once; a bad value prints one line naming the variable and exits with code 2. */
export function loadConfigsOrExit(): { config: Config; payments: PaymentsConfig } {
  try {
    return { config: loadConfig(), payments: loadPaymentsConfig() };
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

export interface OpenedDatabase {
  database: Database;
  /** `external`, `mongod`, `embedded`, or `shared` (started by another process of ours). */
  mode: string;
  description: string;
  pid: number | undefined;
  /** Closes the driver and stops a server we started. */
  close(): Promise<void>;
}

/**
 * The database of a process: MONGODB_URL; else the local database that a running `npm start` or worker of this
 * checkout started (so the API, `npm run worker` and the CLI share one); else a new local one (DESIGN.md §8),
 * published for the others.
 */
export async function openDatabase(config: Config, logger: Logger): Promise<OpenedDatabase> {
  const dataDir = path.resolve(PROJECT_ROOT, config.dataDir);
  if (!config.mongodbUrl) {
    const running = await findRunningLocalDb(dataDir);
    if (running) {
      const database = await connectDatabase({ url: running.url, dbName: config.mongodbDb });
      return { database, mode: 'shared', description: `${running.description}, started by pid ${running.pid}`, pid: undefined, close: () => database.close() };
    }
  }
  const provisioned = await provisionDatabase({
    mongodbUrl: config.mongodbUrl,
    storage: 'file',
    projectRoot: PROJECT_ROOT,
    dataDir: config.dataDir,
    log: (level, message) => logger[level](message),
  });
  let database: Database;
  try {
    database = await connectDatabase({ url: provisioned.url, dbName: config.mongodbDb });
  } catch (err) {
    await provisioned.stop();
    throw err;
  }
  if (provisioned.mode !== 'external') {
    publishLocalDb(dataDir, { url: provisioned.url, mode: provisioned.mode, description: provisioned.description, pid: process.pid, started_at: new Date().toISOString() });
  }
  const description = provisioned.mode === 'external' ? `MONGODB_URL ${redactUrl(provisioned.url)}` : provisioned.description;
  return {
    database,
    mode: provisioned.mode,
    description,
    pid: provisioned.pid,
    async close() {
      await database.close();
      if (provisioned.mode !== 'external') unpublishLocalDb(dataDir);
      await provisioned.stop();
    },
  };
}

/**
 * SIGTERM/SIGINT run `stoppers` in order and exit; so does the death of the parent process (a `npm start` or
 * `npm run worker` whose npm was killed with SIGKILL would otherwise live on).
 */
export function installShutdown(logger: Logger, timeoutMs: number, stoppers: Array<() => Promise<void>>) {
  let shuttingDown = false;
  // nothing in here may stop the exit: not a log line that cannot be written (a dead parent took stdout with it),
  // not a stopper that throws or hangs
  const log = (write: () => void) => {
    try {
      write();
    } catch {
      // the log is gone; shutting down matters more
    }
  };
  const shutdown = async (reason: string, exitCode = 0): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    const timer = setTimeout(() => {
      log(() => logger.error({ timeout_ms: timeoutMs }, 'shutdown took too long; exiting'));
      process.exit(exitCode === 0 ? 1 : exitCode);
    }, timeoutMs);
    timer.unref();
    log(() => logger.info({ reason }, 'shutting down'));
    for (const stop of stoppers) {
      try {
        await stop();
      } catch (err) {
        log(() => logger.error({ err }, 'error during shutdown'));
      }
    }
    log(() => logger.info('stopped'));
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

/** What every entry point starts with. */
export interface BootedProcess {
  config: Config;
  payments: PaymentsConfig;
  logger: Logger;
  opened: OpenedDatabase;
  /** Registers work to do on shutdown; the last registered runs first. */
  onStop(stop: () => Promise<void>): void;
  /** Logs why the start failed and exits with code 1 (after stopping what was started). */
  fail(message: string): Promise<never>;
}

/**
 * The start shared by `npm start`, `npm run worker`: configuration (exit 2 when bad), logger, shutdown handling,
 * the database (exit 1 with the reason when none can be had).
 */
export async function bootProcess(name: string): Promise<BootedProcess> {
  const { config, payments } = loadConfigsOrExit();
  const logger = createLogger({ level: config.logLevel, pretty: config.logPretty, name });
  const stoppers: Array<() => Promise<void>> = [];
  const shutdown = installShutdown(logger, config.shutdownTimeoutMs, stoppers);
  const fail = async (message: string): Promise<never> => {
    logger.fatal(message);
    await shutdown('startup-failure', 1);
    throw new Error('unreachable: shutdown exits');
  };
  let opened: OpenedDatabase;
  try {
    opened = await openDatabase(config, logger);
  } catch (err) {
    return await fail((err as Error).message);
  }
  stoppers.unshift(() => opened.close());
  return { config, payments, logger, opened, onStop: (stop) => stoppers.unshift(stop), fail };
}
