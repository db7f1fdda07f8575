import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEX_ID, expectError } from '../helpers/bodies.js';
import { startTestService, type TestService } from '../helpers/service.js';

let t: TestService;
let groupId: string;
let phoneSeq = 0;
const nextPhone = () => `139${String(++phoneSeq).padStart(8, '0')}`;

beforeAll(async () => {
  t = await startTestService();
  groupId = (await t.call('/group/create', { name: '后端组' })).body._id as string;
});
afterAll(async () => {
  await t.close();
});

async function createAccount(fields: Record<string, unknown> = {}): Promise<string> {
  const res = await t.call('/account/create', { name: '憨憨', phone: nextPhone(), state: 100, ...fields });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body._id as string;
}

async function stored(id: string) {
  return await t.db.collection('account').findOne({ _id: new ObjectId(id) });
}

describe('account/create', () => {
  it('returns {_id} (generic_summary)', async () => {
    const res = await t.call('/account/create', { name: '张三', phone: nextPhone(), state: 100 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ _id: expect.stringMatching(HEX_ID) });
  });

  it('stores the given fields with timestamps', async () => {
    const phone = nextPhone();
    const res = await t.call('/account/create', { name: '张三', phone, state: 100, group_id: groupId, labels: ['vip'] });
    const doc = await stored(res.body._id as string);
    expect(doc).toEqual({
      _id: new ObjectId(res.body._id as string),
      name: '张三',
      phone,
      state: 100,
      group_id: new ObjectId(groupId),
      labels: ['vip'],
      created_at: expect.any(Date),
      updated_at: expect.any(Date),
    });
  });

  it('lists every invalid field', async () => {
    const res = await t.call('/account/create', { phone: 12345, state: 300, group_id: 'nope', nickname: 'x' });
    expectError(res, 400, 'invalid_params', 'Invalid parameter name: is required (and 4 more)', [
      { field: 'name', messages: ['is required'] },
      { field: 'nickname', messages: ['is not a known param'] },
      { field: 'phone', messages: ['must be a string'] },
      { field: 'state', messages: ['must be one of 100, 200'] },
      { field: 'group_id', messages: ['must be an ObjectId (24 hex characters)'] },
    ]);
  });

  it('returns invalid_params naming group_id when the group does not exist or is deleted', async () => {
    const ghost = new ObjectId().toHexString();
    expectError(
      await t.call('/account/create', { name: 'a', phone: nextPhone(), state: 100, group_id: ghost }),
      400,
      'invalid_params',
      'Invalid parameter group_id: no group with this id',
      [{ field: 'group_id', messages: ['no group with this id'] }],
    );
    const deleted = (await t.call('/group/create', { name: 'gone' })).body._id as string;
    await t.call('/group/mark_delete', { _id: deleted });
    const res = await t.call('/account/create', { name: 'a', phone: nextPhone(), state: 100, group_id: deleted });
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual([{ field: 'group_id', messages: ['no group with this id'] }]);
  });

  it('returns conflict for a phone or identity_card_id already taken', async () => {
    const phone = nextPhone();
    await createAccount({ phone, identity_card_id: 'ID-0001' });
    expectError(await t.call('/account/create', { name: 'b', phone, state: 100 }), 409, 'conflict', 'Duplicate value for phone', [
      { field: 'phone', messages: ['is already taken'] },
    ]);
    expectError(
      await t.call('/account/create', { name: 'c', phone: nextPhone(), state: 100, identity_card_id: 'ID-0001' }),
      409,
      'conflict',
      'Duplicate value for identity_card_id',
      [{ field: 'identity_card_id', messages: ['is already taken'] }],
      'identity_card_id 的值已被占用，违反唯一约束',
    );
  });

  it('allows many accounts without identity_card_id', async () => {
    const [first, second] = [await createAccount(), await createAccount()];
    const withoutCard = await t.db
      .collection('account')
      .countDocuments({ _id: { $in: [new ObjectId(first), new ObjectId(second)] }, identity_card_id: { $exists: false } });
    expect(withoutCard).toBe(2);
  });
});

