import { redactUrl, type Config } from '../core/config.js';
import { connectDatabase, type Database } from '../core/db.js';
import type { Logger } from '../core/logger.js';
import { findRunningLocalDb, publishLocalDb, unpublishLocalDb, watchLocalDbOwner } from '../local-db/discovery.js';
import { provisionDatabase } from '../local-db/index.js';
import { PROJECT_ROOT, dataDirOf } from './configs.js';

export interface OpenedDatabase {
  database: Database;
  /** `external`, `mongod`, `embedded`, or `shared` (started by another process of ours). */
  mode: string;
  description: string;
  /** The pid of the database server we started (the current one, after a restart). */
  readonly pid: number | undefined;
  /** Closes the driver and stops a server we started. */
  close(): Promise<void>;
}

/**
 * The database of a process: MONGODB_URL; else the local database that a running `npm start` or worker of this
 * checkout started (so the API, `npm run worker` and the CLI share one); else a new local one (DESIGN.md §8),
 * published for the others.
 *
 * With `onLost`, a local database is looked after: one we started is started again when it dies (same port, same
 * data: the driver and the borrowers reconnect by themselves), and `onLost` is called when that fails or when the
 * process we borrowed one from has stopped (its database went with it). The caller exits non-zero; a supervisor or
 * the developer starts it again, and it finds or starts a database anew. With MONGODB_URL nothing of this applies:
 * the driver reconnects when that server is back, and calls answer 503 meanwhile.
 */
export async function openDatabase(config: Config, logger: Logger, onLost?: (reason: string) => void): Promise<OpenedDatabase> {
  const dataDir = dataDirOf(config);
  if (!config.mongodbUrl) {
    const running = await findRunningLocalDb(dataDir);
    if (running) {
      const database = await connectDatabase({ url: running.url, dbName: config.mongodbDb, operationTimeoutMs: config.dbTimeoutMs });
      const unwatch = onLost ? watchLocalDbOwner(dataDir, running, onLost) : () => undefined;
      return {
        database,
        mode: 'shared',
        description: `${running.description}, started by pid ${running.pid}`,
        pid: undefined,
        async close() {
          unwatch();
          await database.close();
        },
      };
    }
  }
  const provisioned = await provisionDatabase({
    mongodbUrl: config.mongodbUrl,
    storage: 'file',
    projectRoot: PROJECT_ROOT,
    dataDir: config.dataDir,
    log: (level, message) => logger[level](message),
    ...(onLost ? { onLost } : {}),
  });
  let database: Database;
  try {
    database = await connectDatabase({ url: provisioned.url, dbName: config.mongodbDb, operationTimeoutMs: config.dbTimeoutMs });
  } catch (err) {
    await provisioned.stop();
    throw err;
  }
  if (provisioned.mode !== 'external') {
    publishLocalDb(dataDir, {
      url: provisioned.url,
      mode: provisioned.mode,
      description: provisioned.description,
      pid: process.pid,
      started_at: new Date().toISOString(),
    });
  }
  const description = provisioned.mode === 'external' ? `MONGODB_URL ${redactUrl(provisioned.url)}` : provisioned.description;
  return {
    database,
    mode: provisioned.mode,
    description,
    get pid() {
      return provisioned.pid;
    },
    async close() {
      await database.close();
      if (provisioned.mode !== 'external') unpublishLocalDb(dataDir);
      await provisioned.stop();
    },
  };
}
