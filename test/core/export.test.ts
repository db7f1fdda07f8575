import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../helpers/bodies.js';
import { AUTH, startTestService, type TestService } from '../helpers/service.js';
import { download, readSheet } from '../helpers/xlsx.js';

let t: TestService;
let groupId: string;
const accounts: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestService();
  groupId = (await t.call('/group/create', { name: '后端组' })).body._id as string;
  for (const [name, state, phone] of [
    ['王五', 100, '1001'],
    ['Alice', 200, '1002'],
    ['张三', 100, '1003'],
    ['Bob', 100, '1004'],
  ] as const) {
    const res = await t.call('/account/create', { name, state, phone, ...(name === 'Bob' ? {} : { group_id: groupId }) });
    accounts[name] = res.body._id as string;
  }
});
afterAll(async () => {
  await t.close();
});

function exportAccounts(body: object) {
  return download(supertest(t.app).post('/account/export').set(AUTH).send(body));
}

describe('<resource>/export from std.find', () => {
  it('exports every row find would answer (same filters, same sort), columns from the result schema', async () => {
    const res = await exportAccounts({ state: 100, _sort: 'name' });
    expect(res.status).toBe(200);
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="account-\d{8}-\d{6}\.xlsx"$/);
    expect(await readSheet(res.body as Buffer)).toEqual([
      ['id', '用户名称', 'group_info'],
      [accounts.Bob, 'Bob'], // no group: the empty last cell is not stored
      [accounts.张三, '张三', '后端组'],
      [accounts.王五, '王五', '后端组'],
    ]);
  });

  it('exports more rows than a find page holds', async () => {
    const docs = Array.from({ length: 1200 }, (_, i) => ({ name: `bulk${i}`, state: 200, phone: `2${String(i).padStart(6, '0')}` }));
    for (let i = 0; i < docs.length; i += 600)
      expect((await t.call('/account/batch_create', { docs: docs.slice(i, i + 600) })).status).toBe(200);
    const rows = await readSheet((await exportAccounts({ name__icontains: 'bulk' })).body as Buffer);
    expect(rows.length).toBe(1201);
    expect(rows[1]?.[1]).toBe('bulk1199');
  });

  it('does not take paging: _meta is an unknown param', async () => {
    expectError(
      await t.call('/account/export', { _meta: { page: 2 } }),
      400,
      'invalid_params',
      'Invalid parameter _meta: is not a known param',
      [{ field: '_meta', messages: ['is not a known param'] }],
    );
  });

  it('answers a bad _sort with the JSON error', async () => {
    expectError(
      await t.call('/account/export', { _sort: 'phone' }),
      400,
      'invalid_params',
      'Invalid parameter _sort: cannot sort by "phone" (sortable: name, _id, created_at)',
      [{ field: '_sort', messages: ['cannot sort by "phone" (sortable: name, _id, created_at)'] }],
    );
  });
});
