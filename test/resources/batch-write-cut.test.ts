import { Writable } from 'node:stream';
import { type MongoClient, ObjectId, type Collection, type Document } from 'mongodb';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/core/db.js';
import { createLogger } from '../../src/core/logger.js';
import type { Service } from '../../src/service.js';
import { expectError } from '../helpers/bodies.js';
import { type CuttingProxy, type ServiceBehindProxy, serviceBehindProxy } from '../helpers/cutting-proxy.js';
import { AUTH } from '../helpers/service.js';

// batch_update and atomic batch_create promise all written or none. These tests break that promise's undo path on
// purpose: the service reaches the database through a proxy that cuts the connection after the server received the
// update (insert) command.

const UNDO_FAILED = 'batch_update could not be undone: these records may keep its change';

let proxy: CuttingProxy;
let database: Database;
let service: Service;
let direct: MongoClient;
let accounts: Collection;
const logs: Array<Record<string, unknown>> = [];
let phoneSeq = 0;

let behind: ServiceBehindProxy;

beforeAll(async () => {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  behind = await serviceBehindProxy({
    dbLabel: 'batchupdatecut',
    logger: createLogger({ level: 'info', pretty: false, destination }),
    // a short wait for a reachable server: the test where the database stays away waits this long for the undo
    serverSelectionTimeoutMS: 1_500,
  });
  ({ proxy, database, service, direct } = behind);
  accounts = direct.db(database.db.databaseName).collection('account');
});
afterAll(async () => {
  await behind.stop();
});

const call = (path: string, body: object) => supertest(service.app).post(path).set(AUTH).send(body);

/** `count` accounts created through the service, as stored (sorted by _id). */
async function seedAccounts(count: number): Promise<Document[]> {
  const docs = Array.from({ length: count }, (_, i) => ({ name: `seed ${i}`, phone: String(7_000_000 + ++phoneSeq), state: 100 }));
  const res = await call('/account/batch_create', { docs });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const ids = (res.body._ids as string[]).map((id) => new ObjectId(id));
  return await accounts
    .find({ _id: { $in: ids } })
    .sort({ _id: 1 })
    .toArray();
}

async function storedNow(before: Document[]): Promise<Document[]> {
  return await accounts
    .find({ _id: { $in: before.map((doc) => doc._id as ObjectId) } })
    .sort({ _id: 1 })
    .toArray();
}

const renameAll = (before: Document[], label: string) => ({
  docs: before.map((doc, i) => ({ _id: (doc._id as ObjectId).toHexString(), name: `${label} ${i}` })),
});

describe('batch_update when the database connection breaks during the update', () => {
  let before: Document[];
  let cut: supertest.Response;

  beforeAll(async () => {
    before = await seedAccounts(1000);
    proxy.arm();
    cut = await call('/account/batch_update', renameAll(before, 'cut'));
    expect(proxy.cuts()).toBe(1);
  });

  it('answers unavailable without driver text', () => {
    expectError(cut, 503, 'unavailable');
  });

  it('undoes the updates the server applied before the cut', async () => {
    // the undo ran once the driver had a new connection: every account is as before, updated_at included
    expect(await storedNow(before)).toEqual(before);
    expect(logs.filter((line) => line.msg === UNDO_FAILED)).toEqual([]);
  });
});

describe('batch_update refused by the database mid-batch', () => {
  it('leaves every account as before when the unique index refuses a phone', async () => {
    const before = await seedAccounts(4);
    const [c, d, a, b] = before as [Document, Document, Document, Document];
    // a takes b's phone before b gives it up: the checks before writing allow it (b is in the batch), the unique
    // index refuses docs[2] when the ordered bulk write reaches it. docs[0] and docs[1] were written by then, and the
    // embedded server goes on to write docs[3] (MongoDB would stop at docs[2]): all of them must be taken back
    const res = await call('/account/batch_update', {
      docs: [
        { _id: c._id.toHexString(), name: 'refused c' },
        { _id: d._id.toHexString(), name: 'refused d' },
        { _id: a._id.toHexString(), phone: b.phone },
        { _id: b._id.toHexString(), phone: String(7_500_000 + ++phoneSeq) },
      ],
    });
    expectError(res, 409, 'conflict', 'Duplicate value for docs[2].phone', [{ field: 'docs[2].phone', messages: ['is already taken'] }]);
    expect(await storedNow(before)).toEqual(before);
  });
});

describe('batch_update when the database stays unreachable after the cut', () => {
  let before: Document[];
  let cut: supertest.Response;

  beforeAll(async () => {
    before = await seedAccounts(1000);
    proxy.arm({ thenRefuse: true });
    cut = await call('/account/batch_update', renameAll(before, 'stuck'));
    proxy.heal();
    expect(proxy.cuts()).toBe(2);
  });

  it('answers unavailable without driver text when the undo cannot run', () => {
    expectError(cut, 503, 'unavailable');
  });

  it('logs every id the undo could not reach, with the request id', async () => {
    const reported = logs.filter((line) => line.msg === UNDO_FAILED);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ level: 50, req_id: cut.body.error.request_id, resource: 'account' });
    const changed = (await storedNow(before)).filter((doc) => String(doc.name).startsWith('stuck '));
    // the server applied the update command it received (999 of the 1000 on the embedded server, which takes 999 per
    // command); the log names them among the ones it could not undo
    expect(changed.length).toBeGreaterThan(0);
    // an update cut short says nothing of how far it got: every id of the batch is named
    expect(reported[0]?.ids).toEqual(before.map((doc) => (doc._id as ObjectId).toHexString()));
  });
});

describe('atomic batch_create when the database stays unreachable after the cut', () => {
  const CREATE_UNDO_FAILED = 'batch_create could not be undone: these records may be left created';
  let ids: string[];
  let cut: supertest.Response;

  beforeAll(async () => {
    ids = Array.from({ length: 1000 }, () => new ObjectId().toHexString());
    const docs = ids.map((_id, i) => ({ _id, name: `left ${i}`, phone: String(7_500_000 + ++phoneSeq), state: 100 }));
    const cutsBefore = proxy.cuts();
    proxy.arm({ thenRefuse: true });
    cut = await call('/account/batch_create', { docs });
    proxy.heal();
    expect(proxy.cuts()).toBeGreaterThan(cutsBefore);
  });

  it('answers unavailable without driver text when the clean-up cannot run', () => {
    expectError(cut, 503, 'unavailable');
  });

  it('logs every id the clean-up could not reach, with the request id', async () => {
    const reported = logs.filter((line) => line.msg === CREATE_UNDO_FAILED);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ level: 50, req_id: cut.body.error.request_id, resource: 'account' });
    expect(reported[0]?.ids).toEqual(ids);
    // the first insert command (999 docs on the embedded server) was stored before the cut: they are among those named
    const stored = await accounts.countDocuments({ _id: { $in: ids.map((id) => new ObjectId(id)) } });
    expect(stored).toBeGreaterThan(0);
  });
});
