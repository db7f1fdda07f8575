import { mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDuration } from '../../src/import/progress.js';
import { childEnv, killSpawned, spawnProcess } from '../helpers/processes.js';
import { startTestService, TEST_KEY, type TestService } from '../helpers/service.js';

let t: TestService;
let server: Server;
let url: string;
const dir = mkdtempSync(path.join(tmpdir(), 'import-progress-'));
let phone = 7_500_000;

beforeAll(async () => {
  t = await startTestService();
  // a slow network in front of the real service, so an import of a few rows lasts long enough to draw several frames
  const front = express();
  front.use((_req, _res, next) => setTimeout(next, 400));
  front.use(t.app);
  server = front.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  killSpawned();
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

/** A JSON Lines file of `count` accounts, the rows at `bad` without a phone. */
function accounts(name: string, count: number, bad: number[] = []): string {
  const rows = Array.from({ length: count }, (_, i) =>
    JSON.stringify(bad.includes(i) ? { name: `p${i}`, state: 100 } : { name: `p${i}`, phone: String(phone++), state: 100 }),
  );
  const file = path.join(dir, name);
  writeFileSync(file, rows.join('\n'));
  return file;
}

/** The import CLI under a pseudo-terminal of 80 columns (util-linux `script`), and everything the terminal got. */
async function importOnTerminal(file: string, args: string[]): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, '--import', 'tsx', 'src/cli.ts', 'import', 'account', file, '--url', url, ...args]
    .map((word) => `'${word}'`)
    .join(' ');
  const child = spawnProcess('script', ['-qfec', `stty cols 80 rows 24; ${command}`, '/dev/null'], childEnv({ API_KEY: TEST_KEY.secret }));
  const { code } = await child.exited;
  return { code, output: child.output() };
}

const FRAME = /^import \|([█░]+)\| (\d+)\/(\d+) rows \| (\d+) rows\/s \| ETA (\?|\d+s|\d+m\d\ds|\d+h\d\dm) \| errors (\d+)$/;
const PLAIN = /^import: (\d+)\/(\d+) rows, (\d+) rows\/s, ETA (\?|\d+s|\d+m\d\ds|\d+h\d\dm), (\d+) errors$/;

/** The bar's frames: cli-progress starts each at column 1 (CSI 1G) and clears what is left of the line (CSI 0K). */
function framesOf(output: string): string[] {
  return output
    .split('\u001b[1G')
    .slice(1)
    .map((part) => part.split('\u001b[0K')[0] as string);
}

describe('import progress on a terminal', () => {
  let code: number | null;
  let output: string;
  let frames: string[];
  beforeAll(async () => {
    // 12 rows in 6 calls of 2, one at a time, the 6th row refused (no phone)
    ({ code, output } = await importOnTerminal(accounts('tty.jsonl', 12, [5]), ['--batch', '2', '--concurrency', '1']));
    frames = framesOf(output);
  }, 120_000);

  it('draws frames of rows done/total, rows/s, ETA, errors, from 0 to every row', () => {
    expect(code).toBe(1);
    expect(frames.length).toBeGreaterThanOrEqual(3);
    for (const frame of frames) expect(frame).toMatch(FRAME);
    expect(frames[0]).toMatch(/\| 0\/12 rows \| 0 rows\/s \| ETA \? \| errors 0$/);
    expect(frames.at(-1)).toMatch(/^import \|█{5,40}\| 12\/12 rows \| [1-9]\d* rows\/s \| ETA 0s \| errors 1$/);
  });

  it('counts up batch by batch, with the refused row in the errors from its batch on', () => {
    const parsed = frames.map((frame) => FRAME.exec(frame) as RegExpExecArray);
    const done = parsed.map((m) => Number(m[2]));
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(done.some((n) => n > 0 && n < 12)).toBe(true);
    for (const m of parsed) expect(Number(m[6])).toBe(Number(m[2]) >= 6 ? 1 : 0);
    // a known rate gives a known ETA: only the first frame has none
    for (const m of parsed.slice(1)) expect(m[5]).not.toBe('?');
  });

  it('fits every frame in an 80-column terminal (the errors count was cut off at the right edge)', () => {
    for (const frame of frames) expect([...frame].length).toBeLessThanOrEqual(80);
  });

  it('writes no plain progress lines', () => {
    expect(output).not.toMatch(/^import: /m);
  });

  it('writes the summary after the bar', () => {
    expect(output).toMatch(/\r\nimported 11 of 12 rows: 11 created, 0 already there; 1 refused \(see .*tty\.jsonl\.errors\.jsonl\)\r\n$/);
  });
});

describe('import progress without a terminal', () => {
  it('prints a plain line every 2 s, then one at the end, without terminal control codes', async () => {
    // 20 rows in 10 calls of at least 400 ms each: more than 4 s, so at least two timed lines before the last
    const file = accounts('plain.jsonl', 20, [0]);
    const child = spawnProcess(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'import', 'account', file, '--url', url, '--batch', '2', '--concurrency', '1'],
      childEnv({ API_KEY: TEST_KEY.secret }),
    );
    const { code } = await child.exited;
    const output = child.output();
    expect(code).toBe(1);
    expect([output.includes('\r'), output.includes('\u001b')]).toEqual([false, false]);
    const lines = output.split('\n').filter((line) => line.startsWith('import: '));
    expect(lines.length).toBeGreaterThanOrEqual(3);
    const parsed = lines.map((line) => PLAIN.exec(line) as RegExpExecArray);
    for (const [i, m] of parsed.entries()) expect(m, lines[i]).not.toBeNull();
    const done = parsed.map((m) => Number(m[1]));
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(lines.at(-1)).toMatch(/^import: 20\/20 rows, [1-9]\d* rows\/s, ETA 0s, 1 errors$/);
  }, 120_000);
});

describe('formatDuration', () => {
  it('writes seconds, minutes with seconds, hours with minutes', () => {
    expect([0.4, 42, 60, 185, 3600, 7625].map(formatDuration)).toEqual(['0s', '42s', '1m00s', '3m05s', '1h00m', '2h07m']);
  });
});
