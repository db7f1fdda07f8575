import { ObjectId } from 'mongodb';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDEMPOTENCY_COLLECTION } from '../../src/core/idempotency.js';
import { CALLER_RESOURCES, callerSchemaDir } from '../helpers/caller-probe.js';
import { PROBE_SCHEMA_DIR, probeResource } from '../helpers/probe-resource.js';
import { AUTH, TEST_KEY, startTestService, type TestService } from '../helpers/service.js';

// Idempotency-Key on write actions (issue 16 §1): replay, conflict, in progress, 400s not kept, expiry, scope.

const OTHER_KEY = { name: 'other-service', secret: 'other-secret-0123456789abcdef' };
let t: TestService;
let probe: TestService;
let shortLived: TestService;
let owned: TestService;
let seq = 0;

beforeAll(async () => {
  [t, probe, shortLived, owned] = await Promise.all([
    startTestService({ extraKeys: [OTHER_KEY] }),
    startTestService({ resources: [probeResource], schemaDir: PROBE_SCHEMA_DIR, idempotency: { ttlMs: 86_400_000, leaseMs: 1_000 } }),
    startTestService({ idempotency: { ttlMs: 1_500, leaseMs: 1_000 } }),
    startTestService({ resources: CALLER_RESOURCES, schemaDir: callerSchemaDir() }),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([t?.close(), probe?.close(), shortLived?.close(), owned?.close()]);
});

function keyed(service: TestService, path: string, key: string, body: object, auth: Record<string, string> = AUTH) {
  return supertest(service.app).post(path).set(auth).set('Idempotency-Key', key).send(body);
}

/** A key and a group name no other test uses. */
function fresh(label: string): { key: string; name: string } {
  seq += 1;
  return { key: `${label}-${seq}-${Date.now()}`, name: `${label} group ${seq}` };
}

function errorBody(res: supertest.Response, code: string, message: string, zh: string, fields?: unknown) {
  return { error: { code, message, zh_message: zh, ...(fields ? { fields } : {}), request_id: res.headers['x-request-id'] } };
}

async function groupsNamed(service: TestService, name: string): Promise<number> {
  return await service.db.collection('group').countDocuments({ name });
}

describe('replay', () => {
  it('replays a retried create: the stored answer with Idempotent-Replayed: true, one record written', async () => {
    const { key, name } = fresh('replay');
    const first = await keyed(t, '/group/create', key, { name });
    expect(first.status).toBe(200);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const retry = await keyed(t, '/group/create', key, { name });
    expect(retry.status).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(await groupsNamed(t, name)).toBe(1);
  });

  it('replays a batch_create with the same _ids', async () => {
    const { key, name } = fresh('batch');
    const body = { docs: [{ name: `${name} a` }, { name: `${name} b` }] };
    const first = await keyed(t, '/group/batch_create', key, body);
    expect(first.status).toBe(200);
    const retry = await keyed(t, '/group/batch_create', key, body);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(await t.db.collection('group').countDocuments({ name: { $in: [`${name} a`, `${name} b`] } })).toBe(2);
  });

  it('replays a refusal (409 conflict) with its first body, request id included', async () => {
    const { key, name } = fresh('taken');
    expect((await t.call('/group/create', { name })).status).toBe(200);
    const first = await keyed(t, '/group/create', key, { name });
    expect(first.status).toBe(409);
    const retry = await keyed(t, '/group/create', key, { name });
    expect(retry.status).toBe(409);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(retry.body.error.request_id).toBe(first.headers['x-request-id']);
  });

  it('treats the same params in another key order as the same request', async () => {
    const { key, name } = fresh('order');
    const first = await keyed(t, '/group/create', key, { name, state: 200 });
    const retry = await keyed(t, '/group/create', key, { state: 200, name });
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
  });
});

describe('conflict', () => {
  it('answers idempotency_conflict for the same key with other params, without a write', async () => {
    const { key, name } = fresh('conflict');
    expect((await keyed(t, '/group/create', key, { name })).status).toBe(200);
    const other = await keyed(t, '/group/create', key, { name: `${name} changed` });
    expect(other.status).toBe(409);
    expect(other.body).toEqual(
      errorBody(
        other,
        'idempotency_conflict',
        'The Idempotency-Key was already used for group/create with other parameters; use a new key for a new request',
        '该幂等键已用于参数不同的 group/create 请求，新的请求请使用新的幂等键',
      ),
    );
    expect(await groupsNamed(t, `${name} changed`)).toBe(0);
  });
});

describe('scope', () => {
  it('keeps one key apart per action', async () => {
    const { key, name } = fresh('per-action');
    const created = await keyed(t, '/group/create', key, { name });
    const updated = await keyed(t, '/group/update', key, { _id: created.body._id, name: `${name} renamed` });
    expect(updated.status).toBe(200);
    expect(updated.headers['idempotent-replayed']).toBeUndefined();
    expect(await groupsNamed(t, `${name} renamed`)).toBe(1);
  });

  it('keeps one key apart per caller (API key)', async () => {
    const { key, name } = fresh('per-caller');
    expect((await keyed(t, '/group/create', key, { name })).status).toBe(200);
    const other = await keyed(t, '/group/create', key, { name: `${name} 2` }, { Authorization: `Bearer ${OTHER_KEY.secret}` });
    expect(other.status).toBe(200);
    expect(other.headers['idempotent-replayed']).toBeUndefined();
    const stored = await t.db.collection(IDEMPOTENCY_COLLECTION).find({ key }).project({ _id: 0, caller: 1 }).toArray();
    expect(stored.map((r) => r.caller).sort()).toEqual([`service:${OTHER_KEY.name}`, `service:${TEST_KEY.name}`]);
  });

  it('keeps one key apart per user (user tokens), each replaying only its own answer', async () => {
    const { key } = fresh('per-user');
    const tokens = owned.service.services.userTokens;
    const [alice, bob] = [new ObjectId(), new ObjectId()];
    const asAlice = { Authorization: `Bearer ${(await tokens.issue(owned.db, alice)).token}` };
    const asBob = { Authorization: `Bearer ${(await tokens.issue(owned.db, bob)).token}` };
    const first = await keyed(owned, '/note/create', key, { text: 'same text' }, asAlice);
    const other = await keyed(owned, '/note/create', key, { text: 'same text' }, asBob);
    expect([first.status, other.status]).toEqual([200, 200]);
    expect(other.headers['idempotent-replayed']).toBeUndefined();
    expect(other.body._id).not.toBe(first.body._id);
    const retry = await keyed(owned, '/note/create', key, { text: 'same text' }, asAlice);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    const notes = await owned.db.collection('note').find({ text: 'same text' }).toArray();
    expect(notes.map((n) => n.user_id.toHexString()).sort()).toEqual([alice.toHexString(), bob.toHexString()].sort());
  });

  it('ignores the header on a read action', async () => {
    const { key } = fresh('read');
    const first = await keyed(t, '/group/find', key, {});
    const second = await keyed(t, '/group/find', key, { _meta: { limit: 1 } });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.headers['idempotent-replayed']).toBeUndefined();
    expect(await t.db.collection(IDEMPOTENCY_COLLECTION).countDocuments({ key })).toBe(0);
  });

  it('ignores the header on a write action declared idempotent: false', async () => {
    const { key } = fresh('unkeyed');
    const first = await keyed(probe, '/probe/unkeyed', key, { text: key });
    const second = await keyed(probe, '/probe/unkeyed', key, { text: key });
    expect(second.headers['idempotent-replayed']).toBeUndefined();
    expect(second.body._id).not.toBe(first.body._id);
    expect(await probe.db.collection('probe_unkeyed').countDocuments({ text: key })).toBe(2);
  });
});

describe('the key header', () => {
  it.each([
    ['256 characters', 'k'.repeat(256)],
    ['a non-ASCII character', 'clé-1'],
    ['a control character', 'key\tone'],
  ])('refuses a key of %s with invalid_params naming the header', async (_label, key) => {
    const res = await supertest(t.app)
      .post('/group/create')
      .set(AUTH)
      .set('Idempotency-Key', Buffer.from(key, 'utf8').toString('latin1'))
      .send({ name: 'never written' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(
      errorBody(
        res,
        'invalid_params',
        'The Idempotency-Key header must be 1 to 255 printable ASCII characters',
        'Idempotency-Key 请求头必须是 1 到 255 个可打印 ASCII 字符',
        [{ field: 'Idempotency-Key', messages: ['must be 1 to 255 printable ASCII characters'] }],
      ),
    );
    expect(await groupsNamed(t, 'never written')).toBe(0);
  });

  it('takes a key of 255 printable characters', async () => {
    const key = `${'~ '.repeat(127)}!`;
    const { name } = fresh('long-key');
    expect((await keyed(t, '/group/create', key, { name })).status).toBe(200);
    expect((await keyed(t, '/group/create', key, { name })).headers['idempotent-replayed']).toBe('true');
  });
});

describe('failures that are not kept', () => {
  it('does not keep a 400: the fixed params run under the same key', async () => {
    const { key, name } = fresh('fix');
    const bad = await keyed(t, '/group/create', key, { name: '' });
    expect(bad.status).toBe(400);
    const fixed = await keyed(t, '/group/create', key, { name });
    expect(fixed.status).toBe(200);
    expect(fixed.headers['idempotent-replayed']).toBeUndefined();
    expect(await groupsNamed(t, name)).toBe(1);
  });

  it('does not keep a 400 found by the handler (a missing reference)', async () => {
    const { key, name } = fresh('ref');
    const body = { name, phone: `139${String(seq).padStart(8, '0')}`, group_id: new ObjectId().toHexString() };
    expect((await keyed(t, '/account/create', key, body)).status).toBe(400);
    expect(await t.db.collection(IDEMPOTENCY_COLLECTION).countDocuments({ key })).toBe(0);
  });

  it('does not keep a 500: the retry runs the action again', async () => {
    const { key } = fresh('crash');
    const first = await keyed(probe, '/probe/crash', key, {});
    const retry = await keyed(probe, '/probe/crash', key, {});
    expect([first.status, retry.status]).toEqual([500, 500]);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(retry.body.error.request_id).toBe(retry.headers['x-request-id']);
  });
});

describe('in progress', () => {
  it('answers idempotency_in_progress with Retry-After to a retry while the first still runs, then replays its answer', async () => {
    const { key } = fresh('slow');
    const first = keyed(probe, '/probe/slow', key, { ms: 1_500 }).then((res) => res);
    const records = probe.db.collection(IDEMPOTENCY_COLLECTION);
    while ((await records.countDocuments({ key })) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    const second = await keyed(probe, '/probe/slow', key, { ms: 1_500 });
    expect(second.status).toBe(409);
    expect(second.headers['retry-after']).toBe('1');
    expect(second.body).toEqual(
      errorBody(
        second,
        'idempotency_in_progress',
        'The first probe/slow request with this Idempotency-Key is still running; retry in 1 s',
        '使用该幂等键的第一个 probe/slow 请求仍在处理中，请在 1 秒后重试',
      ),
    );
    const answered = await first;
    expect(answered.status).toBe(200);
    expect(answered.body).toEqual({ slept_ms: 1_500 });
    const third = await keyed(probe, '/probe/slow', key, { ms: 1_500 });
    expect(third.headers['idempotent-replayed']).toBe('true');
    expect(third.body).toEqual({ slept_ms: 1_500 });
  });

  it('keeps the lease of a first request that runs longer than the lease', async () => {
    const { key } = fresh('long');
    const first = keyed(probe, '/probe/slow', key, { ms: 2_500 }).then((res) => res);
    await new Promise((resolve) => setTimeout(resolve, 1_800));
    const second = await keyed(probe, '/probe/slow', key, { ms: 2_500 });
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('idempotency_in_progress');
    expect((await first).status).toBe(200);
  });

  it('runs a create once among 8 concurrent requests with one key', async () => {
    const { key, name } = fresh('race');
    const answers = await Promise.all(Array.from({ length: 8 }, () => keyed(t, '/group/create', key, { name })));
    expect(await groupsNamed(t, name)).toBe(1);
    const ok = answers.filter((res) => res.status === 200);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(new Set(ok.map((res) => res.body._id)).size).toBe(1);
    for (const res of answers.filter((r) => r.status !== 200)) expect(res.body.error.code).toBe('idempotency_in_progress');
  });
});

describe('expiry', () => {
  it('forgets a key after IDEMPOTENCY_TTL, on a server without a TTL monitor too', async () => {
    const { key, name } = fresh('expiry');
    const first = await keyed(shortLived, '/group/create', key, { name });
    await new Promise((resolve) => setTimeout(resolve, 1_700));
    const again = await keyed(shortLived, '/group/create', key, { name: `${name} later` });
    expect(again.status).toBe(200);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(again.body._id).not.toBe(first.body._id);
    const stored = await shortLived.db.collection(IDEMPOTENCY_COLLECTION).find({ key }).toArray();
    expect(stored.map((r) => r.fingerprint)).toHaveLength(1);
  });

  it('replays within IDEMPOTENCY_TTL', async () => {
    const { key, name } = fresh('within');
    await keyed(shortLived, '/group/create', key, { name });
    expect((await keyed(shortLived, '/group/create', key, { name })).headers['idempotent-replayed']).toBe('true');
  });
});
