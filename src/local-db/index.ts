import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { embeddedPrerequisiteProblem, startEmbedded } from './embedded.js';
import { startMongod } from './mongod.js';
import { findOnPath } from './processes.js';
import { superviseLocalServer } from './supervise.js';
import type { LocalServer, ProvisionLog } from './types.js';

export type { ProvisionLog } from './types.js';

/** Which kind of server the service ended up on. */
export type DatabaseMode = 'external' | 'mongod' | 'embedded';

export interface ProvisionedDatabase {
  url: string;
  mode: DatabaseMode;
  /** A human description for the startup log, without credentials. */
  description: string;
  /** The pid of a server we started, if any (the current one, after a restart). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export interface ProvisionOptions {
  /** MONGODB_URL: when set, nothing is started. */
  mongodbUrl: string | undefined;
  /** `memory` for test runs (nothing kept), `file` for `npm start` (data survives restarts). */
  storage: 'memory' | 'file';
  projectRoot: string;
  /** The data folder, relative to projectRoot unless absolute (DATA_DIR, default .data). */
  dataDir: string;
  log: ProvisionLog;
  /**
   * Start a server we started again when it dies (same port, same data), and call this when that fails; the
   * caller should exit non-zero. Without it a dead server stays dead (test runs).
   */
  onLost?: (reason: string) => void;
}

/** Raised when no database can be had; its message says what to install or set. */
export class NoDatabaseError extends Error {
  constructor(detail: string) {
    super(
      'No MongoDB available. Set MONGODB_URL to a MongoDB >= 6 (mongodb://host:27017), ' +
        'or put mongod on PATH, or install Java 17 (java, javac) and Maven (mvn) for the embedded mongo-java-server. ' +
        `(${detail})`,
    );
    this.name = 'NoDatabaseError';
  }
}

/**
 * Finds or starts the database, in the order of DESIGN.md §8: MONGODB_URL, else a mongod on PATH, else the
 * embedded mongo-java-server. Whatever is started here stops with `stop()` and dies with this process.
 */
export async function provisionDatabase(options: ProvisionOptions): Promise<ProvisionedDatabase> {
  if (options.mongodbUrl) {
    return { url: options.mongodbUrl, mode: 'external', description: 'MONGODB_URL', pid: undefined, stop: async () => {} };
  }
  const dataDir = path.resolve(options.projectRoot, options.dataDir);

  const mongodPath = findOnPath('mongod');
  if (mongodPath) {
    const dbPath =
      options.storage === 'file'
        ? path.join(dataDir, 'mongod')
        : path.join(dataDir, 'tmp', `mongod-${process.pid}-${randomBytes(4).toString('hex')}`);
    const start = (port?: number) =>
      startMongod({ mongodPath, dbPath, removeOnStop: options.storage === 'memory', log: options.log, port });
    const server = supervised(await start(), start, options);
    return withServer(server, 'mongod', `mongod (${mongodPath}, data in ${dbPath})`);
  }

  const problem = embeddedPrerequisiteProblem();
  if (problem) throw new NoDatabaseError(`no MONGODB_URL, no mongod on PATH, and for the embedded server: ${problem}`);
  const file = path.join(dataDir, 'embedded', 'mongo.mv.db');
  const start = (port?: number) =>
    startEmbedded({
      projectRoot: options.projectRoot,
      storage: options.storage,
      file,
      cacheDir: path.join(options.projectRoot, '.cache', 'embedded-mongo'),
      port,
      log: options.log,
    });
  const server = supervised(await start(), start, options);
  const where = options.storage === 'file' ? `H2 file ${file}` : 'in memory';
  return withServer(server, 'embedded', `embedded mongo-java-server 1.47.0 (${where})`);
}

function supervised(server: LocalServer, restart: (port: number) => Promise<LocalServer>, options: ProvisionOptions): LocalServer {
  const onLost = options.onLost;
  return onLost ? superviseLocalServer(server, { restart, log: options.log, onLost }) : server;
}

/** The provisioned database of a started server; `pid` follows the server across restarts. */
function withServer(server: LocalServer, mode: DatabaseMode, description: string): ProvisionedDatabase {
  return {
    url: server.url,
    mode,
    description,
    get pid() {
      return server.pid;
    },
    stop: () => server.stop(),
  };
}
