import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../helpers/bodies.js';
import { createBuilt, createPassport, storedPassport } from '../helpers/passport-fixtures.js';
import { startTestService, type TestService } from '../helpers/service.js';

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.close();
});

const STATUS_ZH = '当前状态不允许此操作';

describe('passport/mark_revision', () => {
  it('moves built to revision, appending an empty copy of each named stage', async () => {
    const id = await createBuilt(t, ['s1', 's2', 's3']);
    const res = await t.call('/passport/mark_revision', { internal_id: id, stage_ids: ['s3', 's1'] });
    expect(res.body).toEqual({ ok: true });
    const doc = await storedPassport(t, id);
    expect(doc?.status).toBe('revision');
    expect(doc?.biography.slice(3)).toEqual([
      { id: expect.stringMatching(/^[0-9a-f]{32}$/), name: 'stage s3', revision_of: 's3' },
      { id: expect.stringMatching(/^[0-9a-f]{32}$/), name: 'stage s1', revision_of: 's1' },
    ]);
  });

  it('is allowed from approved while the passport has no CID yet', async () => {
    const id = await createBuilt(t, ['s1']);
    await t.db.collection('passport').updateOne({ internal_id: id }, { $set: { status: 'approved' } });
    expect((await t.call('/passport/mark_revision', { internal_id: id, stage_ids: ['s1'] })).body).toEqual({ ok: true });
    expect((await storedPassport(t, id))?.status).toBe('revision');
  });

  it('returns conflict from approved once publishing gave it a CID', async () => {
    const id = await createBuilt(t, ['s1']);
    await t.db.collection('passport').updateOne({ internal_id: id }, { $set: { status: 'approved', passport_ipfs_cid: 'baguqee' } });
    const res = await t.call('/passport/mark_revision', { internal_id: id, stage_ids: ['s1'] });
    expectError(
      res,
      409,
      'conflict',
      'the passport is being published (it has a CID); it can no longer go back to revision',
      [{ field: 'status', messages: ['is "approved" and already has a passport_ipfs_cid'] }],
      STATUS_ZH,
    );
  });

  for (const status of ['production', 'revision', 'finalized']) {
    it(`returns conflict from ${status}`, async () => {
      const id = await createBuilt(t, ['s1']);
      await t.db.collection('passport').updateOne({ internal_id: id }, { $set: { status } });
      const res = await t.call('/passport/mark_revision', { internal_id: id, stage_ids: ['s1'] });
      expectError(
        res,
        409,
        'conflict',
        `passport status is "${status}"; mark_revision needs built or approved`,
        [{ field: 'status', messages: [`is "${status}"`] }],
        STATUS_ZH,
      );
    });
  }

  it('refuses a stage id that is not in the biography, naming it, without a write', async () => {
    const id = await createBuilt(t, ['s1', 's2']);
    const res = await t.call('/passport/mark_revision', { internal_id: id, stage_ids: ['s1', 'nope'] });
    expectError(res, 400, 'invalid_params', 'Invalid parameter stage_ids[1]: is not a stage of this passport', [
      { field: 'stage_ids[1]', messages: ['is not a stage of this passport'] },
    ]);
    expect(await storedPassport(t, id)).toMatchObject({ status: 'built', biography: [{ id: 's1' }, { id: 's2' }] });
  });

  it('refuses a stage id given twice', async () => {
    const id = await createBuilt(t, ['s1']);
    const res = await t.call('/passport/mark_revision', { internal_id: id, stage_ids: ['s1', 's1'] });
    expectError(res, 400, 'invalid_params', 'Invalid parameter stage_ids[1]: repeats stage_ids[0]', [
      { field: 'stage_ids[1]', messages: ['repeats stage_ids[0]'] },
    ]);
  });

  it.each([
    ['an empty list', []],
    ['more than 50 ids', Array.from({ length: 51 }, (_, i) => `x${i}`)],
  ])('refuses %s', async (_, stageIds) => {
    const id = await createBuilt(t, ['s1']);
    const res = await t.call('/passport/mark_revision', { internal_id: id, stage_ids: stageIds });
    expect([res.status, res.body.error.fields[0].field]).toEqual([400, 'stage_ids']);
  });
});

describe('passport/cancel_revision', () => {
  async function inRevision(stages: string[]): Promise<{ id: string; copies: string[] }> {
    const id = await createBuilt(t, stages);
    await t.call('/passport/mark_revision', { internal_id: id, stage_ids: stages });
    const doc = await storedPassport(t, id);
    return {
      id,
      copies: ((doc?.biography ?? []) as Array<{ id: string; revision_of?: string }>).filter((s) => s.revision_of).map((s) => s.id),
    };
  }

  it('removes the copy, staying in revision while others are open', async () => {
    const { id, copies } = await inRevision(['s1', 's2']);
    const res = await t.call('/passport/cancel_revision', { internal_id: id, stage_id: copies[0] });
    expect(res.body).toEqual({ status: 'revision', open_revisions: 1 });
    const doc = await storedPassport(t, id);
    expect(doc?.biography.map((s: { id: string }) => s.id)).toEqual(['s1', 's2', copies[1]]);
  });

  it('returns the passport to built after the last copy', async () => {
    const { id, copies } = await inRevision(['s1']);
    expect((await t.call('/passport/cancel_revision', { internal_id: id, stage_id: copies[0] })).body).toEqual({
      status: 'built',
      open_revisions: 0,
    });
    expect(await storedPassport(t, id)).toMatchObject({ status: 'built', biography: [{ id: 's1' }] });
  });

  it('accepts the id of the original stage', async () => {
    const { id } = await inRevision(['s1', 's2']);
    expect((await t.call('/passport/cancel_revision', { internal_id: id, stage_id: 's2' })).body).toEqual({
      status: 'revision',
      open_revisions: 1,
    });
    expect(
      (await storedPassport(t, id))?.biography
        .filter((s: { revision_of?: string }) => s.revision_of)
        .map((s: { revision_of: string }) => s.revision_of),
    ).toEqual(['s1']);
  });

  it('refuses a stage without an open revision', async () => {
    const { id } = await inRevision(['s1']);
    const res = await t.call('/passport/cancel_revision', { internal_id: id, stage_id: 'other' });
    expectError(res, 400, 'invalid_params', 'Invalid parameter stage_id: is not an open revision of this passport', [
      { field: 'stage_id', messages: ['is not an open revision of this passport'] },
    ]);
  });

  it('returns conflict when the passport is not in revision', async () => {
    const id = await createPassport(t);
    const res = await t.call('/passport/cancel_revision', { internal_id: id, stage_id: 's1' });
    expectError(
      res,
      409,
      'conflict',
      'passport status is "production"; cancel_revision needs revision',
      [{ field: 'status', messages: ['is "production"'] }],
      STATUS_ZH,
    );
  });

  it('two cancels racing on the last two copies end in built (20 passports, concurrent requests)', async () => {
    const cases = await Promise.all(Array.from({ length: 20 }, () => inRevision(['s1', 's2'])));
    const answers = await Promise.all(
      cases.flatMap(({ id, copies }) => copies.map((copy) => t.call('/passport/cancel_revision', { internal_id: id, stage_id: copy }))),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    for (const { id } of cases) {
      const doc = await storedPassport(t, id);
      expect({ status: doc?.status, open: doc?.open_revisions, stages: doc?.biography.map((s: { id: string }) => s.id) }).toEqual({
        status: 'built',
        open: 0,
        stages: ['s1', 's2'],
      });
    }
    // exactly one of each pair saw itself as the last
    expect(answers.filter((a) => a.body.status === 'built')).toHaveLength(20);
  });
});
