import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEX_ID, expectError } from '../helpers/bodies.js';
import {
  createBuilt,
  createPassport,
  nextInternalId,
  passportParams,
  storedPassport,
  withWrongCheckDigit,
} from '../helpers/passport-fixtures.js';
import { startTestService, type TestService } from '../helpers/service.js';

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.close();
});

const EAN = 'must be an EAN-13: 13 digits with a valid check digit';

describe('passport/create', () => {
  it('stores a new passport in production, dated, with generated stage ids', async () => {
    const params = passportParams({ biography: [{ name: 'Сборка', employee_name: 'Иванов', session_start_time: '2024-05-01 08:00:00' }] });
    const before = Date.now();
    const res = await t.call('/passport/create', params);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ _id: expect.stringMatching(HEX_ID) });
    const doc = await storedPassport(t, params.internal_id as string);
    expect(doc).toEqual({
      ...params,
      _id: new ObjectId(res.body._id as string),
      status: 'production',
      date: expect.any(Date),
      biography: [
        {
          id: expect.stringMatching(/^[0-9a-f]{32}$/),
          name: 'Сборка',
          employee_name: 'Иванов',
          session_start_time: new Date('2024-05-01T08:00:00Z'),
        },
      ],
      created_at: expect.any(Date),
      updated_at: expect.any(Date),
    });
    expect((doc?.date as Date | undefined)?.getTime()).toBeGreaterThanOrEqual(before - 5);
  });

  it('starts in built when status built is given', async () => {
    const id = await createPassport(t, { status: 'built' });
    expect((await storedPassport(t, id))?.status).toBe('built');
  });

  it('refuses any other starting status', async () => {
    const res = await t.call('/passport/create', passportParams({ status: 'finalized' }));
    expectError(res, 400, 'invalid_params', 'Invalid parameter status: must be one of production, built', [
      { field: 'status', messages: ['must be one of production, built'] },
    ]);
  });

  it('refuses an internal_id with a wrong check digit, naming it', async () => {
    const res = await t.call('/passport/create', passportParams({ internal_id: withWrongCheckDigit(nextInternalId()) }));
    expectError(res, 400, 'invalid_params', `Invalid parameter internal_id: ${EAN}`, [{ field: 'internal_id', messages: [EAN] }]);
  });

  it('refuses an internal_id that is not 13 digits', async () => {
    const res = await t.call('/passport/create', passportParams({ internal_id: '40063813339AB' }));
    expectError(res, 400, 'invalid_params', `Invalid parameter internal_id: ${EAN}`, [{ field: 'internal_id', messages: [EAN] }]);
  });

  it('refuses component or parent ids that are not EAN-13s, naming each', async () => {
    const res = await t.call(
      '/passport/create',
      passportParams({ featured_in_int_id: '1234567890123', components_internal_ids: [nextInternalId(), '0000000000001'] }),
    );
    expectError(res, 400, 'invalid_params', `Invalid parameter featured_in_int_id: ${EAN} (and 1 more)`, [
      { field: 'featured_in_int_id', messages: [EAN] },
      { field: 'components_internal_ids[1]', messages: [EAN] },
    ]);
  });

  it('does not take the fields publishing writes', async () => {
    const res = await t.call('/passport/create', passportParams({ passport_ipfs_cid: 'bafy', txn_hash: '0x1' }));
    expectError(res, 400, 'invalid_params', 'Invalid parameter passport_ipfs_cid: is not a known param (and 1 more)', [
      { field: 'passport_ipfs_cid', messages: ['is not a known param'] },
      { field: 'txn_hash', messages: ['is not a known param'] },
    ]);
  });

  it('returns conflict naming internal_id when the number is taken', async () => {
    const id = await createPassport(t);
    const res = await t.call('/passport/create', passportParams({ internal_id: id }));
    expectError(
      res,
      409,
      'conflict',
      'Duplicate value for internal_id',
      [{ field: 'internal_id', messages: ['is already taken'] }],
      'internal_id 的值已被占用，违反唯一约束',
    );
  });

  it('refuses repeated stage ids in the biography', async () => {
    const res = await t.call(
      '/passport/create',
      passportParams({
        biography: [
          { id: 'a', name: 'one' },
          { id: 'a', name: 'two' },
        ],
      }),
    );
    expectError(res, 400, 'invalid_params', 'Invalid parameter biography[1].id: repeats biography[0].id', [
      { field: 'biography[1].id', messages: ['repeats biography[0].id'] },
    ]);
  });
});