describe('account/get', () => {
  it('returns exactly {_id, name, group_info{_id, name}}, no phone (seed 004 §1)', async () => {
    const id = await createAccount({ name: '憨憨', group_id: groupId, identity_card_id: 'ID-get' });
    const res = await t.call('/account/get', { _id: id });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ _id: id, name: '憨憨', group_info: { _id: groupId, name: '后端组' } });
    expect(Object.keys(res.body)).toEqual(['_id', 'name', 'group_info']);
  });

  it('gives group_info null for an account without a group', async () => {
    const id = await createAccount({ name: 'loner' });
    expect((await t.call('/account/get', { _id: id })).body).toEqual({ _id: id, name: 'loner', group_info: null });
  });

  it('returns not_found for an unknown id, invalid_params for a malformed one', async () => {
    const ghost = new ObjectId().toHexString();
    expectError(await t.call('/account/get', { _id: ghost }), 404, 'not_found', `account ${ghost} not found`);
    expectError(
      await t.call('/account/get', { _id: '123' }),
      400,
      'invalid_params',
      'Invalid parameter _id: must be an ObjectId (24 hex characters)',
      [{ field: '_id', messages: ['must be an ObjectId (24 hex characters)'] }],
    );
    expectError(await t.call('/account/get', {}), 400, 'invalid_params', 'Invalid parameter _id: is required', [
      { field: '_id', messages: ['is required'] },
    ]);
  });
});

describe('account/find', () => {
  let ids: string[];
  const prefix = 'Finder';
  beforeAll(async () => {
    ids = [];
    for (let i = 0; i < 7; i++)
      ids.push(await createAccount({ name: `${prefix} ${i}`, state: i % 2 === 0 ? 100 : 200, group_id: i < 3 ? groupId : undefined }));
    // a name with regex characters, to prove the text filters match literally
    ids.push(await createAccount({ name: `${prefix} a.b*` }));
  });

  it("answers {_meta, data} with the seed's account_list_item rows {_id, name}, newest first, 30 a page by default", async () => {
    const res = await t.call('/account/find', { name__icontains: prefix });
    expect(res.status).toBe(200);
    expect(res.body._meta).toEqual({ has_more: false, page: 1, page_size: 30, result_count: 8 });
    expect(res.body.data).toEqual(
      [...ids].reverse().map((id, i) => ({ _id: id, name: i === 0 ? `${prefix} a.b*` : `${prefix} ${7 - i}` })),
    );
  });

  it('find_detail answers the same rows as account_detail, group_info loaded', async () => {
    const res = await t.call('/account/find_detail', { name__icontains: prefix });
    expect(res.status).toBe(200);
    expect(res.body._meta).toEqual({ has_more: false, page: 1, page_size: 30, result_count: 8 });
    expect(res.body.data.map((a: { _id: string }) => a._id)).toEqual([...ids].reverse());
    expect(res.body.data[7]).toEqual({ _id: ids[0], name: `${prefix} 0`, group_info: { _id: groupId, name: '后端组' } });
    expect(res.body.data[1]).toEqual({ _id: ids[6], name: `${prefix} 6`, group_info: null });
  });

  it('pages with _meta {page, limit}; has_more says whether another page exists', async () => {
    const first = await t.call('/account/find', { name__icontains: prefix, _meta: { page: 1, limit: 3 } });
    expect(first.body._meta).toEqual({ has_more: true, page: 1, page_size: 3, result_count: 8 });
    const third = await t.call('/account/find', { name__icontains: prefix, _meta: { page: 3, limit: 3 } });
    expect(third.body._meta).toEqual({ has_more: false, page: 3, page_size: 3, result_count: 8 });
    expect(third.body.data.map((a: { _id: string }) => a._id)).toEqual([ids[1], ids[0]]);
    const beyond = await t.call('/account/find', { name__icontains: prefix, _meta: { page: 9, limit: 3 } });
    expect(beyond.body).toEqual({ _meta: { has_more: false, page: 9, page_size: 3, result_count: 8 }, data: [] });
  });

  it.each([
    ['name (equality)', () => ({ name: `${prefix} 3` }), [3]],
    ['name__icontains, matched literally', () => ({ name__icontains: 'A.B*' }), [7]],
    ['state__in', () => ({ name__icontains: prefix, state__in: [200] }), [5, 3, 1]],
    ['group_id', () => ({ name__icontains: prefix, group_id: groupId, state: 100 }), [2, 0]],
  ])('filters by %s', async (_, params, expected) => {
    const res = await t.call('/account/find', params());
    expect(res.body.data.map((a: { _id: string }) => a._id)).toEqual(expected.map((i) => ids[i]));
  });

  it('sorts by declared fields with _sort', async () => {
    const res = await t.call('/account/find', { name__icontains: prefix, _sort: 'name', _meta: { limit: 2 } });
    expect(res.body.data.map((a: { name: string }) => a.name)).toEqual([`${prefix} 0`, `${prefix} 1`]);
    const desc = await t.call('/account/find', { name__icontains: prefix, _sort: '-name,_id', _meta: { limit: 1 } });
    expect(desc.body.data.map((a: { name: string }) => a.name)).toEqual([`${prefix} a.b*`]);
  });

  it('refuses an undeclared sort field, listing the sortable ones', async () => {
    expectError(
      await t.call('/account/find', { _sort: 'phone' }),
      400,
      'invalid_params',
      'Invalid parameter _sort: cannot sort by "phone" (sortable: name, _id, created_at)',
      [{ field: '_sort', messages: ['cannot sort by "phone" (sortable: name, _id, created_at)'] }],
    );
  });

  it('refuses an undeclared filter, listing the filters find has', async () => {
    const hint = 'is not a known param (filters: name, name__icontains, state, state__in, group_id; also _meta, _sort)';
    expectError(await t.call('/account/find', { phone: '1' }), 400, 'invalid_params', `Invalid parameter phone: ${hint}`, [
      { field: 'phone', messages: [hint] },
    ]);
  });

  it.each([
    ['a page size beyond 100', { _meta: { limit: 101 } }, '_meta.limit', 'must be <= 100'],
    ['page 0', { _meta: { page: 0 } }, '_meta.page', 'must be >= 1'],
    ['an operator object', { name: { $ne: null } }, 'name', 'must be a string'],
  ])('refuses %s', async (_, params, field, message) => {
    expectError(await t.call('/account/find', params), 400, 'invalid_params', `Invalid parameter ${field}: ${message}`, [
      { field, messages: [message] },
    ]);
  });
});

