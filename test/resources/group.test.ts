import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEX_ID, expectError } from '../helpers/bodies.js';
import { startTestService, type TestService } from '../helpers/service.js';

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.close();
});

async function createGroup(name: string, extra: object = {}): Promise<string> {
  const res = await t.call('/group/create', { name, ...extra });
  expect(res.status).toBe(200);
  return res.body._id as string;
}

describe('group/create', () => {
  it('returns {_id}', async () => {
    const res = await t.call('/group/create', { name: '前端组' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ _id: expect.stringMatching(HEX_ID) });
  });

  it('stores the group with state 100, timestamped', async () => {
    const res = await t.call('/group/create', { name: '后端组' });
    const stored = await t.db.collection('group').findOne({ _id: new ObjectId(res.body._id as string) });
    expect(stored).toEqual({
      _id: new ObjectId(res.body._id as string),
      name: '后端组',
      state: 100,
      created_at: expect.any(Date),
      updated_at: stored?.created_at,
    });
  });

  it('returns conflict naming name for a duplicate name', async () => {
    await createGroup('产品组');
    const res = await t.call('/group/create', { name: '产品组' });
    expectError(res, 409, 'conflict', 'Duplicate value for name', [{ field: 'name', messages: ['is already taken'] }]);
  });

  it('returns invalid_params for a missing name or a bad state', async () => {
    expectError(await t.call('/group/create', {}), 400, 'invalid_params', 'Invalid parameter name: is required', [
      { field: 'name', messages: ['is required'] },
    ]);
    expectError(
      await t.call('/group/create', { name: 'x', state: 150 }),
      400,
      'invalid_params',
      'Invalid parameter state: must be one of 100, 200',
      [{ field: 'state', messages: ['must be one of 100, 200'] }],
    );
  });
});

describe('group/get, find, select, update', () => {
  it('gets group_detail', async () => {
    const id = await createGroup('detail组', { state: 200 });
    const res = await t.call('/group/get', { _id: id });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ _id: id, name: 'detail组', state: 200, created_at: expect.any(String), updated_at: expect.any(String) });
    expect(new Date(res.body.created_at as string).toISOString()).toBe(res.body.created_at);
  });

  it('finds by name__icontains, newest first, narrowed by state', async () => {
    const a = await createGroup('Find-Alpha');
    const b = await createGroup('find-beta', { state: 200 });
    const res = await t.call('/group/find', { name__icontains: 'FIND-' });
    expect(res.status).toBe(200);
    expect(res.body._meta).toEqual({ has_more: false, page: 1, page_size: 30, result_count: 2 });
    expect(res.body.data.map((g: { _id: string }) => g._id)).toEqual([b, a]);
    const active = await t.call('/group/find', { name__icontains: 'find-', state: 100 });
    expect(active.body.data.map((g: { _id: string }) => g._id)).toEqual([a]);
  });

  it('selects {data: [{_id, name}]} without paging', async () => {
    const id = await createGroup('select-组');
    const res = await t.call('/group/select', {});
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['data']);
    expect(res.body.data).toContainEqual({ _id: id, name: 'select-组' });
    for (const row of res.body.data as object[]) expect(Object.keys(row)).toEqual(['_id', 'name']);
  });

  it('updates only the given fields', async () => {
    const id = await createGroup('rename-me', { state: 200 });
    const res = await t.call('/group/update', { _id: id, name: 'renamed' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ _id: id });
    const got = await t.call('/group/get', { _id: id });
    expect(got.body).toMatchObject({ name: 'renamed', state: 200 });
    expect(got.body.updated_at > got.body.created_at).toBe(true);
  });

  it('refuses an update that changes nothing', async () => {
    const id = await createGroup('nothing-to-do');
    expectError(
      await t.call('/group/update', { _id: id }),
      400,
      'invalid_params',
      'No field to change was given (update takes at least one of name, state)',
    );
  });
});

