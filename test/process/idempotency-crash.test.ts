import { MongoClient, ObjectId, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { IDEMPOTENCY_COLLECTION, IDEMPOTENCY_CRASH_POINTS } from '../../src/core/idempotency.js';
import { killSpawned } from '../helpers/processes.js';
import { uniqueDbName } from '../helpers/service.js';
import { PROCESS_KEY, startApi, walletEnv, type ApiProcess } from '../helpers/wallet-processes.js';

// Issue 16: for every step of a keyed create, batch_create (atomic and partial) and update, the API process is
// killed with SIGKILL right there; the retry with the same Idempotency-Key, on another process, must leave exactly
// one effect and answer as if nothing had happened.

const dbName = uniqueDbName('idem_crash');
const LEASE_MS = '400';
let client: MongoClient;
let db: Db;
let survivor: ApiProcess;

beforeAll(async () => {
  client = new MongoClient(inject('mongoUrl'));
  db = client.db(dbName);
  survivor = await startApi(walletEnv(dbName, { WORKER: 'off', IDEMPOTENCY_LEASE_MS: LEASE_MS }));
}, 120_000);

afterAll(async () => {
  await survivor?.stop();
  killSpawned();
  await db?.dropDatabase();
  await client?.close();
});

async function keyedCall(url: string, path: string, key: string, body: object) {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${PROCESS_KEY}`, 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    replayed: res.headers.get('idempotent-replayed'),
    retryAfter: res.headers.get('retry-after'),
    body: (await res.json()) as any,
  };
}

/** Retries as a client would: again after Retry-After while the dead attempt's lease has not lapsed. */
async function retryUntilAnswered(path: string, key: string, body: object) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const res = await keyedCall(survivor.url, path, key, body);
    if (res.status !== 409 || res.body.error?.code !== 'idempotency_in_progress') return res;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${path} still in progress`);
}

interface Case {
  action: string;
  /** The body of the keyed request (made per case, so names are unique). */
  body(tag: string): Promise<object>;
  /** Checks the database holds exactly one effect of the request, given the answer. */
  check(tag: string, answer: any): Promise<void>;
}

const groups = () => db.collection('group');

