import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../helpers/bodies.js';
import { startTestService, type TestService } from '../helpers/service.js';

// Soft-deleted records keep their unique values, so they can come back (issue 8 items 14 and 16).
let t: TestService;
let phoneSeq = 0;
const nextPhone = () => `177${String(++phoneSeq).padStart(8, '0')}`;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.close();
});

async function created(path: string, body: object): Promise<string> {
  const res = await t.call(path, body);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body._id as string;
}

describe('mark_restore', () => {
  it('brings a deleted account back into every read', async () => {
    const group = await created('/group/create', { name: 'restore-home' });
    const id = await created('/account/create', { name: 'lazarus', phone: nextPhone(), state: 100, group_id: group });
    await t.call('/account/mark_delete', { _id: id });
    expect((await t.call('/account/mark_restore', { _id: id })).body).toEqual({ ok: true });
    expect((await t.call('/account/get', { _id: id })).body).toEqual({
      _id: id,
      name: 'lazarus',
      group_info: { _id: group, name: 'restore-home' },
    });
    expect(await t.db.collection('account').findOne({ _id: new ObjectId(id) })).not.toHaveProperty('deleted_at');
  });

  it('returns conflict for a record that is not deleted', async () => {
    const id = await created('/group/create', { name: 'never-deleted' });
    expectError(await t.call('/group/mark_restore', { _id: id }), 409, 'conflict', `group ${id} is not deleted`);
  });

  it('returns not_found for an id that never existed', async () => {
    const ghost = new ObjectId().toHexString();
    expectError(await t.call('/group/mark_restore', { _id: ghost }), 404, 'not_found', `group ${ghost} not found`);
  });

  it("returns conflict naming group_id when the account's group was deleted meanwhile", async () => {
    const group = await created('/group/create', { name: 'restore-gone' });
    const id = await created('/account/create', { name: 'orphan', phone: nextPhone(), state: 100, group_id: group });
    await t.call('/account/mark_delete', { _id: id });
    await t.call('/group/mark_delete', { _id: group });
    expectError(
      await t.call('/account/mark_restore', { _id: id }),
      409,
      'conflict',
      'Cannot restore: group_id no longer names a live record',
      [{ field: 'group_id', messages: ['no group with this id'] }],
    );
    expect((await t.db.collection('account').findOne({ _id: new ObjectId(id) }))?.deleted_at).toBeInstanceOf(Date);
  });

  it('returns conflict naming name when a live record took the unique value meanwhile', async () => {
    // a unique index over live records only (a partial index on MongoDB) lets a live group take the name of a
    // deleted one; the embedded server enforces partial indexes as plain ones, so the index is dropped here instead
    const id = await created('/group/create', { name: 'taken-meanwhile' });
    await t.call('/group/mark_delete', { _id: id });
    await t.db.collection('group').dropIndex('name_1');
    await created('/group/create', { name: 'taken-meanwhile' });
    expectError(await t.call('/group/mark_restore', { _id: id }), 409, 'conflict', 'Cannot restore: name taken by a live group', [
      { field: 'name', messages: ['is taken by a live group meanwhile'] },
    ]);
    await t.db.collection('group').deleteMany({ name: 'taken-meanwhile' });
    await t.db.collection('group').createIndex({ name: 1 }, { name: 'name_1', unique: true });
  });
});

describe('a unique value held by a soft-deleted record', () => {
  it('is refused on create, saying a deleted account holds it', async () => {
    const phone = nextPhone();
    const id = await created('/account/create', { name: 'gone', phone, state: 100 });
    await t.call('/account/mark_delete', { _id: id });
    expectError(
      await t.call('/account/create', { name: 'new', phone, state: 100 }),
      409,
      'conflict',
      'Duplicate value for phone (held by a deleted account)',
      [{ field: 'phone', messages: ['is already taken by a deleted account'] }],
    );
  });

  it('is refused in a batch, saying a deleted account holds it', async () => {
    const phone = nextPhone();
    const id = await created('/account/create', { name: 'gone', phone, state: 100 });
    await t.call('/account/mark_delete', { _id: id });
    const res = await t.call('/account/batch_create', {
      docs: [
        { name: 'a', phone: nextPhone(), state: 100 },
        { name: 'b', phone, state: 100 },
      ],
    });
    expectError(res, 409, 'conflict', 'Duplicate value for docs[1].phone', [
      { field: 'docs[1].phone', messages: ['is already taken by a deleted account'] },
    ]);
  });
});
