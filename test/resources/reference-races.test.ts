import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';

// Reference checks and deletes racing for real (issue 8 item 9): every refusal must be true of the stored data
// afterwards — a create refused with "no group with this id" faces a deleted group, a delete refused as "still
// referenced" leaves an account in the group — so exactly one of the two wins each round.
let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.close();
});

const ROUNDS = 30;

async function outcomeOf(groupId: string) {
  const group = await t.db.collection('group').findOne({ _id: new ObjectId(groupId) });
  const members = await t.db.collection('account').countDocuments({ group_id: new ObjectId(groupId), deleted_at: null });
  return { groupDeleted: group?.deleted_at instanceof Date, members };
}

describe('group/mark_delete racing account/create in that group', () => {
  it('lets exactly one side win each round, its refusal true of what is stored', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const groupId = (await t.call('/group/create', { name: `race-${round}` })).body._id as string;
      const [deleted, created] = await Promise.all([
        t.call('/group/mark_delete', { _id: groupId }),
        t.call('/account/create', { name: 'racer', phone: `1300000${String(round).padStart(4, '0')}`, state: 100, group_id: groupId }),
      ]);
      const stored = await outcomeOf(groupId);
      const refusal = (deleted.status === 200 ? created : deleted).body.error?.fields;
      const got = { deleted: deleted.status, created: created.status, ...stored, refusal };
      expect(
        [
          {
            deleted: 200,
            created: 400,
            groupDeleted: true,
            members: 0,
            refusal: [{ field: 'group_id', messages: ['no group with this id'] }],
          },
          {
            deleted: 409,
            created: 200,
            groupDeleted: false,
            members: 1,
            refusal: [{ field: '_id', messages: ['still referenced by account'] }],
          },
        ],
        `round ${round}`,
      ).toContainEqual(got);
    }
  });
});

describe('group/batch_delete racing account/update into one of its groups', () => {
  it('deletes all of the batch with no member left, or none of it with the member in place', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const a = (await t.call('/group/create', { name: `batch-a-${round}` })).body._id as string;
      const b = (await t.call('/group/create', { name: `batch-b-${round}` })).body._id as string;
      const account = (await t.call('/account/create', { name: 'mover', phone: `1310000${String(round).padStart(4, '0')}`, state: 100 }))
        .body._id as string;
      const [deleted, moved] = await Promise.all([
        t.call('/group/batch_delete', { _ids: [a, b] }),
        t.call('/account/update', { _id: account, group_id: b }),
      ]);
      const stored = await outcomeOf(b);
      const deletedCount = await t.db
        .collection('group')
        .countDocuments({ _id: { $in: [new ObjectId(a), new ObjectId(b)] }, deleted_at: { $ne: null } });
      const got = { deleted: deleted.status, moved: moved.status, deletedCount, members: stored.members };
      expect(
        [
          { deleted: 200, moved: 400, deletedCount: 2, members: 0 },
          { deleted: 409, moved: 200, deletedCount: 0, members: 1 },
        ],
        `round ${round}`,
      ).toContainEqual(got);
    }
  });
});
