import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCallerFactory, type InProcessCall } from '../../src/core/caller.js';
import { ApiError } from '../../src/core/errors.js';
import { startTestService, type TestService } from '../helpers/service.js';

// Param and shaping behaviour through the action table, without HTTP (issue 9 item 8); transport stays in HTTP tests.
let t: TestService;
let call: InProcessCall;
let groupId: ObjectId;
beforeAll(async () => {
  t = await startTestService();
  call = createCallerFactory(t.service.actions, t.db, t.logger, t.service.services)();
  groupId = new ObjectId();
  const now = new Date();
  await t.db.collection('group').insertOne({ _id: groupId, name: '后端组', state: 100, created_at: now, updated_at: now });
});
afterAll(async () => {
  await t.close();
});

async function refusal(promise: Promise<unknown>): Promise<{ code: string; reason: string | undefined; fields: unknown }> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  const { code, reason, fields } = err as ApiError;
  return { code, reason, fields };
}

describe('the in-process caller', () => {
  it('answers account/get shaped by account_detail, group_info loaded', async () => {
    const { _id } = (await call('account/create', { name: '憨憨', phone: '13900000001', state: 100, group_id: groupId.toHexString() })) as {
      _id: string;
    };
    expect(await call('account/get', { _id })).toEqual({ _id, name: '憨憨', group_info: { _id: groupId.toHexString(), name: '后端组' } });
  });

  it('converts params: a malformed _id is invalid_params naming _id', async () => {
    expect(await refusal(call('account/get', { _id: 'nope' }))).toEqual({
      code: 'invalid_params',
      reason: 'invalid_param',
      fields: [{ field: '_id', messages: ['must be an ObjectId (24 hex characters)'] }],
    });
  });

  it('refuses an unknown param of find, listing its filters', async () => {
    const hint = 'is not a known param (filters: name, name__icontains, state, state__in, group_id; also _meta, _sort)';
    expect(await refusal(call('account/find', { phone: '1' }))).toEqual({
      code: 'invalid_params',
      reason: 'invalid_param',
      fields: [{ field: 'phone', messages: [hint] }],
    });
  });

  it('shapes find rows to exactly {_id, name}', async () => {
    const page = (await call('account/find', { name: '憨憨' })) as { _meta: unknown; data: unknown[] };
    expect(page._meta).toEqual({ has_more: false, page: 1, page_size: 30, result_count: 1 });
    expect(page.data).toEqual([{ _id: expect.any(String), name: '憨憨' }]);
  });

  it('answers unknown_action for an action the table does not have', async () => {
    expect(await refusal(call('account/nothing'))).toEqual({ code: 'unknown_action', reason: 'unknown_action', fields: undefined });
  });
});
