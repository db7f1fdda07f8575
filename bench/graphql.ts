/**
 * `npm run bench:graphql`: the `accounts` list query at POST /graphql against POST /account/find answering the same
 * rows, on the same server process, in the same run. See bench/README.md ("GraphQL").
 *
 *  1. provisions a database (MONGODB_URL, else mongod on PATH, else the embedded mongo-java-server in memory)
 *  2. seeds 5 groups and 300 accounts through the driver (as bench/api.ts does)
 *  3. starts the service (bench/serve-service.ts, through tsx) in its own process
 *  4. checks that both requests give the same 30 rows (ids, names, and the count) and aborts otherwise
 *  5. measures both with autocannon, alternating find/graphql for BENCH_ROUNDS rounds, after a warm-up
 *  6. prints requests/s of each, the ratio graphql / find of each round and their median (a round's two runs are
 *     back to back, so a neighbour's load hits both alike more often than two means would), and writes
 *     bench/results/graphql-<date>.json
 *
 * Environment (optional): BENCH_DURATION (s, default 6), BENCH_WARMUP (s, default 3), BENCH_ROUNDS (default 6),
 * BENCH_CONNECTIONS (default 10), MONGODB_URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { MongoClient, ObjectId } from 'mongodb';
import { BENCH_KEY } from './child.js';
import { processCpuMs } from './proc-stats.js';
import { provisionBenchDatabase } from './database.js';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const projectRoot = path.resolve(benchDir, '..');
const DURATION_S = Number(process.env.BENCH_DURATION ?? 6);
const WARMUP_S = Number(process.env.BENCH_WARMUP ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const ROWS = 30;
const HEADERS = { authorization: `Bearer ${BENCH_KEY.secret}`, 'content-type': 'application/json', accept: 'application/json' };

const FIND = { path: '/account/find', body: JSON.stringify({ _meta: { page: 1, limit: ROWS } }) };
const GRAPHQL = { path: '/graphql', body: JSON.stringify({ query: `{ accounts { totalCount results(limit: ${ROWS}) { id name } } }` }) };

function log(message: string): void {
  process.stderr.write(`[bench:graphql] ${message}\n`);
}

async function seed(client: MongoClient, dbName: string): Promise<void> {
  const db = client.db(dbName);
  const groups = Array.from({ length: 5 }, (_, i) => ({
    _id: new ObjectId(),
    name: `group ${i + 1}`,
    state: 100,
    created_at: new Date(),
    updated_at: new Date(),
  }));
  await db.collection('group').insertMany(groups);
  const accounts = Array.from({ length: 300 }, (_, i) => ({
    _id: new ObjectId(),
    name: i % 3 === 0 ? `张三 ${i}` : `user-${String(i).padStart(4, '0')}`,
    phone: `1380000${String(i).padStart(4, '0')}`,
    state: 100,
    group_id: (groups[i % 5] as { _id: ObjectId })._id,
    created_at: new Date(),
    updated_at: new Date(),
  }));
  await db.collection('account').insertMany(accounts);
}

async function startService(url: string, dbName: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(benchDir, 'serve-service.ts')], {
    cwd: projectRoot,
    env: { ...process.env, BENCH_MONGODB_URL: url, BENCH_DB: dbName, NODE_ENV: 'production' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the service exited during startup (code ${code})`)));
  });
  return { child, port: (JSON.parse(line) as { port: number }).port };
}

async function post(port: number, target: { path: string; body: string }): Promise<unknown> {
  const response = await fetch(`http://127.0.0.1:${port}${target.path}`, { method: 'POST', headers: HEADERS, body: target.body });
  if (response.status !== 200) throw new Error(`${target.path}: status ${response.status}: ${await response.text()}`);
  return response.json();
}

/** Both answer the same rows: find's `data[]._id/name` and `_meta.result_count` = GraphQL's `results[].id/name` and `totalCount`. */
async function checkSameRows(port: number): Promise<void> {
  const find = (await post(port, FIND)) as { _meta: { result_count: number }; data: Array<{ _id: string; name: string }> };
  const graphql = (await post(port, GRAPHQL)) as {
    data: { accounts: { totalCount: number; results: Array<{ id: string; name: string }> } };
  };
  const a = JSON.stringify({ count: find._meta.result_count, rows: find.data.map((r) => [r._id, r.name]) });
  const b = JSON.stringify({ count: graphql.data.accounts.totalCount, rows: graphql.data.accounts.results.map((r) => [r.id, r.name]) });
  if (a !== b || find.data.length !== ROWS) throw new Error(`the two answers differ:\n  find:    ${a}\n  graphql: ${b}`);
  log(`same ${ROWS} rows and count from both`);
}