describe('account/find_one', () => {
  it('finds by exactly one of phone or identity_card_id', async () => {
    const phone = nextPhone();
    const id = await createAccount({ name: 'findme', phone, identity_card_id: 'ID-find-one', group_id: groupId });
    const expected = { _id: id, name: 'findme', group_info: { _id: groupId, name: '后端组' } };
    expect((await t.call('/account/find_one', { phone })).body).toEqual(expected);
    expect((await t.call('/account/find_one', { identity_card_id: 'ID-find-one' })).body).toEqual(expected);
  });

  it('refuses none or both keys', async () => {
    expectError(
      await t.call('/account/find_one', {}),
      400,
      'invalid_params',
      'Invalid parameter phone: one of phone, identity_card_id is required',
      [{ field: 'phone', messages: ['one of phone, identity_card_id is required'] }],
    );
    expectError(
      await t.call('/account/find_one', { phone: '123', identity_card_id: 'ID-x' }),
      400,
      'invalid_params',
      'Invalid parameter identity_card_id: only one of phone, identity_card_id may be given',
      [{ field: 'identity_card_id', messages: ['only one of phone, identity_card_id may be given'] }],
    );
  });

  it('returns not_found for no match', async () => {
    expectError(await t.call('/account/find_one', { phone: '000' }), 404, 'not_found', 'no account with this phone');
  });
});

describe('account/select', () => {
  it('answers {data: [{_id, name}]} with no paging, filtered by state', async () => {
    const id = await createAccount({ name: 'pick-me', state: 200 });
    const res = await t.call('/account/select', { state: 200 });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['data']);
    expect(res.body.data).toContainEqual({ _id: id, name: 'pick-me' });
    for (const row of res.body.data as object[]) expect(Object.keys(row)).toEqual(['_id', 'name']);
  });
});

