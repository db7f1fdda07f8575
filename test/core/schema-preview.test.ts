import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT, childEnv } from '../helpers/processes.js';
import { startTestService, type TestService } from '../helpers/service.js';

// `schemas preview` is run as a user would, against records the service created in this file's database.
const run = promisify(execFile);
let t: TestService;
let accountId: string;
let groupId: string;

beforeAll(async () => {
  t = await startTestService();
  groupId = (await t.call('/group/create', { name: '后端组' })).body._id;
  accountId = (await t.call('/account/create', { name: '张三', phone: '13800000001', state: 100, group_id: groupId })).body._id;
});
afterAll(async () => {
  await t.close();
});

function preview(...args: string[]) {
  const env = childEnv({ MONGODB_URL: inject('mongoUrl'), MONGODB_DB: t.db.databaseName, LOG_LEVEL: 'warn' });
  return run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'schemas', 'preview', ...args], { cwd: PROJECT_ROOT, env }).then(
    ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
}

describe('npm run cli -- schemas preview', () => {
  it('prints the shaped answer of a stored record, refs resolved', async () => {
    const out = await preview('account_detail', 'account', accountId);
    expect({ code: out.code, body: JSON.parse(out.stdout) }).toEqual({
      code: 0,
      body: { _id: accountId, name: '张三', group_info: { _id: groupId, name: '后端组' } },
    });
  });

  it('exits 1 naming a record that does not exist', async () => {
    const out = await preview('account_detail', 'account', '000000000000000000000000');
    expect(out).toEqual({ code: 1, stdout: '', stderr: 'no account 000000000000000000000000 in account\n' });
  });

  it('names the schemas it knows when the schema does not exist', async () => {
    const out = await preview('acount_detail', 'account', accountId);
    expect({ code: out.code, first: out.stderr.split('\n')[0] }).toEqual({
      code: 2,
      first: expect.stringMatching(/^no result schema "acount_detail" \(schemas: account_detail, /),
    });
  });
});
