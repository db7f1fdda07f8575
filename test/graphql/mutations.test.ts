import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { graphql } from './client.js';

// Mutations run the RPC actions: their client errors come back as {ok: false, errors}, the record through `get`.
let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.close();
});

const MARK_DISABLE = `mutation ($id: ID!) { accountMarkDisable(id: $id) { ok errors { field messages code } account { id name } } }`;

describe('mark mutations', () => {
  it('disables an account, answering it', async () => {
    const id = (await t.call('/account/create', { name: 'Ala', phone: '600100200', state: 100 }).expect(200)).body._id as string;

    const res = await graphql(t, MARK_DISABLE, { id }).expect(200);

    expect(res.body).toEqual({ data: { accountMarkDisable: { ok: true, errors: [], account: { id, name: 'Ala' } } } });
    const stored = await t.db.collection('account').findOne({ name: 'Ala' });
    expect(stored?.state).toBe(200);
  });

  it('answers conflict naming state when the account is disabled already', async () => {
    const id = (await t.call('/account/create', { name: 'Ola', phone: '600100201', state: 200 }).expect(200)).body._id as string;

    const res = await graphql(t, MARK_DISABLE, { id }).expect(200);

    expect(res.body).toEqual({
      data: { accountMarkDisable: { ok: false, errors: [{ field: 'state', messages: ['is 200'], code: 'conflict' }], account: null } },
    });
  });

  it('answers not_found on id for an account that does not exist', async () => {
    const res = await graphql(t, MARK_DISABLE, { id: '5a72897dce6d2a27056b21b0' }).expect(200);

    expect(res.body).toEqual({
      data: {
        accountMarkDisable: {
          ok: false,
          errors: [{ field: 'id', messages: ['account 5a72897dce6d2a27056b21b0 not found'], code: 'not_found' }],
          account: null,
        },
      },
    });
  });
});

describe('create and update', () => {
  it('creates merchandise of a firm, answering the firm nested', async () => {
    const firm = (await t.call('/firm/create', { name: 'Testowa' }).expect(200)).body._id as string;

    const res = await graphql(
      t,
      'mutation ($m: MerchandiseCreateGenericType!) { merchandiseCreate(newMerchandise: $m) { ok merchandise { displayName firmInfo { id name } } } }',
      {
        m: { displayName: 'Paleta', firmId: firm },
      },
    ).expect(200);

    expect(res.body).toEqual({
      data: { merchandiseCreate: { ok: true, merchandise: { displayName: 'Paleta', firmInfo: { id: firm, name: 'Testowa' } } } },
    });
  });

  it('refuses a firmId that names no firm, as the RPC create does', async () => {
    const res = await graphql(
      t,
      'mutation { merchandiseCreate(newMerchandise: {displayName: "X", firmId: "5a72897dce6d2a27056b21b0"}) { ok errors { field code } } }',
    ).expect(200);

    expect(res.body).toEqual({ data: { merchandiseCreate: { ok: false, errors: [{ field: 'firmId', code: 'invalid_params' }] } } });
  });

  it('removes an optional field given as null in an update', async () => {
    const id = (await t.call('/merchandise/create', { display_name: 'Kosz', default_lat: 52.1 }).expect(200)).body._id as string;

    const res = await graphql(
      t,
      `mutation { merchandiseUpdate(newMerchandise: {id: "${id}", defaultLat: null}) { ok merchandise { defaultLat displayName } } }`,
    ).expect(200);

    expect(res.body).toEqual({ data: { merchandiseUpdate: { ok: true, merchandise: { defaultLat: null, displayName: 'Kosz' } } } });
  });

  it('answers the update rule of the RPC action: at least one field to change', async () => {
    const id = (await t.call('/merchandise/create', { display_name: 'Wiadro' }).expect(200)).body._id as string;

    const res = await graphql(t, `mutation { merchandiseUpdate(newMerchandise: {id: "${id}"}) { ok errors { field code } } }`).expect(200);

    expect(res.body.data.merchandiseUpdate.ok).toBe(false);
    expect(res.body.data.merchandiseUpdate.errors[0].code).toBe('invalid_params');
  });

  it('refuses to delete a firm that merchandise names, with ok false', async () => {
    const firm = (await t.call('/firm/create', { name: 'Zajęta' }).expect(200)).body._id as string;
    await t.call('/merchandise/create', { display_name: 'Skrzynia', supplier_id: firm }).expect(200);

    const res = await graphql(t, `mutation { firmDelete(id: "${firm}") { ok errors { field messages code } } }`).expect(200);

    expect(res.body).toEqual({
      data: { firmDelete: { ok: false, errors: [{ field: 'id', messages: ['still referenced by merchandise'], code: 'conflict' }] } },
    });
  });
});
