/**
 * `npm run bench:counts`: what a page of `account/find` costs the database as the collection grows, per count policy
 * (docs/counts.md), on both embedded backends (mongo-java-server in memory and on an H2 file) or on MONGODB_URL.
 *
 * One collection of accounts with account's declared indexes is grown to each size (default 1k, 10k, 100k); at each
 * size every case runs `findPage` — the code `account/find` runs — page 1 of 30, sorted `-_id`, unfiltered and
 * filtered by `group_id`, under each policy, plus the unique-index `findOne` as the floor. Per case: the median
 * wall time of a page and the database server's CPU per page (user + system of its process, from /proc).
 *
 * Env: BENCH_STORAGES (`memory,file`), BENCH_SIZES (`1000,10000,100000`), BENCH_PAGES (pages per case, default 20),
 * BENCH_CASE_SECONDS (at most this long per case, default 15). MONGODB_URL: that server instead (storage "external").
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Collection, type Document, MongoClient, ObjectId } from 'mongodb';
import type { CountPolicy } from '../src/core/count-policy.js';
import { findPage } from '../src/core/paging.js';
import account from '../src/resources/account/index.js';
import { processCpuMs } from './proc-stats.js';
import { provisionBenchDatabase } from './database.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STORAGES = (process.env.BENCH_STORAGES ?? 'memory,file').split(',') as Array<'memory' | 'file'>;
const SIZES = (process.env.BENCH_SIZES ?? '1000,10000,100000').split(',').map(Number);
const PAGES = Number(process.env.BENCH_PAGES ?? 20);
const CASE_SECONDS = Number(process.env.BENCH_CASE_SECONDS ?? 15);
const GROUPS = 20;
const INSERT_BATCH = 5000;

const POLICIES: Array<[string, CountPolicy]> = [
  ['exact', 'exact'],
  ['cap 1000', { cap: 1000 }],
  ['estimated', 'estimated'],
  ['none', 'none'],
];

interface Row {
  storage: string;
  size: number;
  query: string;
  policy: string;
  pages: number;
  medianMs: number;
  dbCpuMsPerPage: number | undefined;
}

function accountAt(i: number, groups: ObjectId[], now: Date): Document {
  return {
    _id: new ObjectId(),
    name: `用户${i}`,
    phone: `1${String(i).padStart(10, '0')}`,
    state: i % 10 === 0 ? 200 : 100,
    group_id: groups[i % groups.length],
    created_at: now,
    updated_at: now,
  };
}

/** Runs one case until PAGES pages or CASE_SECONDS; the median page and the server's CPU per page. */
async function measure(
  pid: number | undefined,
  run: () => Promise<unknown>,
): Promise<{ pages: number; medianMs: number; cpu: number | undefined }> {
  await run();
  await run();
  const times: number[] = [];
  const cpuBefore = processCpuMs(pid);
  const deadline = Date.now() + CASE_SECONDS * 1000;
  while (times.length < PAGES && (times.length < 3 || Date.now() < deadline)) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  const cpuAfter = processCpuMs(pid);
  times.sort((a, b) => a - b);
  const cpu = cpuBefore === undefined || cpuAfter === undefined ? undefined : (cpuAfter - cpuBefore) / times.length;
  return { pages: times.length, medianMs: times[Math.floor(times.length / 2)] as number, cpu };
}

async function benchStorage(storage: 'memory' | 'file' | 'external', rows: Row[]): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'bench-counts-'));
  const database = await provisionBenchDatabase({ storage: storage === 'external' ? 'memory' : storage, dataDir: path.join(work, 'data') });
  const client = new MongoClient(database.url);
  const db = client.db(`bench_counts_${Date.now()}`);
  try {
    const accounts: Collection<Document> = db.collection('account');
    await accounts.createIndexes(account.indexes);
    const groups = Array.from({ length: GROUPS }, () => new ObjectId());
    const now = new Date();
    let stored = 0;
    for (const size of SIZES) {
      const insertStart = performance.now();
      while (stored < size) {
        const n = Math.min(INSERT_BATCH, size - stored);
        await accounts.insertMany(Array.from({ length: n }, (_, i) => accountAt(stored + i, groups, now)));
        stored += n;
      }
      process.stderr.write(`[bench] ${storage}: ${size} accounts (grown in ${((performance.now() - insertStart) / 1000).toFixed(1)} s)\n`);
      const pid = database.pid;
      const record = (query: string, policy: string, m: { pages: number; medianMs: number; cpu: number | undefined }) => {
        rows.push({ storage, size, query, policy, pages: m.pages, medianMs: m.medianMs, dbCpuMsPerPage: m.cpu });
        process.stderr.write(`[bench]   ${query} ${policy}: ${m.medianMs.toFixed(1)} ms, db cpu ${m.cpu?.toFixed(1) ?? '?'} ms/page\n`);
      };
      const phone = `1${String(Math.floor(size / 2)).padStart(10, '0')}`;
      const cases: Array<[string, string, () => Promise<unknown>]> = [
        ['findOne phone (unique index)', '—', () => accounts.findOne({ phone })],
      ];
      for (const [label, count] of POLICIES) {
        const page = (filter: Document, filtered: boolean) => () =>
          findPage(
            accounts,
            { ...filter, deleted_at: null },
            { page: 1, limit: 30, sort: { _id: -1 }, projection: { _id: 1, name: 1 }, count, filtered },
          );
        cases.push(['find page 1, no filter', label, page({}, false)]);
        if (label !== 'estimated') cases.push(['find page 1, group_id =', label, page({ group_id: groups[3] }, true)]);
      }
      // every case once before any is measured, so the first one does not pay for the server's warm-up alone
      for (const [, , run] of cases) await run();
      for (const [query, policy, run] of cases) record(query, policy, await measure(pid, run));
    }
  } finally {
    await client.close();
    await database.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const load = loadavg()[0]?.toFixed(1);
  const storages = process.env.MONGODB_URL ? (['external'] as const) : STORAGES;
  for (const storage of storages) await benchStorage(storage, rows);
  const lines = [
    `load average at start: ${load}, at end: ${loadavg()[0]?.toFixed(1)}`,
    '| backend | accounts | query | count policy | median ms/page | db CPU ms/page |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.storage} | ${r.size.toLocaleString('en')} | ${r.query} | ${r.policy} | ${r.medianMs.toFixed(1)} | ${r.dbCpuMsPerPage?.toFixed(1) ?? '—'} |`,
    ),
  ];
  console.log(lines.join('\n'));
  const out = path.join(root, 'bench', 'results', `counts-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  try {
    writeFileSync(out, JSON.stringify({ load, rows }, null, 2));
  } catch {
    // bench/results may not exist on a fresh clone; the table above is the result
  }
}

await main();