const ACTIONS: Case[] = [
  {
    action: 'group/create',
    body: async (tag) => ({ name: tag }),
    async check(tag, answer) {
      const stored = await groups().find({ name: tag }).toArray();
      expect(stored.map((doc) => doc._id.toHexString())).toEqual([answer._id]);
    },
  },
  {
    action: 'group/batch_create',
    body: async (tag) => ({ docs: [{ name: `${tag} a` }, { name: `${tag} b` }, { name: `${tag} c` }] }),
    async check(tag, answer) {
      const stored = await groups()
        .find({ name: { $regex: `^${tag} ` } })
        .sort({ name: 1 })
        .toArray();
      expect(stored.map((doc) => doc.name)).toEqual([`${tag} a`, `${tag} b`, `${tag} c`]);
      expect(answer).toEqual({ ok: true, created_count: 3, failed_count: 0, _ids: stored.map((doc) => doc._id.toHexString()), errors: [] });
    },
  },
  {
    action: 'group/batch_create',
    // partial: a doc that breaks its params is reported, the others are created once
    body: async (tag) => ({ atomic: false, docs: [{ name: `${tag} a` }, { name: '' }, { name: `${tag} c` }] }),
    async check(tag, answer) {
      const stored = await groups()
        .find({ name: { $regex: `^${tag} ` } })
        .sort({ name: 1 })
        .toArray();
      expect(stored.map((doc) => doc.name)).toEqual([`${tag} a`, `${tag} c`]);
      expect(answer.created_count).toBe(2);
      expect(answer.failed_count).toBe(1);
      expect(answer._ids).toEqual(stored.map((doc) => doc._id.toHexString()));
    },
  },
  {
    action: 'group/update',
    body: async (tag) => {
      const { insertedId } = await groups().insertOne({
        name: `${tag} before`,
        state: 100,
        created_at: new Date(),
        updated_at: new Date(),
      });
      return { _id: insertedId.toHexString(), name: `${tag} after` };
    },
    async check(tag, answer) {
      const stored = await groups()
        .find({ name: { $regex: `^${tag} ` } })
        .toArray();
      expect(stored.map((doc) => [doc._id.toHexString(), doc.name])).toEqual([[answer._id, `${tag} after`]]);
    },
  },
  {
    action: 'firm/mark_disable',
    body: async (tag) => {
      const { insertedId } = await db
        .collection('firm')
        .insertOne({ name: tag, state: 100, created_at: new Date(), updated_at: new Date() });
      return { _id: insertedId.toHexString() };
    },
    async check(tag, answer) {
      expect(answer).toEqual({ ok: true });
      expect((await db.collection('firm').find({ name: tag }).toArray()).map((doc) => doc.state)).toEqual([200]);
    },
  },
  {
    action: 'group/mark_delete',
    body: async (tag) => {
      const { insertedId } = await groups().insertOne({ name: tag, state: 100, created_at: new Date(), updated_at: new Date() });
      return { _id: insertedId.toHexString() };
    },
    async check(tag, answer) {
      expect(answer).toEqual({ ok: true });
      const stored = await groups().find({ name: tag }).toArray();
      expect(stored.map((doc) => doc.deleted_at instanceof Date)).toEqual([true]);
    },
  },
  {
    action: 'group/mark_restore',
    body: async (tag) => {
      const { insertedId } = await groups().insertOne({
        name: tag,
        state: 100,
        created_at: new Date(),
        updated_at: new Date(),
        deleted_at: new Date(),
      });
      return { _id: insertedId.toHexString() };
    },
    async check(tag, answer) {
      expect(answer).toEqual({ ok: true });
      const stored = await groups().find({ name: tag }).toArray();
      expect(stored.map((doc) => doc.deleted_at ?? null)).toEqual([null]);
    },
  },
];

const cases = ACTIONS.flatMap((c, i) =>
  IDEMPOTENCY_CRASH_POINTS.map((point) => ({ ...c, point, label: `${c.action}${i === 2 ? ' (atomic: false)' : ''}` })),
);

describe('a keyed write killed at each step, then retried', () => {
  it('covers every crash point of create, batch_create (both modes), update, a mark, mark_delete, mark_restore', () => {
    expect(cases).toHaveLength(7 * 3);
  });

  it.each(cases)(
    '$label killed at $point: exactly one effect after the retry',
    async ({ action, point, body, check }) => {
      const tag = `${point.replace('.', '-')} ${new ObjectId().toHexString()}`;
      const key = `crash-${tag.replace(' ', '-')}`;
      const params = await body(tag);
      const doomed = await startApi(walletEnv(dbName, { WORKER: 'off', CRASH_AT: point, IDEMPOTENCY_LEASE_MS: LEASE_MS }));
      await expect(keyedCall(doomed.url, `/${action}`, key, params)).rejects.toThrow();
      const { signal } = await doomed.proc.exited;
      expect(signal).toBe('SIGKILL');
      expect(doomed.proc.output()).toContain(`fault injection: SIGKILL at ${point}`);

      const retried = await retryUntilAnswered(`/${action}`, key, params);
      expect(retried.status).toBe(200);
      // the answer was stored before the kill at `stored`: the retry replays it; before that, the retry ran
      expect(retried.replayed).toBe(point === 'idempotency.stored' ? 'true' : null);
      await check(tag, retried.body);

      const again = await keyedCall(survivor.url, `/${action}`, key, params);
      expect(again).toEqual({ status: 200, replayed: 'true', retryAfter: null, body: retried.body });
      await check(tag, again.body);
      const record = await db.collection(IDEMPOTENCY_COLLECTION).findOne({ key });
      expect(record?.state).toBe('done');
      expect(record?.attempt).toBe(point === 'idempotency.stored' ? 1 : 2);
    },
    60_000,
  );
});
