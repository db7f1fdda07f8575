/**
 * `npm run bench:passports`: passport/find (filters + date sort, 20 rows) on 100k passports, page 1 and page 500,
 * the service against a hand-written express + driver handler doing the same queries, same database, same run.
 * See bench/README.md ("passport/find").
 *
 *  1. provisions a database (MONGODB_URL, else mongod on PATH, else the embedded mongo-java-server in memory)
 *  2. seeds 100k passports through the driver, shaped as passport/create stores them
 *  3. compiles both servers with tsc and starts each in its own process
 *  4. checks both answer every measured body with the same bytes (aborts otherwise)
 *  5. measures page 1 and page 500 with autocannon, service/baseline alternating, a warm-up before each run
 *  6. prints the table and writes bench/results/passports-<date>.json; stops everything, also on error or Ctrl-C
 *
 * Environment: BENCH_PASSPORTS (default 100000), BENCH_DURATION (s, default 20), BENCH_WARMUP (s, default 5),
 * BENCH_ROUNDS (default 2), BENCH_CONNECTIONS (default 4), MONGODB_URL.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { deepStrictEqual } from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { MongoClient, ObjectId } from 'mongodb';
import type { ProvisionedDatabase } from '../src/local-db/index.js';
import { ean13 } from '../src/resources/passport/fields.js';
import { BENCH_KEY } from './child.js';
import { processCpuMs } from './proc-stats.js';
import { provisionBenchDatabase } from './database.js';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const projectRoot = path.resolve(benchDir, '..');
const resultsDir = path.join(benchDir, 'results');
const buildDir = path.join(resultsDir, '.build-passports');

const envNumber = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};
const PASSPORTS = envNumber('BENCH_PASSPORTS', 100_000);
const DURATION_S = envNumber('BENCH_DURATION', 20);
const WARMUP_S = envNumber('BENCH_WARMUP', 5);
const ROUNDS = envNumber('BENCH_ROUNDS', 2);
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 4);
const LIMIT = 20;
const TYPES = ['sensor', 'drive', 'manipulator', 'controller', 'gripper', 'camera', 'conveyor', 'scanner', 'printer', 'robot'];
const STATUSES = ['production', 'built', 'built', 'revision', 'approved', 'finalized', 'finalized'];
const HEADERS = { authorization: `Bearer ${BENCH_KEY.secret}`, 'content-type': 'application/json' };
/** The measured filters: status, five types, a date range, newest first — about 12k matches of 100k. */
const FILTERS = { status: 'built', type__in: TYPES.slice(0, 5), date__gte: '2022-06-01T00:00:00.000Z', _sort: '-date' };

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);
const children: ChildProcess[] = [];

async function seed(client: MongoClient, dbName: string): Promise<void> {
  const collection = client.db(dbName).collection('passport');
  const start = Date.UTC(2022, 0, 1);
  const span = Date.UTC(2025, 0, 1) - start;
  for (let from = 0; from < PASSPORTS; from += 5_000) {
    const docs = [];
    for (let i = from; i < Math.min(PASSPORTS, from + 5_000); i++) {
      const status = STATUSES[i % STATUSES.length] as string;
      const now = new Date();
      docs.push({
        _id: new ObjectId(),
        schema_id: 'default',
        uuid: randomUUID().replaceAll('-', ''),
        internal_id: ean13(`46${String(i).padStart(10, '0')}`),
        model: `Модель ${i % 97}`,
        type: TYPES[(i * 3) % TYPES.length],
        date: new Date(start + Math.floor(((i * 7919) % PASSPORTS) * (span / PASSPORTS))),
        status,
        ...(status === 'production' ? {} : { serial_number: `SN-${String(i).padStart(7, '0')}` }),
        biography: [{ id: randomUUID().replaceAll('-', ''), name: 'Сборка', employee_name: 'Иванов' }],
        created_at: now,
        updated_at: now,
      });
    }
    await collection.insertMany(docs, { ordered: false });
  }
}

