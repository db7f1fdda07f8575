import { type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PUBLISH_CRASH_POINTS } from '../../src/publishing/job.js';
import { CONTENT_COLLECTION, LEDGER_COLLECTION } from '../../src/publishing/publisher.js';
import { SECOND_STAGE } from '../../src/resources/protocol/names.js';
import { passportParams } from '../helpers/passport-fixtures.js';
import { killSpawned, spawnProcess } from '../helpers/processes.js';
import { uniqueDbName } from '../helpers/service.js';
import { type ApiProcess, startApi, startWorker, walletEnv } from '../helpers/wallet-processes.js';

// The worker is killed with SIGKILL between two steps of publishing (CRASH_AT, src/core/faults.ts); a fresh worker
// finishes the publication, and the passport still has exactly one CID, one stored document and one ledger record.

const dbName = uniqueDbName('publish-crash');
let client: MongoClient;
let db: Db;
let api: ApiProcess;

beforeAll(async () => {
  client = new MongoClient(inject('mongoUrl'));
  db = client.db(dbName);
  api = await startApi(walletEnv(dbName, { WORKER: 'off' }));
}, 120_000);

afterAll(async () => {
  await api?.stop();
  killSpawned();
  await db?.dropDatabase();
  await client?.close();
});

async function approvedPassport(): Promise<string> {
  const params = passportParams({ status: 'built', serial_number: `SN-${Math.random()}`, biography: [{ id: 's1', name: 'Сборка' }] });
  expect((await api.call('/passport/create', params)).status).toBe(200);
  const id = params.internal_id as string;
  expect(
    (await api.call('/protocol/save', { internal_id: id, rows: [{ name: 'Изоляция', passed: true }], status: SECOND_STAGE })).status,
  ).toBe(200);
  expect((await api.call('/protocol/mark_approve', { internal_id: id })).status).toBe(200);
  return id;
}

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const passport = (id: string) => db.collection('passport').findOne({ internal_id: id });
const storedDocs = (id: string) => db.collection(CONTENT_COLLECTION).countDocuments({ json: { $regex: `"internal_id":"${id}"` } });
const records = (id: string) => db.collection(LEDGER_COLLECTION).countDocuments({ internal_id: id });

/** What the dead worker left, per crash point. */
const LEFT: Record<string, { cid: boolean; docs: number; records: number }> = {
  'publish.after_store': { cid: false, docs: 1, records: 0 },
  'publish.after_cid': { cid: true, docs: 1, records: 0 },
  'publish.after_record': { cid: true, docs: 1, records: 1 },
};

describe('worker killed in the middle of publishing a passport', () => {
  it('covers every point between two publishing steps', () => {
    expect(Object.keys(LEFT).sort()).toEqual([...PUBLISH_CRASH_POINTS].sort());
  });

  for (const point of PUBLISH_CRASH_POINTS) {
    it(`at ${point}: a fresh worker finishes it with one CID, one stored document, one ledger record`, async () => {
      const id = await approvedPassport();
      const crashing = spawnProcess(process.execPath, ['--import', 'tsx', 'src/worker-main.ts'], walletEnv(dbName, { CRASH_AT: point }));
      const { signal } = await crashing.exited;
      expect(signal).toBe('SIGKILL');
      expect(crashing.output()).toContain(`fault injection: SIGKILL at ${point}`);

      const left = await passport(id);
      expect({
        status: left?.status,
        cid: typeof left?.passport_ipfs_cid === 'string',
        docs: await storedDocs(id),
        records: await records(id),
      }).toEqual({ status: 'approved', ...LEFT[point] });

      const worker = await startWorker(walletEnv(dbName));
      const done = await waitFor(
        () => passport(id),
        (p) => p?.status === 'finalized',
        'the passport to be finalized',
      );
      worker.child.kill('SIGTERM');
      await worker.exited;

      // a CID written before the crash is the one kept; without one, the worker writes a new one
      expect(done?.passport_ipfs_cid === left?.passport_ipfs_cid, 'the CID left by the crash is kept').toBe(LEFT[point]?.cid === true);
      expect({ docs: await storedDocs(id), records: await records(id) }).toEqual({ docs: 1, records: 1 });
      const record = await db.collection(LEDGER_COLLECTION).findOne({ internal_id: id });
      expect(record).toMatchObject({ cid: done?.passport_ipfs_cid, txn_hash: done?.txn_hash });
      expect(await db.collection(CONTENT_COLLECTION).countDocuments({ _id: done?.passport_ipfs_cid })).toBe(1);

      const verify = spawnProcess(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'passport', 'verify', id], walletEnv(dbName));
      const { code } = await verify.exited;
      expect({ code, last: verify.output().trim().split('\n').pop() }).toEqual({ code: 0, last: 'passport OK' });
    }, 120_000);
  }
});
