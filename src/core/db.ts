import { MongoClient, type Collection, type Db, type Document, type MongoClientOptions } from 'mongodb';
import { redactUrl } from './config.js';

/** An open connection to the database the service works on. */
export interface Database {
  client: MongoClient;
  db: Db;
  /** Resolves true when the server answered a ping within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  url: string;
  dbName: string;
  appName?: string;
  /** How long an operation waits for a reachable server before failing with `unavailable`. */
  serverSelectionTimeoutMS?: number;
  /**
   * The bound on each wait of an operation — for a server to select, a pooled connection, a new connection, the
   * server's next bytes — after which it fails and the caller gets `unavailable`; 0 for none. Default 5000 (the service passes DB_TIMEOUT_MS).
   */
  operationTimeoutMs?: number;
  driverOptions?: MongoClientOptions;
}

/** Connects with the official driver and checks the server answers; the error names the URL without its password. */
export async function connectDatabase(options: ConnectOptions): Promise<Database> {
  const bound = options.operationTimeoutMs ?? 5_000;
  const client = new MongoClient(options.url, {
    appName: options.appName ?? 'rpc-action-api',
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? (bound > 0 ? Math.min(bound, 5_000) : 5_000),
    // Without these a server that accepts connections but does not answer (stopped, overloaded, a hung disk)
    // holds every caller for as long as it is gone: the driver's own monitor needs connectTimeoutMS (30 s) plus a
    // heartbeat to notice. Driver 7 dropped the single `timeoutMS`, so each wait is bounded on its own; a socket
    // that timed out is closed, and the next operation opens a fresh one. The wait for a pooled connection is
    // bounded too: while the server is frozen, new connections hang in their handshake and callers queue behind
    // them (seen: without it, calls during a SIGSTOP waited for SIGCONT).
    ...(bound > 0 ? { socketTimeoutMS: bound, connectTimeoutMS: bound, waitQueueTimeoutMS: bound } : {}),
    // the metrics count database commands by name from these events (a small cost per command)
    monitorCommands: true,
    ...options.driverOptions,
  });
  try {
    await client.connect();
    await client.db(options.dbName).command({ ping: 1 });
  } catch (err) {
    await client.close().catch(() => undefined);
    throw new Error(`cannot reach MongoDB at ${redactUrl(options.url)}: ${(err as Error).message}`, { cause: err });
  }
  const db = client.db(options.dbName);
  return {
    client,
    db,
    async ping(timeoutMs = 2_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      const answer = db.command({ ping: 1 }).then(
        () => true,
        () => false,
      );
      try {
        return await Promise.race([answer, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => client.close(),
  };
}

const collections = new WeakMap<Db, Map<string, Collection>>();
/** The database handle each collection of collectionOf belongs to (find-command.ts sends commands through it). */
const databases = new WeakMap<Collection, Db>();

/**
 * The driver's Collection for `name`, made once per database handle: `db.collection()` builds a new object with
 * its options on every call, which shows up on a hot path that runs a few queries per request.
 */
export function collectionOf<T extends Document = Document>(db: Db, name: string): Collection<T> {
  let byName = collections.get(db);
  if (!byName) {
    byName = new Map();
    collections.set(db, byName);
  }
  let collection = byName.get(name);
  if (!collection) {
    collection = db.collection(name);
    byName.set(name, collection);
    databases.set(collection, db);
  }
  return collection as unknown as Collection<T>;
}

/** The handle `collection` was made from by collectionOf, or undefined for one made otherwise. */
export function databaseOf(collection: Collection<Document>): Db | undefined {
  return databases.get(collection);
}