function compileServers(): void {
  rmSync(buildDir, { recursive: true, force: true });
  const tsc = path.join(path.dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', path.join(benchDir, 'tsconfig.passports.json')], {
    cwd: projectRoot,
    encoding: 'utf8',
    timeout: 180_000,
  });
  for (const file of ['serve-service.js', 'serve-passports-baseline.js']) {
    if (!existsSync(path.join(buildDir, 'bench', file))) throw new Error(`tsc did not emit ${file}:\n${run.stdout}${run.stderr}`);
  }
}

async function startServer(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<{ name: string; port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [path.join(buildDir, 'bench', `${script}.js`)], {
    cwd: projectRoot,
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start`)), 90_000);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited during startup (code ${code})`)));
  });
  return { name, port, child };
}

async function stopChildren(): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin?.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }),
  );
}

async function post(port: number, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/passport/find`, { method: 'POST', headers: HEADERS, body });
  return { status: res.status, text: await res.text() };
}

async function load(port: number, body: string, seconds: number, measured = true): Promise<autocannon.Result> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/passport/find`,
    method: 'POST',
    headers: HEADERS,
    body,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 30,
  });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0 || (measured && result.requests.total === 0)) {
    throw new Error(
      `port ${port}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts, ${result.requests.total} requests`,
    );
  }
  return result;
}