describe('account/update', () => {
  it('sets only the given fields, keeps created_at, moves updated_at', async () => {
    const id = await createAccount({ name: 'before', labels: ['x'], group_id: groupId });
    const was = await stored(id);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const res = await t.call('/account/update', { _id: id, name: 'after' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ _id: id });
    const now = await stored(id);
    expect(now).toEqual({ ...was, name: 'after', updated_at: expect.any(Date) });
    expect((now?.updated_at as Date).getTime()).toBeGreaterThan((was?.updated_at as Date).getTime());
  });

  it('removes an optional field given as null', async () => {
    const id = await createAccount({ group_id: groupId, identity_card_id: 'ID-remove' });
    expect((await t.call('/account/update', { _id: id, group_id: null, identity_card_id: null })).status).toBe(200);
    const doc = await stored(id);
    expect(doc).not.toHaveProperty('group_id');
    expect(doc).not.toHaveProperty('identity_card_id');
    expect((await t.call('/account/get', { _id: id })).body.group_info).toBeNull();
  });

  it('refuses null for a required field, saying it cannot be removed', async () => {
    const id = await createAccount();
    expectError(
      await t.call('/account/update', { _id: id, name: null }),
      400,
      'invalid_params',
      'Invalid parameter name: cannot be removed (it is required)',
      [{ field: 'name', messages: ['cannot be removed (it is required)'] }],
    );
  });

  it('refuses an update without a field, saying that no field was given', async () => {
    const id = await createAccount();
    expectError(
      await t.call('/account/update', { _id: id }),
      400,
      'invalid_params',
      'No field to change was given (update takes at least one of name, phone, identity_card_id, group_id, labels)',
    );
  });

  it('refuses state, which only the mark_* transitions change', async () => {
    const id = await createAccount();
    expectError(
      await t.call('/account/update', { _id: id, state: 200 }),
      400,
      'invalid_params',
      'Invalid parameter state: is changed by mark_disable, mark_enable, not by update',
      [{ field: 'state', messages: ['is changed by mark_disable, mark_enable, not by update'] }],
    );
    expect((await stored(id))?.state).toBe(100);
  });

  it('refuses a name made only of whitespace', async () => {
    const id = await createAccount();
    expectError(
      await t.call('/account/update', { _id: id, name: ' \t ' }),
      400,
      'invalid_params',
      'Invalid parameter name: must not be blank (only whitespace)',
      [{ field: 'name', messages: ['must not be blank (only whitespace)'] }],
    );
  });

  it('refuses an unknown group', async () => {
    const id = await createAccount();
    const ghost = new ObjectId().toHexString();
    expectError(
      await t.call('/account/update', { _id: id, group_id: ghost }),
      400,
      'invalid_params',
      'Invalid parameter group_id: no group with this id',
      [{ field: 'group_id', messages: ['no group with this id'] }],
    );
  });

  it('refuses a taken phone', async () => {
    const id = await createAccount();
    const taken = nextPhone();
    await createAccount({ phone: taken });
    expectError(await t.call('/account/update', { _id: id, phone: taken }), 409, 'conflict', 'Duplicate value for phone', [
      { field: 'phone', messages: ['is already taken'] },
    ]);
  });

  it('returns not_found for an unknown or deleted account', async () => {
    const ghost = new ObjectId().toHexString();
    expectError(await t.call('/account/update', { _id: ghost, name: 'x' }), 404, 'not_found', `account ${ghost} not found`);
    const id = await createAccount();
    await t.call('/account/mark_delete', { _id: id });
    expectError(await t.call('/account/update', { _id: id, name: 'x' }), 404, 'not_found', `account ${id} not found`);
  });
});

describe('account/mark_disable, mark_enable', () => {
  it('answers {ok: true} to each move of the state 100 → 200 → 100', async () => {
    const id = await createAccount();
    expect((await t.call('/account/mark_disable', { _id: id })).body).toEqual({ ok: true });
    expect((await stored(id))?.state).toBe(200);
    expect((await t.call('/account/mark_enable', { _id: id })).body).toEqual({ ok: true });
    expect((await stored(id))?.state).toBe(100);
  });

  it('returns conflict from the wrong state', async () => {
    const id = await createAccount({ state: 200 });
    expectError(await t.call('/account/mark_disable', { _id: id }), 409, 'conflict', 'state is 200; this action needs 100', [
      { field: 'state', messages: ['is 200'] },
    ]);
  });

  it('returns not_found for an unknown account', async () => {
    const ghost = new ObjectId().toHexString();
    expectError(await t.call('/account/mark_enable', { _id: ghost }), 404, 'not_found', `account ${ghost} not found`);
  });

  it('applies one transition when the same mark races with itself', async () => {
    const id = await createAccount();
    const answers = await Promise.all(Array.from({ length: 10 }, () => t.call('/account/mark_disable', { _id: id })));
    expect(answers.map((r) => r.status).sort()).toEqual([200, ...Array(9).fill(409)]);
  });
});

