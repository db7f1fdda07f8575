import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_DIR } from '../../src/service.js';
import { startTestService, type TestService } from '../helpers/service.js';

// The service watches a copy of result-schemas/ and is edited under its feet, as a schema author would.
let t: TestService;
let dir: string;
let accountId: string;
const accountYaml = () => path.join(dir, 'account.yaml');

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'schemas-reload-'));
  cpSync(SCHEMA_DIR, dir, { recursive: true });
  t = await startTestService({ schemaDir: dir, watchSchemas: true });
  const created = await t.call('/account/create', { name: '张三', phone: '13800000000', state: 100 });
  accountId = created.body._id;
});
afterAll(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('result schema hot reload', () => {
  it('answers with a field added to the YAML, without a restart', async () => {
    const source = readFileSync(accountYaml(), 'utf8');
    writeFileSync(
      accountYaml(),
      source.replace("      note: '用户名称'\n    group_info:", "      note: '用户名称'\n    phone:\n      type: string\n    group_info:"),
    );
    const body = await until(async () => {
      const res = await t.call('/account/get', { _id: accountId });
      return 'phone' in res.body ? res.body : undefined;
    }, 'account/get to show phone');
    expect(body).toEqual({ _id: accountId, name: '张三', phone: '13800000000', group_info: null });
  });

  it('refuses a broken edit: the last good schemas keep serving, its problems logged', async () => {
    const broken = `${readFileSync(accountYaml(), 'utf8')}\nbroken_schema:\n  meta: object_result\n  data:\n    n: {type: strng}\n`;
    writeFileSync(accountYaml(), broken);
    const line = broken.split('\n').indexOf('    n: {type: strng}') + 1;
    const logged = await until(
      () => t.logs.find((l) => String(l.msg).startsWith('result schemas not reloaded')),
      'the problems in the log',
    );
    expect(logged.problems).toEqual([
      `${accountYaml()}:${line}:15: broken_schema.n: unknown type "strng" (allowed: object_id, string, int, float, bool, datetime, date, list, object, object_ref)`,
    ]);
    const res = await t.call('/account/get', { _id: accountId });
    expect({ status: res.status, body: res.body }).toEqual({
      status: 200,
      body: { _id: accountId, name: '张三', phone: '13800000000', group_info: null },
    });
  });
});
