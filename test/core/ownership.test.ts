import { ObjectId, type Document } from 'mongodb';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLER_RESOURCES, callerSchemaDir } from '../helpers/caller-probe.js';
import { startTestService, type TestService } from '../helpers/service.js';

// The framework's ownership scope on an owned resource with every kind of standard action (the diary resources
// have their own suite in test/resources/diary-ownership.test.ts).
let t: TestService;
let http: supertest.Agent;
const alice = new ObjectId();
const bob = new ObjectId();
let aliceAuth: Record<string, string>;
let bobAuth: Record<string, string>;
let aliceNote: string;

beforeAll(async () => {
  t = await startTestService({ resources: CALLER_RESOURCES, schemaDir: callerSchemaDir() });
  http = supertest.agent(t.app);
  const tokens = t.service.services.userTokens;
  aliceAuth = { Authorization: `Bearer ${(await tokens.issue(t.db, alice)).token}` };
  bobAuth = { Authorization: `Bearer ${(await tokens.issue(t.db, bob)).token}` };
  const created = await http.post('/note/create').set(aliceAuth).send({ text: 'alice private' });
  aliceNote = created.body._id;
});
afterAll(async () => {
  await t.close();
});

const asBob = (path: string, body: object) => http.post(path).set(bobAuth).send(body);
const stored = (): Promise<Document | null> => t.db.collection('note').findOne({ _id: new ObjectId(aliceNote) });

describe('an owned resource for a user caller', () => {
  it('stores the creating user as the owner', async () => {
    expect((await stored())?.user_id).toEqual(alice);
  });

  it('returns the owner their own record', async () => {
    const res = await http.post('/note/get').set(aliceAuth).send({ _id: aliceNote });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ _id: aliceNote, text: 'alice private', state: 1, user_id: alice.toHexString() });
  });

  it.each([
    ['/note/get', {}],
    ['/note/update', { text: 'bob was here' }],
    ['/note/mark_done', {}],
    ['/note/mark_delete', {}],
    ['/note/mark_restore', {}],
  ])('answers not_found to another user on %s, without a write', async (path, extra) => {
    const before = await stored();
    const res = await asBob(path, { _id: aliceNote, ...extra });
    expect(res.status, path).toBe(404);
    expect(res.body.error.code, path).toBe('not_found');
    expect(await stored()).toEqual(before);
  });

  it('reads only the caller’s own records in find or select', async () => {
    await asBob('/note/create', { text: 'bob own' });
    const found = await asBob('/note/find', {});
    expect(found.body.data.map((n: { text: string }) => n.text)).toEqual(['bob own']);
    expect(found.body._meta.result_count).toBe(1);
    expect((await asBob('/note/find', { text: 'alice private' })).body.data).toEqual([]);
    expect((await asBob('/note/select', {})).body.data.map((n: { text: string }) => n.text)).toEqual(['bob own']);
  });

  it('matches nothing of another user in any batch write (mark, update, delete)', async () => {
    const before = await stored();
    expect((await asBob('/note/batch_done', { _ids: [aliceNote] })).body).toEqual({ ok: true, matched_count: 0, modified_count: 0 });
    expect((await asBob('/note/batch_delete', { _ids: [aliceNote] })).body).toEqual({ ok: true, matched_count: 0, modified_count: 0 });
    const update = await asBob('/note/batch_update', { docs: [{ _id: aliceNote, text: 'bob' }] });
    expect(update.status).toBe(404);
    expect(await stored()).toEqual(before);
  });

  it('stamps the caller on batch_create, whatever the docs say', async () => {
    const res = await asBob('/note/batch_create', { docs: [{ text: 'b1' }, { text: 'b2' }] });
    expect(res.status).toBe(200);
    const rows = await t.db
      .collection('note')
      .find({ _id: { $in: res.body._ids.map((id: string) => new ObjectId(id)) } })
      .toArray();
    expect(rows.map((r) => r.user_id)).toEqual([bob, bob]);
  });

  it('lets a service caller see every user’s records', async () => {
    const res = await t.call('/note/get', { _id: aliceNote });
    expect(res.status).toBe(200);
    const all = await t.call('/note/find', {});
    expect(all.body._meta.result_count).toBe(4);
  });
});