describe('account/mark_delete', () => {
  it('soft-deletes: hidden from every read (get, find, find_one, select) or mark, still stored', async () => {
    const phone = nextPhone();
    const id = await createAccount({ name: 'ghost-to-be', phone });
    expect((await t.call('/account/mark_delete', { _id: id })).body).toEqual({ ok: true });
    expect((await stored(id))?.deleted_at).toBeInstanceOf(Date);
    expectError(await t.call('/account/get', { _id: id }), 404, 'not_found', `account ${id} not found`);
    expect((await t.call('/account/find', { name: 'ghost-to-be' })).body.data).toEqual([]);
    expectError(await t.call('/account/find_one', { phone }), 404, 'not_found', 'no account with this phone');
    expect((await t.call('/account/select', {})).body.data.map((a: { _id: string }) => a._id)).not.toContain(id);
    expectError(await t.call('/account/mark_delete', { _id: id }), 404, 'not_found', `account ${id} not found`);
    expectError(await t.call('/account/mark_enable', { _id: id }), 404, 'not_found', `account ${id} not found`);
  });
});

describe('account/batch_create', () => {
  it('creates every doc, answering {ok, created_count, _ids} in order', async () => {
    const phones = [nextPhone(), nextPhone(), nextPhone()];
    const res = await t.call('/account/batch_create', {
      docs: phones.map((phone, i) => ({ name: `batch ${i}`, phone, state: 100, group_id: groupId })),
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ok: true,
      created_count: 3,
      failed_count: 0,
      _ids: [expect.stringMatching(HEX_ID), expect.stringMatching(HEX_ID), expect.stringMatching(HEX_ID)],
      errors: [],
    });
    const docs = await Promise.all((res.body._ids as string[]).map(stored));
    expect(docs.map((d) => d?.phone)).toEqual(phones);
    expect(docs.every((d) => d?.created_at instanceof Date)).toBe(true);
  });

  it('validates every doc before writing anything', async () => {
    const before = await t.db.collection('account').countDocuments();
    const res = await t.call('/account/batch_create', {
      docs: [
        { name: 'ok', phone: nextPhone(), state: 100 },
        { name: 'ok2', phone: nextPhone(), state: 100 },
        { name: 'bad', state: 100 },
        { name: 'bad2', phone: nextPhone(), state: 1 },
      ],
    });
    expectError(res, 400, 'invalid_params', 'Invalid parameter docs[2].phone: is required (and 1 more)', [
      { field: 'docs[2].phone', messages: ['is required'] },
      { field: 'docs[3].state', messages: ['must be one of 100, 200'] },
    ]);
    expect(await t.db.collection('account').countDocuments()).toBe(before);
  });

  it('refuses the whole batch for an unknown group, a repeated phone or a phone already taken', async () => {
    const before = await t.db.collection('account').countDocuments();
    const ghost = new ObjectId().toHexString();
    const unknownGroup = await t.call('/account/batch_create', {
      docs: [
        { name: 'a', phone: nextPhone(), state: 100 },
        { name: 'b', phone: nextPhone(), state: 100, group_id: ghost },
      ],
    });
    expectError(unknownGroup, 400, 'invalid_params', 'Invalid parameter docs[1].group_id: no group with this id', [
      { field: 'docs[1].group_id', messages: ['no group with this id'] },
    ]);

    const phone = nextPhone();
    const repeated = await t.call('/account/batch_create', {
      docs: [
        { name: 'a', phone, state: 100 },
        { name: 'b', phone: nextPhone(), state: 100 },
        { name: 'c', phone, state: 100 },
      ],
    });
    expectError(repeated, 409, 'conflict', 'Duplicate values in the batch', [
      { field: 'docs[2].phone', messages: ['repeats docs[0].phone'] },
    ]);

    const taken = nextPhone();
    await createAccount({ phone: taken });
    const existing = await t.call('/account/batch_create', {
      docs: [
        { name: 'a', phone: nextPhone(), state: 100 },
        { name: 'b', phone: taken, state: 100 },
      ],
    });
    expectError(existing, 409, 'conflict', 'Duplicate value for docs[1].phone', [
      { field: 'docs[1].phone', messages: ['is already taken'] },
    ]);
    expect(await t.db.collection('account').countDocuments()).toBe(before + 1);
  });

  it('refuses more than 1000 docs', async () => {
    const docs = Array.from({ length: 1001 }, (_, i) => ({ name: `n${i}`, phone: `p${i}xx`, state: 100 }));
    expectError(
      await t.call('/account/batch_create', { docs }),
      400,
      'invalid_params',
      'Invalid parameter docs: must have at most 1000 items',
      [{ field: 'docs', messages: ['must have at most 1000 items'] }],
    );
  });

  it('takes back what it wrote when the database refuses a doc mid-batch', async () => {
    // the unique index catches what our pre-check cannot see: a concurrent create of the same phone
    const phone = nextPhone();
    const before = await t.db.collection('account').countDocuments();
    const [batch, single] = await Promise.all([
      t.call('/account/batch_create', {
        docs: Array.from({ length: 200 }, (_, i) => ({ name: `big ${i}`, phone: i === 199 ? phone : nextPhone(), state: 100 })),
      }),
      t.call('/account/create', { name: 'single', phone, state: 100 }),
    ]);
    const added = (await t.db.collection('account').countDocuments()) - before;
    const got = { batch: batch.status, refused: batch.body.error?.fields, single: single.status, added };
    // whichever write stored the phone first, the other is refused: the batch whole, or nothing of it
    expect([
      { batch: 200, refused: undefined, single: 409, added: 200 },
      {
        batch: 409,
        refused: [{ field: 'docs[199].phone', messages: [expect.stringMatching(/is already taken/)] }],
        single: 200,
        added: 1,
      },
    ]).toContainEqual(got);
  });
});

