import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEX_ID, expectError } from '../helpers/bodies.js';
import { startTestService, type TestService } from '../helpers/service.js';

let t: TestService;
let groupId: string;
let phone = 5_000_000;
const nextPhone = () => String(phone++);

beforeAll(async () => {
  t = await startTestService();
  groupId = (await t.call('/group/create', { name: 'partial组' })).body._id as string;
});
afterAll(async () => {
  await t.close();
});

async function stored(phones: string[]): Promise<string[]> {
  const docs = await t.db
    .collection('account')
    .find({ phone: { $in: phones } })
    .toArray();
  return docs.map((d) => d.phone as string).sort();
}

describe('account/batch_create with atomic: false', () => {
  it('creates the valid docs, reporting each refused one by index, field, messages', async () => {
    const taken = nextPhone();
    expect((await t.call('/account/create', { name: 'old', phone: taken, state: 100 })).status).toBe(200);
    const [a, b, c] = [nextPhone(), nextPhone(), nextPhone()];
    const missingGroup = new ObjectId().toHexString();
    const res = await t.call('/account/batch_create', {
      atomic: false,
      docs: [
        { name: 'ok 0', phone: a, state: 100, group_id: groupId },
        { name: 'no phone', state: 100 },
        { name: 'bad state', phone: nextPhone(), state: 150 },
        { name: 'taken', phone: taken, state: 100 },
        { name: 'dangling', phone: nextPhone(), state: 100, group_id: missingGroup },
        { name: 'ok 5', phone: b, state: 200 },
        { name: 'repeat', phone: b, state: 100 },
        { name: 'ok 7', phone: c, state: 100 },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ok: true,
      created_count: 3,
      failed_count: 5,
      _ids: [expect.stringMatching(HEX_ID), expect.stringMatching(HEX_ID), expect.stringMatching(HEX_ID)],
      errors: [
        { index: 1, field: 'phone', code: 'invalid_params', messages: ['is required'] },
        { index: 2, field: 'state', code: 'invalid_params', messages: ['must be one of 100, 200'] },
        { index: 3, field: 'phone', code: 'conflict', messages: ['is already taken'] },
        { index: 4, field: 'group_id', code: 'invalid_params', messages: ['no group with this id'] },
        { index: 6, field: 'phone', code: 'conflict', messages: ['repeats docs[5].phone'] },
      ],
    });
    expect(await stored([a, b, c, taken])).toEqual([a, b, c, taken].sort());
    const created = await t.db.collection('account').findOne({ _id: new ObjectId(res.body._ids[1] as string) });
    expect(created).toMatchObject({ name: 'ok 5', phone: b, state: 200 });
  });

  it('answers created_count 0 when every doc is refused', async () => {
    const res = await t.call('/account/batch_create', { atomic: false, docs: [{ name: '' }, { phone: nextPhone() }] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ok: true,
      created_count: 0,
      failed_count: 2,
      _ids: [],
      errors: [
        { index: 0, field: 'phone', code: 'invalid_params', messages: ['is required'] },
        { index: 0, field: 'state', code: 'invalid_params', messages: ['is required'] },
        { index: 0, field: 'name', code: 'invalid_params', messages: ['must be at least 1 character'] },
        { index: 1, field: 'name', code: 'invalid_params', messages: ['is required'] },
        { index: 1, field: 'state', code: 'invalid_params', messages: ['is required'] },
      ],
    });
  });

  it('reports every bad doc of a batch with more than 100 of them', async () => {
    const docs = Array.from({ length: 300 }, (_, i) =>
      i % 2 === 0 ? { name: `n${i}`, phone: nextPhone(), state: 100 } : { name: `n${i}`, state: 100 },
    );
    const res = await t.call('/account/batch_create', { atomic: false, docs });
    expect(res.body.created_count).toBe(150);
    expect(res.body.errors.map((e: { index: number }) => e.index)).toEqual(Array.from({ length: 150 }, (_, i) => 2 * i + 1));
  });

  it('still refuses the whole call for a mistake outside the docs', async () => {
    expectError(
      await t.call('/account/batch_create', { atomic: false, docs: [], extra: 1 }),
      400,
      'invalid_params',
      'Invalid parameter extra: is not a known param (and 1 more)',
      [
        { field: 'extra', messages: ['is not a known param'] },
        { field: 'docs', messages: ['must have at least 1 item'] },
      ],
    );
  });

  it('makes a re-sent doc with a caller-chosen _id a conflict on _id, not a second record', async () => {
    const id = new ObjectId().toHexString();
    const doc = { _id: id, name: 'chosen', phone: nextPhone(), state: 100 };
    expect((await t.call('/account/batch_create', { atomic: false, docs: [doc] })).body._ids).toEqual([id]);
    const again = await t.call('/account/batch_create', { atomic: false, docs: [{ ...doc, phone: nextPhone() }] });
    expect(again.body.errors).toEqual([{ index: 0, field: '_id', code: 'conflict', messages: ['is already taken'] }]);
    expect(await t.db.collection('account').countDocuments({ name: 'chosen' })).toBe(1);
  });
});

describe('account/batch_create default (atomic)', () => {
  it('stays all-or-nothing: one bad doc refuses the batch, storing nothing', async () => {
    const good = nextPhone();
    expectError(
      await t.call('/account/batch_create', {
        docs: [
          { name: 'g', phone: good, state: 100 },
          { name: 'b', state: 100 },
        ],
      }),
      400,
      'invalid_params',
      'Invalid parameter docs[1].phone: is required',
      [{ field: 'docs[1].phone', messages: ['is required'] }],
    );
    expect(await stored([good])).toEqual([]);
  });

  it('refuses a taken _id with 409, the existing record left alone', async () => {
    const id = new ObjectId().toHexString();
    const first = nextPhone();
    expect((await t.call('/account/batch_create', { docs: [{ _id: id, name: 'first', phone: first, state: 100 }] })).status).toBe(200);
    expectError(
      await t.call('/account/batch_create', { docs: [{ _id: id, name: 'second', phone: nextPhone(), state: 100 }] }),
      409,
      'conflict',
      'Duplicate value for docs[0]._id',
      [{ field: 'docs[0]._id', messages: ['is already taken'] }],
    );
    expect(await t.db.collection('account').findOne({ _id: new ObjectId(id) })).toMatchObject({ name: 'first', phone: first });
  });
});