describe('passport/get', () => {
  it('returns every seed field, null where absent', async () => {
    const params = passportParams({ date: '2024-03-01T10:00:00Z' });
    const created = await t.call('/passport/create', params);
    const res = await t.call('/passport/get', { internal_id: params.internal_id });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      _id: created.body._id,
      schema_id: 'default',
      uuid: params.uuid,
      internal_id: params.internal_id,
      passport_short_url: null,
      passport_ipfs_cid: null,
      is_in_db: null,
      featured_in_int_id: null,
      biography: [],
      components_internal_ids: null,
      model: 'Манипулятор М1',
      date: '2024-03-01T10:00:00.000Z',
      type: 'manipulator',
      parential_unit: null,
      serial_number: null,
      status: 'production',
      txn_hash: null,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
  });

  it('returns not_found for an unknown internal_id', async () => {
    const res = await t.call('/passport/get', { internal_id: nextInternalId() });
    expectError(res, 404, 'not_found', expect.stringContaining('no passport with internal_id') as unknown as string, [
      { field: 'internal_id', messages: ['no passport with this internal_id'] },
    ]);
  });

  it('returns invalid_params for a wrong check digit', async () => {
    const res = await t.call('/passport/get', { internal_id: withWrongCheckDigit(nextInternalId()) });
    expectError(res, 400, 'invalid_params', `Invalid parameter internal_id: ${EAN}`, [{ field: 'internal_id', messages: [EAN] }]);
  });
});

describe('passport/update', () => {
  it('changes only the given fields', async () => {
    const id = await createPassport(t, { passport_short_url: 'https://s/1' });
    const res = await t.call('/passport/update', { internal_id: id, model: 'М2', type: 'sensor' });
    expect(res.status).toBe(200);
    expect(await storedPassport(t, id)).toMatchObject({
      model: 'М2',
      type: 'sensor',
      passport_short_url: 'https://s/1',
      status: 'production',
    });
  });

  it('removes an optional field given as null', async () => {
    const id = await createPassport(t, { passport_short_url: 'https://s/2' });
    await t.call('/passport/update', { internal_id: id, passport_short_url: null });
    expect(await storedPassport(t, id)).not.toHaveProperty('passport_short_url');
  });

  for (const field of ['uuid', 'is_in_db', 'featured_in_int_id', 'status']) {
    it(`refuses to change ${field}, naming it`, async () => {
      const id = await createPassport(t);
      const res = await t.call('/passport/update', { internal_id: id, model: 'x', [field]: field === 'is_in_db' ? true : 'built' });
      expectError(res, 400, 'invalid_params', `Invalid parameter ${field}: is not a known param`, [
        { field, messages: ['is not a known param'] },
      ]);
    });
  }

  it('returns conflict on an approved passport (it is being published)', async () => {
    const id = await createBuilt(t);
    await t.db.collection('passport').updateOne({ internal_id: id }, { $set: { status: 'approved' } });
    const res = await t.call('/passport/update', { internal_id: id, model: 'x' });
    expectError(
      res,
      409,
      'conflict',
      'passport status is "approved"; update needs production or built or revision',
      [{ field: 'status', messages: ['is "approved"'] }],
      '当前状态不允许此操作',
    );
  });

  it('returns not_found for an unknown passport', async () => {
    const res = await t.call('/passport/update', { internal_id: nextInternalId(), model: 'x' });
    expect({ status: res.status, code: res.body.error.code }).toEqual({ status: 404, code: 'not_found' });
  });
});

