import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, startTestService, type TestService } from '../helpers/service.js';

// An Idempotency-Key on /graphql keys the write of the request's one mutation, as it keys POST /<resource>/<action>.
let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.close();
});

const CREATE = 'mutation ($g: GroupCreateGenericType!) { groupCreate(newGroup: $g) { ok errors { field code } group { id name } } }';

function keyed(key: string, query: string, variables: Record<string, unknown>): supertest.Test {
  return supertest(t.app)
    .post('/graphql')
    .set(AUTH)
    .set('Idempotency-Key', key)
    .set('Accept', 'application/graphql-response+json, application/json')
    .send({ query, variables });
}

describe('Idempotency-Key on a mutation', () => {
  it('answers a retry with the first answer without a second write', async () => {
    const first = await keyed('gql-retry-1', CREATE, { g: { name: 'gql keyed 1' } }).expect(200);
    const retry = await keyed('gql-retry-1', CREATE, { g: { name: 'gql keyed 1' } }).expect(200);

    expect(first.body.data.groupCreate.ok).toBe(true);
    expect(retry.body).toEqual(first.body);
    expect(await t.db.collection('group').countDocuments({ name: 'gql keyed 1' })).toBe(1);
  });

  it('marks the retry as replayed', async () => {
    const first = await keyed('gql-retry-2', CREATE, { g: { name: 'gql keyed 2' } }).expect(200);
    const retry = await keyed('gql-retry-2', CREATE, { g: { name: 'gql keyed 2' } }).expect(200);

    expect([first.headers['idempotent-replayed'], retry.headers['idempotent-replayed']]).toEqual([undefined, 'true']);
  });

  it('shares the key with the RPC action it runs', async () => {
    const viaRpc = await t.call('/group/create', { name: 'gql keyed 3' }).set('Idempotency-Key', 'gql-shared').expect(200);

    const viaGraphql = await keyed('gql-shared', CREATE, { g: { name: 'gql keyed 3' } }).expect(200);

    expect(viaGraphql.body.data.groupCreate.group.id).toBe(viaRpc.body._id);
    expect(viaGraphql.headers['idempotent-replayed']).toBe('true');
  });

  it('refuses the same key with other input as idempotency_conflict, writing nothing', async () => {
    await keyed('gql-conflict', CREATE, { g: { name: 'gql keyed 4' } }).expect(200);

    const other = await keyed('gql-conflict', CREATE, { g: { name: 'gql keyed 4b' } }).expect(200);

    expect(other.body.data.groupCreate).toEqual({ ok: false, errors: [{ field: '__all__', code: 'idempotency_conflict' }], group: null });
    expect(await t.db.collection('group').countDocuments({ name: 'gql keyed 4b' })).toBe(0);
  });

  it('replays a stored refusal as the same error', async () => {
    await t.call('/group/create', { name: 'gql taken' }).expect(200);

    const first = await keyed('gql-refused', CREATE, { g: { name: 'gql taken' } }).expect(200);
    const retry = await keyed('gql-refused', CREATE, { g: { name: 'gql taken' } }).expect(200);

    expect(first.body.data.groupCreate).toEqual({ ok: false, errors: [{ field: 'name', code: 'conflict' }], group: null });
    expect(retry.body).toEqual(first.body);
    expect(retry.headers['idempotent-replayed']).toBe('true');
  });

  it('refuses two mutations under one key before either runs', async () => {
    const two = 'mutation { a: groupCreate(newGroup: {name: "gql two a"}) { ok } b: groupCreate(newGroup: {name: "gql two b"}) { ok } }';

    const res = await keyed('gql-two', two, {});

    expect(res.body.errors.map((e: { extensions: { code: string } }) => e.extensions.code)).toEqual(['invalid_params']);
    expect(await t.db.collection('group').countDocuments({ name: { $in: ['gql two a', 'gql two b'] } })).toBe(0);
  });

  it('refuses a key over 255 characters as invalid_params on the header', async () => {
    const res = await keyed('k'.repeat(256), CREATE, { g: { name: 'gql bad key' } });

    expect(res.body.errors[0].extensions).toMatchObject({ code: 'invalid_params', fields: [{ field: 'Idempotency-Key' }] });
    expect(await t.db.collection('group').countDocuments({ name: 'gql bad key' })).toBe(0);
  });

  it('ignores the key on a query', async () => {
    const res = await keyed('gql-query', '{ groups { results { id } } }', {}).expect(200);

    expect(res.body.errors).toBeUndefined();
  });
});
