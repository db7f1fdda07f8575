/**
 * `npm run bench:export`: the service's peak memory while it streams `stock_in/export` of each size in BENCH_SIZES
 * (default 10k, 100k, 300k rows), each from its own database in a fresh service process, so the peaks can be compared
 * in one run: memory that does not grow with the row count. Peak RSS is the kernel's VmHWM of the service process
 * (Linux); `growth` is each peak over the smallest size's. Also prints rows/s and the file size.
 * BENCH_NODE_ARGS (e.g. `--max-semi-space-size=8`): each size again with these node flags for the service process.
 * BENCH_STORAGE (memory by default here: seeding 100k rows into the H2 file takes minutes).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Db, MongoClient, ObjectId } from 'mongodb';
import { BENCH_KEY, startServiceChild } from './child.js';
import { provisionBenchDatabase } from './database.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SIZES = (process.env.BENCH_SIZES ?? '10000,100000,300000').split(',').map(Number);
const STORAGE = process.env.BENCH_STORAGE === 'file' ? 'file' : 'memory';
const DAY = 86_400_000;
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** Seeds `count` stock_in records spread over days from 2017-01-01, `batch` tag on each. */
async function seed(db: Db, count: number, batch: string): Promise<void> {
  const now = new Date();
  for (let start = 0; start < count; start += 5000) {
    const docs = Array.from({ length: Math.min(5000, count - start) }, (_, k) => {
      const i = start + k;
      return {
        _id: new ObjectId(),
        station_id: 'T7936',
        batch_id: `${batch}-${i}`,
        receipt_id: `RK${String(i).padStart(8, '0')}`,
        name: `商品${i % 500}`,
        ware_category_1_name: `仓库${i % 5}`,
        ware_category_2_name: `库区${i % 20}`,
        ware_category_3_name: `W${i % 100}`,
        ware_category_4_name: `T${i % 7}`,
        operate_date: new Date(Date.UTC(2017, 0, 1) + (i % 365) * DAY + (i % 86_400) * 1000),
        in_count: i % 1000,
        creator_id: i % 50,
        creator_name: `员工${i % 50}`,
        created_at: now,
        updated_at: now,
      };
    });
    await db.collection('stock_in').insertMany(docs, { ordered: false });
  }
}

/** Starts a service process, exports every row of `batch`, and reports its peak RSS and the transfer. */
async function exportOnce(url: string, dbName: string, expectRows: number, nodeArgs: string[]): Promise<Record<string, number | string>> {
  const { child: service, port } = await startServiceChild(root, url, dbName, nodeArgs);
  try {
    const rssKb = (field: string) =>
      Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${service.pid}/status`, 'utf8'))?.[1] ?? 0);
    const idle = rssKb('VmRSS');
    const start = process.hrtime.bigint();
    const res = await fetch(`http://127.0.0.1:${port}/stock_in/export`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${BENCH_KEY.secret}` },
      body: JSON.stringify({ start_date: '2000-01-01 00:00:00', end_date: '2100-01-01 00:00:00' }),
    });
    if (res.status !== 200 || !res.body) throw new Error(`export answered ${res.status}: ${await res.text()}`);
    let bytes = 0;
    for await (const chunk of res.body) bytes += (chunk as Uint8Array).byteLength;
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return {
      rows: expectRows,
      node_args: nodeArgs.join(' ') || 'none',
      idle_rss_mb: Math.round(idle / 1024),
      peak_rss_mb: Math.round(rssKb('VmHWM') / 1024),
      file_mb: Math.round((bytes / 1024 / 1024) * 10) / 10,
      rows_per_s: Math.round(expectRows / seconds),
    };
  } finally {
    service.stdin?.end();
  }
}

async function main(): Promise<void> {
  // mongo-java-server sorts every matching row before the first reply (300k: longer than the 5 s default bound on a
  // loaded machine); this bench measures memory, so the service children wait for it
  process.env.DB_TIMEOUT_MS ??= '120000';
  const work = mkdtempSync(path.join(tmpdir(), 'bench-export-'));
  const database = await provisionBenchDatabase({ storage: STORAGE, dataDir: work, log: () => {} });
  const client = new MongoClient(database.url);
  const names = SIZES.map((rows) => `bench_export_${rows}_${Date.now()}`);
  try {
    for (const [i, rows] of SIZES.entries()) await seed(client.db(names[i]), rows, `B${i}`);
    const results: Array<Record<string, number | string>> = [];
    for (const nodeArgs of NODE_ARGS.length > 0 ? [[], NODE_ARGS] : [[]]) {
      const runs: Array<Record<string, number | string>> = [];
      for (const [i, rows] of SIZES.entries()) runs.push(await exportOnce(database.url, names[i] as string, rows, nodeArgs));
      const base = Number(runs[0]?.peak_rss_mb);
      for (const run of runs) run.growth = `${Math.round((Number(run.peak_rss_mb) / base) * 100) / 100}x`;
      results.push(...runs);
    }
    process.stdout.write(`${JSON.stringify({ database: database.description, load: loadAverage(), exports: results }, null, 2)}\n`);
  } finally {
    for (const name of names)
      await client
        .db(name)
        .dropDatabase()
        .catch(() => undefined);
    await client.close();
    await database.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The 1-minute load average at the end, beside the figures (other work on the machine skews rows/s). */
function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:export failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
