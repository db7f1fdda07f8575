import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, createClient, type AccountFindDetailResult, type Api } from '../../client/index.js';
import { renderClient } from '../../src/client-gen/render-client.js';
import { TEST_KEY, startTestService, type TestService } from '../helpers/service.js';

// The generated client against the real service over HTTP: what a calling service would write.
let t: TestService;
let server: Server;
let api: Api;
let baseUrl: string;

beforeAll(async () => {
  t = await startTestService();
  server = await new Promise<Server>((resolve) => {
    const s = t.app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  api = createClient({ baseUrl, apiKey: TEST_KEY.secret });
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

async function failure(call: Promise<unknown>): Promise<ApiError> {
  const error = await call.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(error)}`);
  return error;
}

describe('the generated client', () => {
  it('is what the declarations generate (run `npm run client` after changing an action or a schema)', () => {
    const committed = readFileSync(path.resolve(import.meta.dirname, '..', '..', 'client', 'index.ts'), 'utf8');
    expect(committed).toBe(renderClient(t.service.actions));
  });

  it('round-trips records through typed params to a typed page (create, then find_detail)', async () => {
    const group = await api.group.create({ name: '后端组' });
    const account = await api.account.create({ name: '张三', phone: '13800000002', state: 100, group_id: group._id as string });
    // @ts-expect-error state is enum<int>(100,200): a typo is a compile error
    await api.account.find({ state: 300 }).catch(() => undefined);
    const page: AccountFindDetailResult = await api.account.find_detail({ state: 100, _meta: { limit: 10 } });
    expect(page).toEqual({
      _meta: { has_more: false, page: 1, page_size: 10, result_count: 1 },
      data: [{ _id: account._id, name: '张三', group_info: { _id: group._id, name: '后端组' } }],
    });
  });

  it('throws ApiError with code, status, request_id for a record that does not exist', async () => {
    const error = await failure(api.account.get({ _id: '000000000000000000000000' }));
    expect({
      code: error.code,
      status: error.status,
      message: error.message,
      fields: error.fields,
      request_id: typeof error.request_id,
    }).toEqual({
      code: 'not_found',
      status: 404,
      message: 'account 000000000000000000000000 not found',
      fields: [],
      request_id: 'string',
    });
  });

  it('throws ApiError naming the fields of invalid params', async () => {
    const error = await failure(api.account.create({ name: '', phone: '13800000003', state: 100 }));
    expect({ code: error.code, status: error.status, fields: error.fields }).toEqual({
      code: 'invalid_params',
      status: 400,
      fields: [{ field: 'name', messages: ['must be at least 1 character'] }],
    });
  });

  it('throws unauthorized without a valid key', async () => {
    const error = await failure(createClient({ baseUrl, apiKey: 'wrong' }).group.find());
    expect({ code: error.code, status: error.status }).toEqual({ code: 'unauthorized', status: 401 });
  });
});
