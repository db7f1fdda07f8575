import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv, killSpawned, spawnProcess } from '../helpers/processes.js';
import { startTestService, TEST_KEY, type TestService } from '../helpers/service.js';

let t: TestService;
let server: Server;
let url: string;
const dir = mkdtempSync(path.join(tmpdir(), 'import-test-'));
let phone = 7_000_000;
const nextPhone = () => String(phone++);

beforeAll(async () => {
  t = await startTestService();
  server = t.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  killSpawned();
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

/** Runs `npm run cli -- import ...` (the CLI's source through tsx) against the test service. */
function importCli(args: string[]) {
  return spawnProcess(
    process.execPath,
    ['--import', 'tsx', 'src/cli.ts', 'import', ...args, '--url', url],
    childEnv({ API_KEY: TEST_KEY.secret }),
  );
}

/** Runs the CLI to its end; `code` and `output` go together into every assertion, so a failure shows what it printed. */
async function run(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = importCli(args);
  const { code } = await child.exited;
  return { code, output: `the CLI printed:\n${child.output()}` };
}

function errorsOf(file: string, output: string): unknown[] {
  const errorsFile = `${file}.errors.jsonl`;
  if (!existsSync(errorsFile)) throw new Error(`no ${errorsFile}; ${output}`);
  return readFileSync(errorsFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as unknown);
}

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

function stockIn(i: number, extra: Record<string, unknown> = {}) {
  return {
    station_id: 'T1',
    batch_id: `B${i}`,
    receipt_id: `RK${i}`,
    name: '苹果',
    ware_category_1_name: 'C1',
    ware_category_2_name: 'K1',
    ware_category_3_name: 'W1',
    ware_category_4_name: 'T1',
    operate_date: '2017-10-22 10:22:35',
    in_count: i,
    creator_id: 1,
    creator_name: 'superman',
    ...extra,
  };
}

describe('npm run cli -- import', () => {
  it('imports JSON Lines, listing every refused line with its field, message', async () => {
    const [a, b, taken] = [nextPhone(), nextPhone(), nextPhone()];
    await t.call('/account/create', { name: 'there', phone: taken, state: 100 });
    const file = write(
      'accounts.jsonl',
      [
        JSON.stringify({ name: 'a', phone: a, state: 100 }),
        '{"name": "broken",',
        JSON.stringify({ name: 'no phone', state: 100 }),
        '',
        JSON.stringify({ name: 'taken', phone: taken, state: 100 }),
        JSON.stringify({ name: 'b', phone: b, state: 250 }),
        JSON.stringify({ name: 'b2', phone: nextPhone(), state: 200 }),
      ].join('\n'),
    );
    const { code, output } = await run(['account', file, '--batch', '2']);
    expect(code, output).toBe(1);
    expect(output).toContain('imported 2 of 6 rows: 2 created, 0 already there; 4 refused');
    expect(errorsOf(file, output)).toEqual(
      expect.arrayContaining([
        { line: 2, field: '', message: 'is not valid JSON', code: 'unreadable' },
        { line: 3, field: 'phone', message: 'is required', code: 'invalid_params' },
        { line: 5, field: 'phone', message: 'is already taken', code: 'conflict' },
        { line: 6, field: 'state', message: 'must be one of 100, 200', code: 'invalid_params' },
      ]),
    );
    expect(errorsOf(file, output)).toHaveLength(4);
    expect(await t.db.collection('account').countDocuments({ name: { $in: ['a', 'b2'] } })).toBe(2);
    expect(existsSync(`${file}.import-checkpoint.json`)).toBe(false);
  });

  it('imports CSV typed by the declaration (ints, datetimes), naming bad rows by line', async () => {
    const header =
      'station_id,batch_id,receipt_id,name,ware_category_1_name,ware_category_2_name,ware_category_3_name,ware_category_4_name,operate_date,in_count,creator_id,creator_name';
    const file = write(
      'stock.csv',
      [
        header,
        'T1,CSV-1,RK1,"苹果, 红",C1,K1,W1,T1,2017-10-22 10:22:35,20,1,superman',
        'T1,CSV-2,RK2,梨,C1,K1,W1,T1,2017-10-22T18:00:00+08:00,abc,1,superman',
        'T1,CSV-3,RK3,"多行\n名字",C1,K1,W1,T1,2017-10-23,30,2,superman',
        'T1,CSV-4,RK4,桃,C1,K1,W1,T1,not a date,40,2,superman',
      ].join('\n'),
    );
    const { code, output } = await run(['stock_in', file]);
    expect(code, output).toBe(1);
    expect(errorsOf(file, output)).toEqual([
      { line: 3, field: 'in_count', message: 'must be an integer', code: 'invalid_params' },
      {
        line: 6,
        field: 'operate_date',
        message: 'must be a date-time such as 2024-05-01T08:00:00Z or 2024-05-01 08:00:00',
        code: 'invalid_params',
      },
    ]);
    const stored = await t.db
      .collection('stock_in')
      .find({ batch_id: { $in: ['CSV-1', 'CSV-3'] } })
      .sort({ batch_id: 1 })
      .toArray();
    expect(stored.map((d) => [d.name, d.in_count, d.operate_date])).toEqual([
      ['苹果, 红', 20, new Date('2017-10-22T10:22:35Z')],
      ['多行\n名字', 30, new Date('2017-10-23T00:00:00Z')],
    ]);
  });

  it('imports the first sheet of an xlsx file (number, date cells), naming bad rows by row', async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('入库');
    sheet.addRow(Object.keys(stockIn(0)));
    sheet.addRow(Object.values(stockIn(1, { batch_id: 'X-1', operate_date: new Date('2017-10-24T08:30:00Z') })));
    sheet.addRow(Object.values(stockIn(2, { batch_id: 'X-2', creator_id: -5 })));
    sheet.addRow(Object.values(stockIn(3, { batch_id: 'X-3', in_count: 7 })));
    workbook.addWorksheet('ignored').addRow(['station_id']);
    const file = path.join(dir, 'stock.xlsx');
    await workbook.xlsx.writeFile(file);
    const { code, output } = await run(['stock_in', file]);
    expect(code, output).toBe(1);
    expect(errorsOf(file, output)).toEqual([{ row: 3, field: 'creator_id', message: 'must be >= 0', code: 'invalid_params' }]);
    const stored = await t.db
      .collection('stock_in')
      .find({ batch_id: { $in: ['X-1', 'X-3'] } })
      .sort({ batch_id: 1 })
      .toArray();
    expect(stored.map((d) => [d.batch_id, d.in_count, d.operate_date])).toEqual([
      ['X-1', 1, new Date('2017-10-24T08:30:00Z')],
      ['X-3', 7, new Date('2017-10-22T10:22:35Z')],
    ]);
  });

  it('counts unique conflicts as imported with --skip-existing, exiting 0', async () => {
    const rows = [nextPhone(), nextPhone()].map((p) => JSON.stringify({ name: 'skip', phone: p, state: 100 }));
    const file = write('skip.jsonl', rows.join('\n'));
    const first = await run(['account', file]);
    expect(first.code, first.output).toBe(0);
    const again = await run(['account', file, '--skip-existing']);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toContain('imported 2 of 2 rows: 0 created, 2 already there; 0 refused');
    expect(await t.db.collection('account').countDocuments({ name: 'skip' })).toBe(2);
  });

  it('resumes a killed import (SIGKILL) without creating any row twice', async () => {
    const total = 6000;
    const file = write(
      'big.jsonl',
      Array.from({ length: total }, (_, i) => JSON.stringify(stockIn(i, { batch_id: `KILL-${i}` }))).join('\n'),
    );
    const checkpoint = `${file}.import-checkpoint.json`;
    const first = importCli(['stock_in', file, '--batch', '100', '--concurrency', '3']);
    // kill it once some batches are confirmed, while others are in flight
    for (let i = 0; i < 600; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (existsSync(checkpoint) && (JSON.parse(readFileSync(checkpoint, 'utf8')) as { confirmed_below: number }).confirmed_below >= 10)
        break;
    }
    first.child.kill('SIGKILL');
    await first.exited;
    const before = await t.db.collection('stock_in').countDocuments({ batch_id: /^KILL-/ });
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(total);

    const plain = await run(['stock_in', file, '--batch', '100']);
    expect(plain.code, plain.output).toBe(2); // a checkpoint exists: --resume or delete it
    const resumed = await run(['stock_in', file, '--batch', '100', '--concurrency', '3', '--resume']);
    expect(resumed.code, resumed.output).toBe(0);
    expect(resumed.output).toMatch(/imported 6000 of 6000 rows: \d+ created, \d+ already there, \d+ from the earlier run; 0 refused/);
    expect(await t.db.collection('stock_in').countDocuments({ batch_id: /^KILL-/ })).toBe(total);
    const distinct = await t.db.collection('stock_in').distinct('batch_id', { batch_id: /^KILL-/ });
    expect(distinct).toHaveLength(total);
    expect(existsSync(checkpoint)).toBe(false);
  }, 120_000);

  it('prints plain progress lines when stderr is not a terminal', async () => {
    const file = write('progress.jsonl', JSON.stringify({ name: 'p', phone: nextPhone(), state: 100 }));
    const { output } = await run(['account', file]);
    expect(output).toMatch(/^import: 1\/1 rows, \d+ rows\/s, ETA 0s, 0 errors$/m);
  });

  it('exits 3 naming the reason, not 1 without an errors file, when the xlsx file cannot be read', async () => {
    const file = write('broken.xlsx', 'this is not a zip file');
    const { code, output } = await run(['stock_in', file]);
    expect(code, output).toBe(3);
    expect(output).toContain(`import stopped: cannot read ${file}: `);
    expect(output).toContain('no row was sent');
    expect(existsSync(`${file}.import-checkpoint.json`)).toBe(false); // nothing to resume
  });

  it('exits 2 with the usage for a resource without batch_create', async () => {
    const file = write('x.jsonl', '{}');
    const { code, output } = await run(['wallet', file]);
    expect(code, output).toBe(2);
    expect(output).toContain('resource "wallet" has no batch_create');
  });
});
