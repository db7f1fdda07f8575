import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';

// firm and merchandise (seed 001's shapes) through the RPC actions; GraphQL over them is in test/graphql/.
let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.close();
});

describe('merchandise', () => {
  it('answers get with every declared field, its firm loaded', async () => {
    const firm = (await t.call('/firm/create', { name: 'Testowa', nip: '5260250274' }).expect(200)).body._id as string;
    const created = await t
      .call('/merchandise/create', {
        display_name: 'Paleta',
        default_address_postalcode: '00-001',
        last_lat: 15,
        last_lon: 52,
        firm_id: firm,
      })
      .expect(200);

    const res = await t.call('/merchandise/get', { _id: created.body._id }).expect(200);

    expect(res.body).toEqual({
      _id: created.body._id,
      display_name: 'Paleta',
      default_address_postalcode: '00-001',
      default_address_string: null,
      default_lat: null,
      default_lon: null,
      last_lat: 15,
      last_lon: 52,
      firm_info: expect.objectContaining({ _id: firm, name: 'Testowa', nip: '5260250274', state: 100 }),
      supplier_info: null,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
  });

  it('names every bad field at once (a latitude out of range, a missing display_name)', async () => {
    const res = await t.call('/merchandise/create', { last_lat: 91 }).expect(400);

    expect(res.body.error.fields).toEqual([
      { field: 'display_name', messages: ['is required'] },
      { field: 'last_lat', messages: ['must be <= 90'] },
    ]);
  });

  it('finds by firm_id combined with display_name__icontains', async () => {
    const firm = (await t.call('/firm/create', { name: 'Druga' }).expect(200)).body._id as string;
    await t.call('/merchandise/create', { display_name: 'Kosz duży', firm_id: firm }).expect(200);
    await t.call('/merchandise/create', { display_name: 'Kosz mały' }).expect(200);

    const res = await t.call('/merchandise/find', { firm_id: firm, display_name__icontains: 'KOSZ' }).expect(200);

    expect(res.body.data.map((m: { display_name: string }) => m.display_name)).toEqual(['Kosz duży']);
    expect(res.body._meta).toEqual({ has_more: false, page: 1, page_size: 30, result_count: 1 });
  });
});