describe('group/mark_delete', () => {
  it('deletes a group nobody references; it is then absent everywhere', async () => {
    const id = await createGroup('to-delete');
    const res = await t.call('/group/mark_delete', { _id: id });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
    expectError(await t.call('/group/get', { _id: id }), 404, 'not_found', `group ${id} not found`);
    expectError(await t.call('/group/mark_delete', { _id: id }), 404, 'not_found', `group ${id} not found`);
    const found = await t.call('/group/find', { name: 'to-delete' });
    expect(found.body.data).toEqual([]);
    const selected = await t.call('/group/select', {});
    expect(selected.body.data.map((g: { _id: string }) => g._id)).not.toContain(id);
    expectError(await t.call('/group/update', { _id: id, name: 'zombie' }), 404, 'not_found', `group ${id} not found`);
  });

  it('returns conflict while accounts that are not deleted still belong to it, active or disabled', async () => {
    const id = await createGroup('busy');
    const account = await t.call('/account/create', { name: 'member', phone: '10000000001', state: 100, group_id: id });
    expect(account.status).toBe(200);
    const conflict = (res: typeof account) =>
      expectError(res, 409, 'conflict', `group ${id} is still referenced by account.group_id`, [
        { field: '_id', messages: ['still referenced by account'] },
      ]);

    conflict(await t.call('/group/mark_delete', { _id: id }));
    expect((await t.call('/account/mark_disable', { _id: account.body._id })).status).toBe(200);
    conflict(await t.call('/group/mark_delete', { _id: id }));
    // the group is still there
    expect((await t.call('/group/get', { _id: id })).status).toBe(200);

    expect((await t.call('/account/mark_delete', { _id: account.body._id })).status).toBe(200);
    expect((await t.call('/group/mark_delete', { _id: id })).body).toEqual({ ok: true });
  });

  it('never leaves an account pointing at a deleted group when a delete races a create', async () => {
    for (let round = 0; round < 10; round++) {
      const id = await createGroup(`race-${round}`);
      const [deleted, created] = await Promise.all([
        t.call('/group/mark_delete', { _id: id }),
        t.call('/account/create', { name: 'racer', phone: `1200000${String(round).padStart(4, '0')}`, state: 100, group_id: id }),
      ]);
      const groupLive = (await t.db.collection('group').findOne({ _id: new ObjectId(id), deleted_at: null })) !== null;
      const accountsInGroup = await t.db.collection('account').countDocuments({ group_id: new ObjectId(id), deleted_at: null });
      const got = { deleted: deleted.status, created: created.status, groupLive, accountsInGroup };
      // whichever way the race went, the two writes agree: the delete won (no member) or the create did (group kept)
      expect(
        [
          { deleted: 200, created: 400, groupLive: false, accountsInGroup: 0 },
          { deleted: 409, created: 200, groupLive: true, accountsInGroup: 1 },
        ],
        `round ${round}`,
      ).toContainEqual(got);
    }
  });
});

describe('group/update refuses to remove what cannot be absent', () => {
  it('refuses null for state, which has a default', async () => {
    const id = await createGroup('keeps-its-state');
    expectError(
      await t.call('/group/update', { _id: id, state: null }),
      400,
      'invalid_params',
      'Invalid parameter state: cannot be removed (it has a default)',
      [{ field: 'state', messages: ['cannot be removed (it has a default)'] }],
    );
    expect((await t.db.collection('group').findOne({ _id: new ObjectId(id) }))?.state).toBe(100);
  });

  it('refuses null for name, which is required', async () => {
    const id = await createGroup('keeps-its-name');
    expectError(
      await t.call('/group/update', { _id: id, name: null }),
      400,
      'invalid_params',
      'Invalid parameter name: cannot be removed (it is required)',
      [{ field: 'name', messages: ['cannot be removed (it is required)'] }],
    );
  });
});

describe('group/create refuses blank names', () => {
  it('refuses a name made only of whitespace', async () => {
    expectError(
      await t.call('/group/create', { name: '   ' }),
      400,
      'invalid_params',
      'Invalid parameter name: must not be blank (only whitespace)',
      [{ field: 'name', messages: ['must not be blank (only whitespace)'] }],
    );
  });
});

describe('group batch actions', () => {
  it('batch_update renames several groups at once', async () => {
    const a = await createGroup('bu-1');
    const b = await createGroup('bu-2');
    const res = await t.call('/group/batch_update', {
      docs: [
        { _id: a, name: 'bu-1x' },
        { _id: b, state: 200 },
      ],
    });
    expect(res.body).toEqual({ ok: true, matched_count: 2, modified_count: 2 });
    expect((await t.call('/group/get', { _id: b })).body).toMatchObject({ name: 'bu-2', state: 200 });
  });

  it('batch_delete deletes every listed group nobody references', async () => {
    const ids = [await createGroup('bd-1'), await createGroup('bd-2')];
    expect((await t.call('/group/batch_delete', { _ids: ids })).body).toEqual({ ok: true, matched_count: 2, modified_count: 2 });
    expect(await t.db.collection('group').countDocuments({ _id: { $in: ids.map((id) => new ObjectId(id)) }, deleted_at: null })).toBe(0);
  });

  it('batch_delete refuses the whole batch when one group has members, naming it', async () => {
    const free = await createGroup('bd-free');
    const busy = await createGroup('bd-busy');
    expect((await t.call('/account/create', { name: 'member', phone: '10000000777', state: 100, group_id: busy })).status).toBe(200);
    expectError(
      await t.call('/group/batch_delete', { _ids: [free, busy] }),
      409,
      'conflict',
      `group ${busy} is still referenced by account.group_id`,
      [{ field: '_ids[1]', messages: ['still referenced by account'] }],
    );
    expect(
      await t.db.collection('group').countDocuments({ _id: { $in: [new ObjectId(free), new ObjectId(busy)] }, deleted_at: null }),
    ).toBe(2);
  });
});

// last in the file: it fills the collection beyond what select may answer
describe('group/select never cuts the list silently', () => {
  it('refuses with too_many_results pointing to find when more than 1000 groups match', async () => {
    const now = new Date();
    const groups = Array.from({ length: 1001 }, (_, i) => ({ name: `many-${i}`, state: 200, created_at: now, updated_at: now }));
    await t.db.collection('group').insertMany(groups);
    expectError(
      await t.call('/group/select', { state: 200 }),
      400,
      'too_many_results',
      'More than 1000 group records match; narrow the filters or page through group/find',
    );
  });
});
