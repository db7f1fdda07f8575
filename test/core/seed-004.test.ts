import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GROUP_ID_FOR_G, SEED_004, parseExample } from '../fixtures/seed-004-examples.js';
import { HEX_ID } from '../helpers/bodies.js';
import { startTestService, type TestService } from '../helpers/service.js';

// Replays every request/response example of seed 004 against the real service: the requests as the seed writes
// them, the stored data arranged so that the seed's answers are the exact answers (ids included).
let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.close();
});
beforeEach(async () => {
  await t.db.collection('account').deleteMany({});
  await t.db.collection('group').deleteMany({});
});

const ACCOUNT_ID = '5a72897dce6d2a27056b219f';
const SECOND_ACCOUNT_ID = '5a72897dce6d2a27056b219e';
const now = new Date();
const stamps = { created_at: now, updated_at: now };

async function seedAccountInGroup(): Promise<void> {
  await t.db.collection('group').insertOne({ _id: new ObjectId(GROUP_ID_FOR_G), name: '后端组', state: 100, ...stamps });
  await t.db.collection('account').insertOne({
    _id: new ObjectId(ACCOUNT_ID),
    name: '憨憨',
    phone: '13800000000',
    state: 100,
    group_id: new ObjectId(GROUP_ID_FOR_G),
    ...stamps,
  });
}

describe('seed 004 examples, replayed', () => {
  it("§1 get answers the seed's account_detail", async () => {
    await seedAccountInGroup();
    const res = await t.call('/account/get', { _id: ACCOUNT_ID });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(parseExample(SEED_004.get_response));
  });

  it("§2 find answers the seed's request with its _meta, its account_list_item rows", async () => {
    // 1148 active accounts, the two newest being the seed's; older ids for the rest, and disabled ones the filter drops
    const older = (i: number) => ObjectId.createFromTime(0x5a000000 + i);
    const rows = Array.from({ length: 1146 }, (_, i) => ({ _id: older(i), name: `a${i}`, phone: `p${i}`, state: 100, ...stamps }));
    rows.push({ _id: new ObjectId(ACCOUNT_ID), name: '憨憨1', phone: 'p-1', state: 100, ...stamps });
    rows.push({ _id: new ObjectId(SECOND_ACCOUNT_ID), name: '憨憨2', phone: 'p-2', state: 100, ...stamps });
    rows.push({ _id: new ObjectId(), name: 'disabled', phone: 'p-3', state: 200, ...stamps });
    await t.db.collection('account').insertMany(rows);

    const res = await t.call('/account/find', JSON.parse(SEED_004.find_request));
    expect(res.status).toBe(200);
    const expected = parseExample(SEED_004.find_response) as { _meta: unknown; data: unknown[] };
    expect(res.body._meta).toEqual(expected._meta);
    expect(res.body.data).toHaveLength(30);
    // the seed shows the first two rows of the page
    expect(res.body.data.slice(0, 2)).toEqual(expected.data);
    for (const row of res.body.data as object[]) expect(Object.keys(row)).toEqual(['_id', 'name']);
  });

  it("§3 create answers the seed's generic_summary", async () => {
    await t.db.collection('group').insertOne({ _id: new ObjectId(GROUP_ID_FOR_G), name: '后端组', state: 100, ...stamps });
    const res = await t.call('/account/create', { name: '憨憨', phone: '13800000001', state: 100, group_id: GROUP_ID_FOR_G });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(Object.keys(parseExample(SEED_004.create_response)));
    expect(res.body._id).toMatch(HEX_ID);
  });

  it("§4 update answers the seed's generic_summary with the record's _id", async () => {
    await seedAccountInGroup();
    const res = await t.call('/account/update', { _id: ACCOUNT_ID, name: '憨憨', phone: '13800000002' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(parseExample(SEED_004.update_response));
  });

  it("§5 find_one by phone answers the seed's account_detail", async () => {
    await seedAccountInGroup();
    const res = await t.call('/account/find_one', { phone: '13800000000' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(parseExample(SEED_004.find_one_response));
  });

  it("§6 select answers the seed's {data: [{_id, name}]} of groups", async () => {
    await t.db.collection('group').insertMany([
      { _id: new ObjectId('5a72897dce6d2a27056b219e'), name: '产品组', state: 100, ...stamps },
      { _id: new ObjectId(GROUP_ID_FOR_G), name: '后端组', state: 100, ...stamps },
    ]);
    const res = await t.call('/group/select', {});
    expect(res.status).toBe(200);
    expect(res.body).toEqual(parseExample(SEED_004.select_response));
  });

  it('§7 mark_* {_id} answers the seed\'s {"ok": true}', async () => {
    await seedAccountInGroup();
    const res = await t.call('/account/mark_disable', { _id: ACCOUNT_ID });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(parseExample(SEED_004.mark_response));
  });

  it('§8 batch_* {_ids} answers the seed\'s {"ok": true} with the counts DESIGN.md §6 adds', async () => {
    await seedAccountInGroup();
    const res = await t.call('/account/batch_delete', { _ids: [ACCOUNT_ID] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...parseExample(SEED_004.batch_ids_response), matched_count: 1, modified_count: 1 });
  });

  it('§9 group/batch_create with the seed\'s docs creates both groups, answering {"ok": true} with the counts', async () => {
    const res = await t.call('/group/batch_create', JSON.parse(SEED_004.batch_create_request));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ...parseExample(SEED_004.batch_create_response),
      created_count: 2,
      failed_count: 0,
      _ids: [expect.stringMatching(HEX_ID), expect.stringMatching(HEX_ID)],
      errors: [],
    });
    const names = await t.db
      .collection('group')
      .find({}, { sort: { name: 1 } })
      .map((g) => g.name as string)
      .toArray();
    expect(names.sort()).toEqual(['产品组', '后端组'].sort());
  });
});
