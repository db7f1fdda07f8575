import {
  type Collection,
  type Db,
  type Document,
  type Filter,
  type Sort,
  Long,
  MongoError,
  MongoNetworkError,
  MongoNetworkTimeoutError,
} from 'mongodb';
import { collectionOf, databaseOf } from './db.js';

// The reads of the hot path (a record by id, a ref's records by their ids, a page of a find, its count) as the
// database command itself, sent with `db.command`: the same `find` / `aggregate` the driver's cursor sends, without
// the cursor around it (a FindCursor, its options resolved, its event emitter, toArray's iteration), which costs
// about a third of the driver's CPU per read (issue 10 item 3; bench/README.md, "the reads as commands").
//
// Each read here is bounded: it asks for at most `limit` documents and a batch of the same size, so the first reply
// holds them all and the server has closed the cursor. Should it not have (documents so large that they pass a
// reply's 16 MiB), the cursor is killed and the read goes through the driver's cursor instead, which fetches the rest.
// A read the driver would retry (a connection lost, a primary stepping down) is sent once more, as the driver does.

/** One bounded find: at most `limit` documents. */
export interface BoundedFind {
  filter: Document;
  projection?: Document | undefined;
  /** Field → 1 | -1, in order. */
  sort?: Sort | undefined;
  skip?: number | undefined;
  limit: number;
}

/** The documents of one bounded find, sent as one `find` command. */
export async function findBounded<T extends Document = Document>(db: Db, collection: string, read: BoundedFind): Promise<T[]> {
  const sort = plainSort(read.sort);
  if (!Number.isInteger(read.limit) || read.limit < 1 || sort === null) return await viaCursor(collectionOf<T>(db, collection), read);
  const command: Document = { find: collection, filter: read.filter };
  if (sort !== undefined) command.sort = sort;
  if (read.projection) command.projection = read.projection;
  if (read.skip) command.skip = read.skip;
  command.limit = read.limit;
  command.batchSize = read.limit;
  const reply = await commandRetried(db, command);
  const cursor = reply.cursor as { id: Long | number; firstBatch: T[] } | undefined;
  if (!cursor || !Array.isArray(cursor.firstBatch)) throw new MongoError('find answered without a cursor');
  if (!isClosed(cursor.id)) {
    const id = typeof cursor.id === 'number' ? Long.fromNumber(cursor.id) : cursor.id;
    await db.command({ killCursors: collection, cursors: [id] }).catch(() => undefined);
    return await viaCursor(collectionOf<T>(db, collection), read);
  }
  return cursor.firstBatch;
}

/** findBounded on a collection of collectionOf (its handle known); another one reads through the driver's cursor. */
export async function readRows<T extends Document = Document>(collection: Collection<T>, read: BoundedFind): Promise<T[]> {
  const db = databaseOf(collection as unknown as Collection<Document>);
  if (db) return await findBounded<T>(db, collection.collectionName, read);
  return await viaCursor(collection, read);
}

/** countBounded on a collection of collectionOf; another one counts with countDocuments. */
export async function countRows<T extends Document>(collection: Collection<T>, filter: Filter<T>, limit?: number): Promise<number> {
  const db = databaseOf(collection as unknown as Collection<Document>);
  if (db) return await countBounded(db, collection.collectionName, filter as Document, limit);
  return await collection.countDocuments(filter, limit === undefined ? {} : { limit });
}

/** `countDocuments(filter, {limit})` as its one `aggregate` command (the pipeline the driver builds for it). */
export async function countBounded(db: Db, collection: string, filter: Document, limit?: number): Promise<number> {
  const pipeline: Document[] = [{ $match: filter }];
  if (limit !== undefined) pipeline.push({ $limit: limit });
  pipeline.push({ $group: { _id: 1, n: { $sum: 1 } } });
  const reply = await commandRetried(db, { aggregate: collection, pipeline, cursor: {} });
  const first = (reply.cursor as { firstBatch?: Array<{ n?: unknown }> } | undefined)?.firstBatch?.[0];
  const n = first?.n;
  return typeof n === 'number' ? n : n instanceof Long ? n.toNumber() : 0;
}

async function commandRetried(db: Db, command: Document): Promise<Document> {
  try {
    return await db.command(command);
  } catch (err) {
    if (!isRetryableRead(err)) throw err;
    return await db.command(command);
  }
}

/**
 * The errors the driver retries a read on (its isRetryableReadError, for the errors a command can end with), less a
 * timeout: a server that did not answer within the bound is not asked again, so that the caller hears `unavailable`
 * within the bound (DB_TIMEOUT_MS) and not twice it.
 */
export function isRetryableRead(err: unknown): boolean {
  if (err instanceof MongoNetworkTimeoutError) return false;
  if (err instanceof MongoNetworkError) return true;
  if (!(err instanceof MongoError)) return false;
  if (typeof err.code === 'number' && RETRYABLE_READ_CODES.has(err.code)) return true;
  return /not master|node is recovering/i.test(err.message);
}

// HostUnreachable, HostNotFound, NetworkTimeout, ShutdownInProgress, PrimarySteppedDown, ExceededTimeLimit,
// SocketException, NotWritablePrimary, InterruptedAtShutdown, InterruptedDueToReplStateChange,
// NotPrimaryNoSecondaryOk, NotPrimaryOrSecondary, ReadConcernMajorityNotAvailableYet (the driver's list)
const RETRYABLE_READ_CODES = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436, 134]);

function isClosed(id: Long | number | undefined): boolean {
  if (id === undefined || id === null) return true;
  return typeof id === 'number' ? id === 0 : id.isZero();
}

/** A sort as the command's document, undefined for none, null for a form only the driver's cursor reads. */
function plainSort(sort: Sort | undefined): Document | undefined | null {
  if (sort === undefined) return undefined;
  if (typeof sort !== 'object' || sort === null || Array.isArray(sort) || sort instanceof Map) return null;
  for (const direction of Object.values(sort)) if (direction !== 1 && direction !== -1) return null;
  return sort as Document;
}

/** The same read through the driver's cursor. */
async function viaCursor<T extends Document>(collection: Collection<T>, read: BoundedFind): Promise<T[]> {
  const cursor = collection.find(read.filter as Filter<T>, read.projection ? { projection: read.projection } : {});
  if (read.sort !== undefined) cursor.sort(read.sort);
  if (read.skip) cursor.skip(read.skip);
  if (read.limit > 0) cursor.limit(read.limit);
  return (await cursor.toArray()) as unknown as T[];
}