function load(port: number, target: { path: string; body: string }, seconds: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `http://127.0.0.1:${port}${target.path}`,
        method: 'POST',
        headers: HEADERS,
        body: target.body,
        connections: CONNECTIONS,
        duration: seconds,
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
}

async function main(): Promise<void> {
  const provisioned = await provisionBenchDatabase({ log: (level, message) => log(`database ${level}: ${message}`) });
  const dbName = `bench_graphql_${process.pid}`;
  const client = await MongoClient.connect(provisioned.url);
  let service: { child: ChildProcess; port: number } | undefined;
  try {
    await seed(client, dbName);
    service = await startService(provisioned.url, dbName);
    await checkSameRows(service.port);
    const runs: Record<'find' | 'graphql', number[]> = { find: [], graphql: [] };
    // the service's CPU per answered request: what it costs, whatever else the machine is doing meanwhile
    const cpu: Record<'find' | 'graphql', number[]> = { find: [], graphql: [] };
    for (const target of [FIND, GRAPHQL]) await load(service.port, target, WARMUP_S);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, target] of [
        ['find', FIND],
        ['graphql', GRAPHQL],
      ] as const) {
        const before = processCpuMs(service.child.pid);
        const result = await load(service.port, target, DURATION_S);
        const after = processCpuMs(service.child.pid);
        if (result.non2xx > 0 || result.errors > 0) throw new Error(`${name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
        runs[name].push(result.requests.average);
        const perRequest = before !== undefined && after !== undefined ? (after - before) / result.requests.total : NaN;
        cpu[name].push(Math.round(perRequest * 1000) / 1000);
        log(
          `round ${round} ${name}: ${result.requests.average.toFixed(0)} req/s, p99 ${result.latency.p99} ms, service CPU ${perRequest.toFixed(3)} ms/request`,
        );
      }
    }
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const ratios = runs.graphql.map((g, i) => Math.round((g / (runs.find[i] as number)) * 100) / 100);
    const sorted = [...ratios].sort((a, b) => a - b);
    const median =
      sorted.length % 2 === 1
        ? (sorted[(sorted.length - 1) / 2] as number)
        : ((sorted[sorted.length / 2 - 1] as number) + (sorted[sorted.length / 2] as number)) / 2;
    const summary = {
      rows: ROWS,
      connections: CONNECTIONS,
      duration_s: DURATION_S,
      rounds: ROUNDS,
      load_average: os.loadavg().map((l) => Math.round(l * 10) / 10),
      find_rps: Math.round(mean(runs.find)),
      graphql_rps: Math.round(mean(runs.graphql)),
      ratios,
      median_ratio: Math.round(median * 100) / 100,
      cpu_ms_per_request: { find: Math.round(mean(cpu.find) * 1000) / 1000, graphql: Math.round(mean(cpu.graphql) * 1000) / 1000 },
      cpu_ratio: Math.round((mean(cpu.find) / mean(cpu.graphql)) * 100) / 100,
      runs,
      cpu,
    };
    process.stdout.write(
      `account/find ${summary.find_rps} req/s, accounts query ${summary.graphql_rps} req/s (means); ratio graphql/find per round ${ratios.join(', ')}, median ${summary.median_ratio}; ` +
        `service CPU per request find ${summary.cpu_ms_per_request.find} ms, graphql ${summary.cpu_ms_per_request.graphql} ms (find/graphql ${summary.cpu_ratio})\n`,
    );
    mkdirSync(path.join(benchDir, 'results'), { recursive: true });
    writeFileSync(
      path.join(benchDir, 'results', `graphql-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.json`),
      `${JSON.stringify(summary, null, 2)}\n`,
    );
  } finally {
    service?.child.stdin?.end();
    await client
      .db(dbName)
      .dropDatabase()
      .catch(() => undefined);
    await client.close();
    await provisioned.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[bench:graphql] failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