describe('account/batch_update', () => {
  it('changes each doc by its _id, answering {ok, matched_count, modified_count}', async () => {
    const a = await createAccount({ name: 'bu-a' });
    const b = await createAccount({ name: 'bu-b', group_id: groupId });
    const res = await t.call('/account/batch_update', {
      docs: [
        { _id: a, name: 'bu-a2', group_id: groupId },
        { _id: b, group_id: null, labels: ['x'] },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, matched_count: 2, modified_count: 2 });
    expect(await stored(a)).toMatchObject({ name: 'bu-a2', group_id: new ObjectId(groupId) });
    const docB = await stored(b);
    expect(docB).toMatchObject({ name: 'bu-b', labels: ['x'] });
    expect(docB).not.toHaveProperty('group_id');
  });

  it('writes nothing when one doc names an unknown account, repeats an _id, or takes a used phone', async () => {
    const a = await createAccount({ name: 'keep-a' });
    const b = await createAccount({ name: 'keep-b' });
    const ghost = new ObjectId().toHexString();
    expectError(
      await t.call('/account/batch_update', {
        docs: [
          { _id: a, name: 'changed' },
          { _id: ghost, name: 'x' },
        ],
      }),
      404,
      'not_found',
      '1 of the records do not exist',
      [{ field: 'docs[1]._id', messages: ['no account with this id'] }],
    );
    expectError(
      await t.call('/account/batch_update', {
        docs: [
          { _id: a, name: 'changed' },
          { _id: a, labels: [] },
        ],
      }),
      400,
      'invalid_params',
      'Invalid parameter docs[1]._id: repeats docs[0]._id',
      [{ field: 'docs[1]._id', messages: ['repeats docs[0]._id'] }],
    );
    const taken = nextPhone();
    await createAccount({ phone: taken });
    expectError(
      await t.call('/account/batch_update', {
        docs: [
          { _id: a, name: 'changed' },
          { _id: b, phone: taken },
        ],
      }),
      409,
      'conflict',
      'Duplicate value for docs[1].phone',
      [{ field: 'docs[1].phone', messages: ['is already taken'] }],
    );
    expect((await stored(a))?.name).toBe('keep-a');
    expect((await stored(b))?.name).toBe('keep-b');
  });
});

describe('account/batch_delete', () => {
  it('soft-deletes the listed accounts, counting only those it changed', async () => {
    const ids = [await createAccount(), await createAccount(), await createAccount()];
    const ghost = new ObjectId().toHexString();
    const res = await t.call('/account/batch_delete', { _ids: [...ids, ghost] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, matched_count: 3, modified_count: 3 });
    for (const id of ids) expectError(await t.call('/account/get', { _id: id }), 404, 'not_found', `account ${id} not found`);
    const again = await t.call('/account/batch_delete', { _ids: ids });
    expect(again.body).toEqual({ ok: true, matched_count: 0, modified_count: 0 });
  });

  it('refuses an empty or malformed id list', async () => {
    expectError(
      await t.call('/account/batch_delete', { _ids: [] }),
      400,
      'invalid_params',
      'Invalid parameter _ids: must have at least 1 item',
      [{ field: '_ids', messages: ['must have at least 1 item'] }],
    );
    expectError(
      await t.call('/account/batch_delete', { _ids: ['x'] }),
      400,
      'invalid_params',
      'Invalid parameter _ids[0]: must be an ObjectId (24 hex characters)',
      [{ field: '_ids[0]', messages: ['must be an ObjectId (24 hex characters)'] }],
    );
  });
});

describe('races between writes and deletes (whichever way each round goes)', () => {
  it('update racing a delete of its new group: the update wins (group kept) or the delete does (old group kept)', async () => {
    const home = (await t.call('/group/create', { name: 'race-home' })).body._id as string;
    for (let round = 0; round < 15; round++) {
      const target = (await t.call('/group/create', { name: `race-target-${round}` })).body._id as string;
      const account = await createAccount({ group_id: home });
      const [updated, deleted] = await Promise.all([
        t.call('/account/update', { _id: account, group_id: target }),
        t.call('/group/mark_delete', { _id: target }),
      ]);
      const doc = await stored(account);
      const targetLive = (await t.db.collection('group').findOne({ _id: new ObjectId(target), deleted_at: null })) !== null;
      const got = { updated: updated.status, deleted: deleted.status, group_id: doc?.group_id?.toHexString(), targetLive };
      expect(
        [
          { updated: 200, deleted: 409, group_id: target, targetLive: true },
          { updated: 400, deleted: 200, group_id: home, targetLive: false },
        ],
        `round ${round}`,
      ).toContainEqual(got);
    }
  });

  it('batch_delete while a wallet is opened for one of the accounts: all of the batch or none of it', async () => {
    for (let round = 0; round < 15; round++) {
      const a1 = await createAccount();
      const a2 = await createAccount();
      const [batch, wallet] = await Promise.all([
        t.call('/account/batch_delete', { _ids: [a1, a2] }),
        t.call('/wallet/create', { account_id: a1 }),
      ]);
      const deleted = await t.db
        .collection('account')
        .countDocuments({ _id: { $in: [new ObjectId(a1), new ObjectId(a2)] }, deleted_at: { $ne: null } });
      const wallets = await t.db.collection('wallet').countDocuments({ account_id: new ObjectId(a1) });
      const got = { batch: batch.status, wallet: wallet.status, deleted, wallets, refused: batch.body.error?.fields };
      expect(
        [
          { batch: 200, wallet: 400, deleted: 2, wallets: 0, refused: undefined },
          { batch: 409, wallet: 200, deleted: 0, wallets: 1, refused: [{ field: '_ids[0]', messages: ['still referenced by wallet'] }] },
        ],
        `round ${round}`,
      ).toContainEqual(got);
    }
  });

  it('batch_update while one of its accounts is deleted: all of the batch or none of it', async () => {
    for (let round = 0; round < 15; round++) {
      const a = await createAccount({ name: 'keep' });
      const b = await createAccount({ name: 'keep' });
      const [batch] = await Promise.all([
        t.call('/account/batch_update', {
          docs: [
            { _id: a, name: `changed-${round}` },
            { _id: b, name: `changed-${round}` },
          ],
        }),
        t.call('/account/mark_delete', { _id: b }),
      ]);
      const got = { batch: batch.status, a: (await stored(a))?.name, b: (await stored(b))?.name };
      expect(
        [
          { batch: 200, a: `changed-${round}`, b: `changed-${round}` },
          { batch: 404, a: 'keep', b: 'keep' },
        ],
        `round ${round}`,
      ).toContainEqual(got);
    }
  });
});
