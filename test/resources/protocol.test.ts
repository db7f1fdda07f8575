import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVED, FIRST_STAGE, SECOND_STAGE } from '../../src/resources/protocol/names.js';
import { HEX_ID, expectError } from '../helpers/bodies.js';
import { createBuilt, createPassport, nextInternalId, storedPassport, withWrongCheckDigit } from '../helpers/passport-fixtures.js';
import { startTestService, type TestService } from '../helpers/service.js';

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.close();
});

const ZH = '当前状态不允许此操作';
const ROWS = [{ name: 'Сопротивление изоляции', value: '25 МОм', expected: '>= 20 МОм', passed: true }];

async function save(internalId: string, status: string, extra: Record<string, unknown> = {}) {
  return await t.call('/protocol/save', { internal_id: internalId, protocol_name: 'Протокол М1', rows: ROWS, status, ...extra });
}

async function atSecondStage(): Promise<string> {
  const id = await createBuilt(t);
  expect((await save(id, SECOND_STAGE)).status).toBe(200);
  return id;
}

describe('protocol/save', () => {
  it('creates the protocol of a unit, answering its _id', async () => {
    const id = await createPassport(t);
    const res = await save(id, FIRST_STAGE);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ _id: expect.stringMatching(HEX_ID) });
    const got = await t.call('/protocol/get', { internal_id: id });
    expect(got.body).toEqual({
      _id: res.body._id,
      internal_id: id,
      protocol_name: 'Протокол М1',
      rows: [{ ...ROWS[0], note: null }],
      status: FIRST_STAGE,
      date: expect.any(String),
      passport_info: { internal_id: id, serial_number: null, model: 'Манипулятор М1', status: 'production' },
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
  });

  it('saves over the existing protocol (same _id), moving it to the second stage', async () => {
    const id = await createPassport(t);
    const first = await save(id, FIRST_STAGE);
    const second = await save(id, SECOND_STAGE, { rows: [{ name: 'Вибрация', passed: false }] });
    expect(second.body).toEqual(first.body);
    expect((await t.call('/protocol/get', { internal_id: id })).body).toMatchObject({
      status: SECOND_STAGE,
      rows: [{ name: 'Вибрация', passed: false, value: null }],
    });
  });

  it('returns conflict going back from the second stage to the first', async () => {
    const id = await atSecondStage();
    const res = await save(id, FIRST_STAGE);
    expectError(
      res,
      409,
      'conflict',
      `the protocol is at "${SECOND_STAGE}"; it cannot go back to "${FIRST_STAGE}"`,
      [{ field: 'status', messages: [`is "${SECOND_STAGE}"`] }],
      ZH,
    );
  });

  it('returns conflict on an approved protocol', async () => {
    const id = await atSecondStage();
    await t.call('/protocol/mark_approve', { internal_id: id });
    const res = await save(id, SECOND_STAGE);
    expectError(
      res,
      409,
      'conflict',
      'the protocol is approved and cannot change; delete it and save a new one',
      [{ field: 'status', messages: [`is "${APPROVED}"`] }],
      ZH,
    );
  });

  it('does not take the approved status', async () => {
    const id = await createPassport(t);
    const res = await save(id, APPROVED);
    expect({ status: res.status, fields: res.body.error.fields }).toEqual({
      status: 400,
      fields: [{ field: 'status', messages: [`must be one of ${FIRST_STAGE}, ${SECOND_STAGE}`] }],
    });
  });

  it('returns not_found for a unit without a passport', async () => {
    const res = await save(nextInternalId(), FIRST_STAGE);
    expectError(res, 404, 'not_found', expect.stringContaining('no passport with internal_id') as unknown as string, [
      { field: 'internal_id', messages: ['no passport with this internal_id'] },
    ]);
  });

  it('refuses a wrong check digit', async () => {
    const res = await save(withWrongCheckDigit(nextInternalId()), FIRST_STAGE);
    expect({ status: res.status, fields: res.body.error.fields }).toEqual({
      status: 400,
      fields: [{ field: 'internal_id', messages: ['must be an EAN-13: 13 digits with a valid check digit'] }],
    });
  });

  it('two first saves racing for one unit make one protocol', async () => {
    const id = await createPassport(t);
    const answers = await Promise.all(Array.from({ length: 8 }, () => save(id, FIRST_STAGE)));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    expect(new Set(answers.map((a) => a.body._id)).size).toBe(1);
    expect(await t.db.collection('protocol').countDocuments({ internal_id: id })).toBe(1);
  });
});

