import fc from 'fast-check';
import {
  type Db,
  type Document,
  MongoClient,
  MongoError,
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoServerError,
  ObjectId,
} from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { collectionOf } from '../../src/core/db.js';
import { countBounded, countRows, findBounded, isRetryableRead, readRows } from '../../src/core/find-command.js';
import { uniqueDbName } from '../helpers/service.js';

// The hot path's reads sent as commands (src/core/find-command.ts) answer what the driver's cursor answers.

let client: MongoClient;
let db: Db;
const ROWS = 60;

beforeAll(async () => {
  client = new MongoClient(inject('mongoUrl'));
  await client.connect();
  db = client.db(uniqueDbName('findcmd'));
  const rows = Array.from({ length: ROWS }, (_, i) => ({
    _id: new ObjectId(),
    n: i,
    group: i % 4,
    name: i % 3 === 0 ? `名字 ${i}` : `name ${i}`,
    ...(i % 5 === 0 ? { deleted_at: new Date(0) } : { deleted_at: null }),
  }));
  await db.collection('row').insertMany(rows);
});
afterAll(async () => {
  await db.dropDatabase().catch(() => undefined);
  await client.close();
});

const viaCursor = (read: { filter: Document; projection?: Document; sort?: Document; skip?: number; limit: number }) => {
  const cursor = db.collection('row').find(read.filter, read.projection ? { projection: read.projection } : {});
  if (read.sort) cursor.sort(read.sort);
  return cursor
    .skip(read.skip ?? 0)
    .limit(read.limit)
    .toArray();
};

describe('findBounded', () => {
  it('answers the rows of the driver cursor for random filters, sorts, skips and limits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          group: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
          live: fc.boolean(),
          sortField: fc.constantFrom('n', 'group', 'name', '_id'),
          direction: fc.constantFrom(1 as const, -1 as const),
          skip: fc.integer({ min: 0, max: 70 }),
          limit: fc.integer({ min: 1, max: 101 }),
          project: fc.boolean(),
        }),
        async ({ group, live, sortField, direction, skip, limit, project }) => {
          const filter: Document = {};
          if (group !== undefined) filter.group = group;
          if (live) filter.deleted_at = null;
          const read = {
            filter,
            sort: sortField === '_id' ? { _id: direction } : { [sortField]: direction, _id: direction },
            skip,
            limit,
            ...(project ? { projection: { _id: 1, name: 1 } } : {}),
          };
          expect(await findBounded(db, 'row', read)).toEqual(await viaCursor(read));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reads a sort given as a list of pairs through the driver cursor', async () => {
    const rows = await findBounded(db, 'row', { filter: {}, sort: [['n', -1]], limit: 3 });
    expect(rows.map((r) => r.n)).toEqual([ROWS - 1, ROWS - 2, ROWS - 3]);
  });

  // MongoDB caps a reply at 16 MiB and leaves the cursor open (findBounded kills it and reads through the driver's
  // cursor); the embedded mongo-java-server sends all four in one reply: the same rows either way
  it('returns every row when they do not fit in one reply (documents over 16 MiB together)', async () => {
    const big = db.collection('big');
    const text = 'x'.repeat(6 * 1024 * 1024);
    await big.insertMany([0, 1, 2, 3].map((i) => ({ i, text })));
    const rows = await findBounded(db, 'big', { filter: {}, sort: { i: 1 }, limit: 4 });
    expect(rows.map((r) => r.i)).toEqual([0, 1, 2, 3]);
    expect(rows.every((r) => r.text.length === text.length)).toBe(true);
  });

  it('answers no rows for an id that is not there', async () => {
    expect(await findBounded(db, 'row', { filter: { _id: new ObjectId() }, limit: 1 })).toEqual([]);
  });
});

describe('countBounded', () => {
  it.each([
    ['every row', {}, undefined],
    ['the live rows', { deleted_at: null }, undefined],
    ['one group, capped at 5', { group: 1 }, 5],
    ['nothing', { group: 99 }, undefined],
  ])('counts %s as countDocuments does', async (_label, filter: Document, limit: number | undefined) => {
    const expected = await db.collection('row').countDocuments(filter, limit === undefined ? {} : { limit });
    expect(await countBounded(db, 'row', filter, limit)).toBe(expected);
  });
});

describe('readRows and countRows', () => {
  it('read a collection of collectionOf with the command, the same rows as its cursor', async () => {
    const read = { filter: { group: 2 }, sort: { n: -1 as const }, limit: 7 };
    expect(await readRows(collectionOf(db, 'row'), read)).toEqual(await viaCursor(read));
    expect(await countRows(collectionOf(db, 'row'), { group: 2 })).toBe(ROWS / 4);
  });

  it('read a collection made elsewhere through the driver, with the same rows', async () => {
    const read = { filter: { group: 3 }, sort: { n: 1 as const }, skip: 2, limit: 4 };
    expect(await readRows(db.collection('row'), read)).toEqual(await viaCursor(read));
    expect(await countRows(db.collection('row'), { group: 3 }, 10)).toBe(10);
  });
});

describe('isRetryableRead', () => {
  it.each([
    ['a lost connection', new MongoNetworkError('connection reset'), true],
    ['a timeout (the bound is not waited twice)', new MongoNetworkTimeoutError('timed out'), false],
    ['a primary stepping down', new MongoServerError({ code: 189, errmsg: 'stepped down' }), true],
    ['not master', new MongoServerError({ code: 2, errmsg: 'not master and secondaryOk=false' }), true],
    ['a bad query', new MongoServerError({ code: 2, errmsg: 'unknown operator: $nope' }), false],
    ['a driver error without a code', new MongoError('something else'), false],
    ['an error that is not the driver’s', new Error('boom'), false],
  ])('%s is retried: %s', (_label, err, retried) => {
    expect(isRetryableRead(err)).toBe(retried);
  });
});