async function main(): Promise<void> {
  let database: ProvisionedDatabase | undefined;
  let client: MongoClient | undefined;
  const dbName = `bench_passports_${Date.now().toString(36)}_${process.pid}`;
  const stop = async () => {
    await stopChildren();
    if (database?.mode === 'external')
      await client
        ?.db(dbName)
        .dropDatabase()
        .catch(() => undefined);
    await client?.close().catch(() => undefined);
    await database?.stop().catch(() => undefined);
  };
  process.once('SIGINT', () => void stop().finally(() => process.exit(130)));
  try {
    log('compiling the servers with tsc (bench/tsconfig.passports.json)');
    compileServers();
    database = await provisionBenchDatabase({ log: (level, message) => log(`database ${level}: ${message}`) });
    client = await MongoClient.connect(database.url, { appName: 'bench-seed' });
    const seedStart = Date.now();
    await seed(client, dbName);
    log(`seeded ${PASSPORTS} passports in ${((Date.now() - seedStart) / 1000).toFixed(1)} s (${database.description})`);
    const env = {
      ...process.env,
      NODE_ENV: 'production',
      BENCH_MONGODB_URL: database.url,
      BENCH_DB: dbName,
      BENCH_PROJECT_ROOT: projectRoot,
    };
    // the service creates the passport indexes at start; the baseline uses them too
    const service = await startServer('service', 'serve-service', env);
    const baseline = await startServer('baseline', 'serve-passports-baseline', env);
    const pages = [1, 500].map((page) => ({ page, body: JSON.stringify({ ...FILTERS, _meta: { page, limit: LIMIT } }) }));
    for (const { page, body } of pages) {
      const [a, b] = await Promise.all([post(service.port, body), post(baseline.port, body)]);
      if (a.status !== 200 || b.status !== 200) throw new Error(`page ${page}: status ${a.status} / ${b.status}: ${a.text} / ${b.text}`);
      deepStrictEqual(JSON.parse(b.text), JSON.parse(a.text));
      if (a.text !== b.text) throw new Error(`page ${page}: same JSON, different bytes`);
      const parsed = JSON.parse(a.text) as { _meta: { result_count: number }; data: unknown[] };
      if (parsed.data.length !== LIMIT)
        throw new Error(`page ${page}: ${parsed.data.length} rows, not ${LIMIT} (matches: ${parsed._meta.result_count})`);
      log(`page ${page}: both answer the same bytes (${parsed.data.length} rows of ${parsed._meta.result_count} matches)`);
    }
    const runs: Array<{
      page: number;
      target: string;
      round: number;
      requests: number;
      req_per_s: number;
      p99_ms: number;
      mean_ms: number;
      server_cpu_ms_per_req: number | undefined;
    }> = [];
    for (const { page, body } of pages) {
      for (let round = 1; round <= ROUNDS; round++) {
        for (const target of round % 2 === 1 ? [service, baseline] : [baseline, service]) {
          await load(target.port, body, WARMUP_S, false);
          const cpuBefore = processCpuMs(target.child.pid);
          const result = await load(target.port, body, DURATION_S);
          const cpuAfter = processCpuMs(target.child.pid);
          const figures = {
            page,
            target: target.name,
            round,
            requests: result.requests.total,
            server_cpu_ms_per_req:
              cpuBefore === undefined || cpuAfter === undefined
                ? undefined
                : Math.round(((cpuAfter - cpuBefore) / result.requests.total) * 100) / 100,
            req_per_s: Math.round((result.requests.total / result.duration) * 10) / 10,
            p99_ms: result.latency.p99,
            mean_ms: result.latency.average,
          };
          runs.push(figures);
          log(
            `page ${page} ${target.name} round ${round}: ${figures.requests} requests, ${figures.req_per_s} req/s, p99 ${figures.p99_ms} ms, node CPU ${figures.server_cpu_ms_per_req} ms/request`,
          );
        }
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const summary = pages.map(({ page }) => {
      const of = (target: string) => mean(runs.filter((r) => r.page === page && r.target === target).map((r) => r.req_per_s));
      const p99 = (target: string) => mean(runs.filter((r) => r.page === page && r.target === target).map((r) => r.p99_ms));
      const cpu = (target: string) =>
        Math.round(
          mean(runs.filter((r) => r.page === page && r.target === target).map((r) => r.server_cpu_ms_per_req ?? Number.NaN)) * 100,
        ) / 100;
      return {
        page,
        service_req_per_s: Math.round(of('service') * 10) / 10,
        baseline_req_per_s: Math.round(of('baseline') * 10) / 10,
        ratio: Math.round((of('service') / of('baseline')) * 1000) / 1000,
        service_cpu_ms_per_req: cpu('service'),
        baseline_cpu_ms_per_req: cpu('baseline'),
        service_p99_ms: p99('service'),
        baseline_p99_ms: p99('baseline'),
      };
    });
    const report = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, node: process.version },
      database: database.description,
      passports: PASSPORTS,
      filters: FILTERS,
      limit: LIMIT,
      settings: { connections: CONNECTIONS, duration_s: DURATION_S, warmup_s: WARMUP_S, rounds: ROUNDS, order: 'ABBA' },
      summary,
      runs,
    };
    mkdirSync(resultsDir, { recursive: true });
    const file = path.join(resultsDir, `passports-${report.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(
      `\npassport/find on ${PASSPORTS} passports, ${LIMIT} rows, filters ${JSON.stringify(FILTERS)} — ${database.description}\n` +
        `${'page'.padEnd(6)}${'service req/s'.padStart(15)}${'baseline req/s'.padStart(16)}${'ratio'.padStart(8)}${'p99 service'.padStart(13)}${'p99 baseline'.padStart(14)}${'node CPU ms/req service'.padStart(25)}${'baseline'.padStart(10)}\n` +
        summary
          .map(
            (s) =>
              `${String(s.page).padEnd(6)}${String(s.service_req_per_s).padStart(15)}${String(s.baseline_req_per_s).padStart(16)}${`${s.ratio.toFixed(3)}x`.padStart(8)}${`${s.service_p99_ms} ms`.padStart(13)}${`${s.baseline_p99_ms} ms`.padStart(14)}${String(s.service_cpu_ms_per_req).padStart(25)}${String(s.baseline_cpu_ms_per_req).padStart(10)}`,
          )
          .join('\n') +
        `\nwritten to ${path.relative(projectRoot, file)}\n`,
    );
  } finally {
    await stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`[bench] failed: ${(err as Error).stack ?? String(err)}\n`);
    void stopChildren().finally(() => process.exit(1));
  },
);