describe('protocol/mark_approve', () => {
  it('approves the protocol together with its passport', async () => {
    const id = await atSecondStage();
    const res = await t.call('/protocol/mark_approve', { internal_id: id });
    expect(res.body).toEqual({ ok: true });
    expect((await t.call('/protocol/get', { internal_id: id })).body.status).toBe(APPROVED);
    expect((await storedPassport(t, id))?.status).toBe('approved');
  });

  it('returns conflict from the first stage', async () => {
    const id = await createBuilt(t);
    await save(id, FIRST_STAGE);
    const res = await t.call('/protocol/mark_approve', { internal_id: id });
    expectError(
      res,
      409,
      'conflict',
      `the protocol is at "${FIRST_STAGE}"; approval needs "${SECOND_STAGE}"`,
      [{ field: 'status', messages: [`is "${FIRST_STAGE}"`] }],
      ZH,
    );
  });

  it('returns conflict when already approved', async () => {
    const id = await atSecondStage();
    await t.call('/protocol/mark_approve', { internal_id: id });
    const res = await t.call('/protocol/mark_approve', { internal_id: id });
    expectError(res, 409, 'conflict', 'the protocol is already approved', [{ field: 'status', messages: [`is "${APPROVED}"`] }], ZH);
  });

  for (const status of ['production', 'revision']) {
    it(`returns conflict for a passport in ${status}, the protocol unchanged`, async () => {
      const id = await createPassport(t, { biography: [{ id: 's1', name: 'one' }] });
      if (status === 'revision') {
        await t.call('/passport/update_serial', { internal_id: id, serial_number: `SN-${id}` });
        await t.call('/passport/mark_revision', { internal_id: id, stage_ids: ['s1'] });
      }
      await save(id, SECOND_STAGE);
      const res = await t.call('/protocol/mark_approve', { internal_id: id });
      expectError(
        res,
        409,
        'conflict',
        `the passport is "${status}"; approval needs a built passport`,
        [{ field: 'passport.status', messages: [`is "${status}"`] }],
        ZH,
      );
      expect((await t.call('/protocol/get', { internal_id: id })).body.status).toBe(SECOND_STAGE);
    });
  }

  it('finishes an approval whose passport step was done (passport approved, protocol still second stage)', async () => {
    const id = await atSecondStage();
    await t.db.collection('passport').updateOne({ internal_id: id }, { $set: { status: 'approved' } });
    expect((await t.call('/protocol/mark_approve', { internal_id: id })).body).toEqual({ ok: true });
    expect((await t.call('/protocol/get', { internal_id: id })).body.status).toBe(APPROVED);
  });

  it('returns not_found for a unit without a protocol', async () => {
    const id = await createBuilt(t);
    const res = await t.call('/protocol/mark_approve', { internal_id: id });
    expectError(res, 404, 'not_found', `no protocol for internal_id ${id}`, [{ field: 'internal_id', messages: ['has no protocol'] }]);
  });
});

describe('protocol/delete', () => {
  it('deletes the protocol so a new one can be saved, even after approval', async () => {
    const id = await atSecondStage();
    await t.call('/protocol/mark_approve', { internal_id: id });
    expect((await t.call('/protocol/delete', { internal_id: id })).body).toEqual({ ok: true });
    expect((await t.call('/protocol/get', { internal_id: id })).status).toBe(404);
    expect((await save(id, FIRST_STAGE)).status).toBe(200);
  });

  it('returns not_found when there is none', async () => {
    const res = await t.call('/protocol/delete', { internal_id: nextInternalId() });
    expect({ status: res.status, code: res.body.error.code }).toEqual({ status: 404, code: 'not_found' });
  });

  it('goes with the passport: passport/mark_delete removes its protocol', async () => {
    const id = await atSecondStage();
    await t.call('/passport/mark_delete', { internal_id: id });
    expect((await t.call('/protocol/get', { internal_id: id })).status).toBe(404);
  });
});

describe('protocol/types', () => {
  it('answers the three statuses in order', async () => {
    expect((await t.call('/protocol/types', {})).body).toEqual({ data: [FIRST_STAGE, SECOND_STAGE, APPROVED] });
  });
});

describe('protocol/mark_approve after an earlier approval of the unit', () => {
  it('clears the publishing backoff an earlier approval left on the passport', async () => {
    const id = await atSecondStage();
    await t.db
      .collection('passport')
      .updateOne(
        { internal_id: id },
        { $set: { publish_attempts: 3, publish_next_at: new Date(Date.now() + 60_000), publish_error: 'gateway down' } },
      );
    expect((await t.call('/protocol/mark_approve', { internal_id: id })).body).toEqual({ ok: true });
    const doc = await storedPassport(t, id);
    expect({ status: doc?.status, attempts: doc?.publish_attempts, next: doc?.publish_next_at, error: doc?.publish_error }).toEqual({
      status: 'approved',
      attempts: undefined,
      next: undefined,
      error: undefined,
    });
  });
});