describe('passport/add_stage', () => {
  it('appends a stage under a generated id, answering that id', async () => {
    const id = await createBuilt(t, ['a']);
    const res = await t.call('/passport/add_stage', {
      internal_id: id,
      stage: { name: 'Упаковка', session_end_time: '2024-05-02T10:00:00Z' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ _id: expect.stringMatching(HEX_ID), stage_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
    const doc = await storedPassport(t, id);
    expect(doc?.biography).toEqual([
      { id: 'a', name: 'stage a', employee_name: 'Иванов' },
      { id: res.body.stage_id, name: 'Упаковка', session_end_time: new Date('2024-05-02T10:00:00Z') },
    ]);
  });

  it('returns conflict for a repeated stage id', async () => {
    const id = await createBuilt(t, ['a']);
    const res = await t.call('/passport/add_stage', { internal_id: id, stage: { id: 'a', name: 'again' } });
    expectError(
      res,
      409,
      'conflict',
      `passport ${id} already has a stage a`,
      [{ field: 'stage.id', messages: ['is already a stage of this passport'] }],
      '阶段ID重复',
    );
  });

  it('returns conflict on a finalized passport', async () => {
    const id = await createBuilt(t);
    await t.db.collection('passport').updateOne({ internal_id: id }, { $set: { status: 'finalized' } });
    const res = await t.call('/passport/add_stage', { internal_id: id, stage: { name: 'late' } });
    expectError(
      res,
      409,
      'conflict',
      'passport status is "finalized"; add_stage needs production or built or revision',
      [{ field: 'status', messages: ['is "finalized"'] }],
      '当前状态不允许此操作',
    );
  });
});

describe('passport/update_serial', () => {
  it('moves a passport in production to built by setting its serial number', async () => {
    const id = await createPassport(t);
    const res = await t.call('/passport/update_serial', { internal_id: id, serial_number: 'SN-1' });
    expect(res.status).toBe(200);
    expect(await storedPassport(t, id)).toMatchObject({ serial_number: 'SN-1', status: 'built' });
  });

  it('keeps the status of a passport in revision', async () => {
    const id = await createBuilt(t, ['a']);
    await t.call('/passport/mark_revision', { internal_id: id, stage_ids: ['a'] });
    await t.call('/passport/update_serial', { internal_id: id, serial_number: 'SN-2' });
    expect(await storedPassport(t, id)).toMatchObject({ serial_number: 'SN-2', status: 'revision' });
  });

  it('returns conflict naming serial_number when another passport has it', async () => {
    const id = await createPassport(t, { serial_number: 'SN-TAKEN' });
    const other = await createPassport(t);
    const res = await t.call('/passport/update_serial', { internal_id: other, serial_number: 'SN-TAKEN' });
    expectError(
      res,
      409,
      'conflict',
      'Duplicate value for serial_number',
      [{ field: 'serial_number', messages: ['is already taken'] }],
      'serial_number 的值已被占用，违反唯一约束',
    );
    expect((await storedPassport(t, id))?.serial_number).toBe('SN-TAKEN');
  });

  it('returns conflict on an approved passport', async () => {
    const id = await createBuilt(t);
    await t.db.collection('passport').updateOne({ internal_id: id }, { $set: { status: 'approved' } });
    const res = await t.call('/passport/update_serial', { internal_id: id, serial_number: 'SN-3' });
    expectError(
      res,
      409,
      'conflict',
      'passport status is "approved"; update_serial needs production or built or revision',
      [{ field: 'status', messages: ['is "approved"'] }],
      '当前状态不允许此操作',
    );
  });
});

describe('passport/mark_delete', () => {
  it('hides a deleted passport from every read (get, find, types)', async () => {
    const id = await createPassport(t, { type: 'only-deleted-type' });
    const res = await t.call('/passport/mark_delete', { internal_id: id });
    expect(res.body).toEqual({ ok: true });
    expect((await t.call('/passport/get', { internal_id: id })).status).toBe(404);
    expect((await t.call('/passport/find', { type__in: ['only-deleted-type'] })).body._meta.result_count).toBe(0);
    expect((await t.call('/passport/types', {})).body.data).not.toContain('only-deleted-type');
  });

  it('returns not_found the second time', async () => {
    const id = await createPassport(t);
    await t.call('/passport/mark_delete', { internal_id: id });
    expect((await t.call('/passport/mark_delete', { internal_id: id })).status).toBe(404);
  });
});
