/**
 * `npm run bench:api`: the service against a hand-written express + driver baseline, on the same database, in the
 * same run. See bench/README.md.
 *
 *  1. provisions a database (MONGODB_URL, else mongod on PATH, else the embedded mongo-java-server in memory)
 *  2. seeds one fresh database through the driver: 5 groups, 300 accounts
 *  3. compiles server A (bench/serve-service.ts), server B (bench/serve-baseline.ts) and the Feathers server
 *     (bench/serve-feathers.ts) with tsc, as `npm start` runs the service
 *  4. counts the database commands per request of each server that takes part, on a counting copy of it
 *  5. starts each server in its own process and checks that they answer the measured requests alike (aborts
 *     otherwise): the baseline with the same bytes, Feathers with the same data
 *  6. measures account/get and account/find_detail with autocannon, the servers in turn (A/B/A/B, or A/B/B/A with
 *     BENCH_ORDER=abba), a warm-up before each run
 *  7. prints the table and writes it as JSON to bench/results/api-<date>.json
 *  8. stops the servers and the database, also on error or Ctrl-C
 *
 * Environment (all optional): BENCH_DURATION (s, default 10), BENCH_WARMUP (s, default 2), BENCH_ROUNDS (default 2),
 * BENCH_CONNECTIONS (default 10), BENCH_ACCOUNTS (accounts seeded, default 300; 100000 for the 100k size), BENCH_PREWARM (s per server and endpoint before the first run, default 5),
 * BENCH_ONLY=account/get|account/find_detail (measure one endpoint), BENCH_CPU_PROF=1 (both server children write a V8 CPU; BENCH_CPU_PROF_INTERVAL µs between samples, default 1000,
 * profile to bench/results/profiles/), BENCH_RUNTIME=tsx (run the servers through tsx instead of compiling them with
 * tsc first), BENCH_ORDER=abba (the baseline goes first in even rounds), MONGODB_URL (use that server instead of
 * starting one), BENCH_COMPARE=metrics (the "baseline" is the service itself with metrics off, the "service" has them
 * on: the cost of /metrics and command monitoring), BENCH_COMPARE=tracing (both with metrics; the "service" also traces
 * every request, exporting OTLP/HTTP to a sink in this process: the cost of tracing on vs off), BENCH_COMPARE=node20
 * (the "baseline" is the same compiled service on another Node binary, BENCH_NODE20, default /usr/bin/node),
 * BENCH_COMPARE=feathers (besides the baseline, two Feathers v5 servers, bench/serve-feathers.ts: "feathers" with the
 * docs' per-row resolver, "feathers-loader" with a per-request dataloader; same data compared, not the same bytes),
 * BENCH_COMPARE=ab (an attribution experiment: BENCH_A and BENCH_B each name a server script and the environment it
 * gets, e.g. BENCH_A="serve-service DB_TIMEOUT_MS=0" BENCH_B="serve-service"; A is reported as "service", B as
 * "baseline").
 *
 * Before measuring, a counting copy of each server (driver command monitoring on, BENCH_COUNT_COMMANDS=1) answers a
 * few of each endpoint's requests, and the database commands per request are reported beside the figures.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { deepStrictEqual } from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { MongoClient, ObjectId } from 'mongodb';
import type { ProvisionedDatabase } from '../src/local-db/index.js';
import { BENCH_KEY, COMMANDS_PATH } from './child.js';
import { provisionBenchDatabase } from './database.js';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const projectRoot = path.resolve(benchDir, '..');
const resultsDir = path.join(benchDir, 'results');
/** Where bench/tsconfig.bench.json puts the compiled servers. */
const buildDir = path.join(resultsDir, '.build');

const DURATION_S = envNumber('BENCH_DURATION', 10, 1, 120);
const WARMUP_S = envNumber('BENCH_WARMUP', 2, 0, 60);
const ROUNDS = envNumber('BENCH_ROUNDS', 2, 1, 10);
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 10, 1, 1000);
const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
/** `compiled` (default): the servers run as tsc output, like `npm start`; `tsx`: straight from the .ts files. */
const RUNTIME = process.env.BENCH_RUNTIME === 'tsx' ? 'tsx' : 'compiled';
/** `abab` (default): the service runs first in every round; `abba`: the baseline runs first in even rounds. */
const ORDER = process.env.BENCH_ORDER === 'abba' ? 'abba' : 'abab';
/** Measure only this endpoint (`account/get` or `account/find_detail`), e.g. for a CPU profile of one of them. */
const ONLY = process.env.BENCH_ONLY || undefined;
/** Compare the service with metrics on against itself with metrics off (instead of the hand-written baseline). */
const COMPARE_METRICS = process.env.BENCH_COMPARE === 'metrics';
/** Compare the service with tracing on (spans exported to a local OTLP sink) against itself with tracing off. */
const COMPARE_TRACING = process.env.BENCH_COMPARE === 'tracing';
/** Compare the service on this Node with the same compiled service on another Node binary (the system's Node 20). */
const COMPARE_NODE20 = process.env.BENCH_COMPARE === 'node20';
const NODE20 = process.env.BENCH_NODE20 || '/usr/bin/node';
/** Compare the service with the baseline and with Feathers v5, per-row resolver and batch loader, in one run. */
const COMPARE_FEATHERS = process.env.BENCH_COMPARE === 'feathers';
const COMPARE_AB = process.env.BENCH_COMPARE === 'ab';

/** BENCH_A / BENCH_B: "script NAME=value ..." (BENCH_COMPARE=ab). */
function abSide(variable: 'BENCH_A' | 'BENCH_B'): { script: string; env: Record<string, string> } {
  const [script, ...assignments] = (process.env[variable] ?? '').trim().split(/\s+/);
  if (!script || !['serve-service', 'serve-baseline', 'serve-feathers'].includes(script)) {
    throw new Error(`${variable} must start with serve-service, serve-baseline or serve-feathers (got "${process.env[variable] ?? ''}")`);
  }
  const env: Record<string, string> = {};
  for (const assignment of assignments) {
    const at = assignment.indexOf('=');
    if (at <= 0) throw new Error(`${variable}: "${assignment}" is not NAME=value`);
    env[assignment.slice(0, at)] = assignment.slice(at + 1);
  }
  return { script, env };
}
/** Before the first measured run, each server serves each endpoint this long (JIT of node and of the Java server). */
const PREWARM_S = envNumber('BENCH_PREWARM', 5, 0, 60);
/** Cores used by processes other than ours above which a run is flagged as disturbed. */
const OTHER_CPU_LIMIT = 0.2;
const GROUPS = 5;
/** Accounts seeded (BENCH_ACCOUNTS, default 300; 100000 for the issue's 100k size). */
const ACCOUNTS = envNumber('BENCH_ACCOUNTS', 300, 30, 1_000_000);
const PAGE_LIMIT = 30;
const CHILD_START_TIMEOUT_MS = 90_000;
/** Upper bound for the whole run; past it everything is stopped and the bench fails. */
const TARGETS = COMPARE_FEATHERS ? 4 : 2;
const WATCHDOG_MS = (2 * ROUNDS * TARGETS * (DURATION_S + WARMUP_S + 5) + 2 * TARGETS * PREWARM_S + 300) * 1000;

function envNumber(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) throw new Error(`${name} must be a number in ${min}..${max} (got "${raw}")`);
  return value;
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

// ---------------------------------------------------------------------------------------------------------------
// servers in child processes

type TargetName = 'service' | 'baseline' | 'feathers' | 'feathers-loader';

interface Target {
  name: TargetName;
  child: ChildProcess;
  port: number;
  /** `rpc`: POST /account/get…, as the service; `rest`: Feathers' GET /accounts/:id and GET /accounts?… */
  api: 'rpc' | 'rest';
}

/** How to start a server: which bench/serve-*.ts, with what environment, on which node. */
interface TargetSpec {
  name: TargetName;
  script: string;
  env: NodeJS.ProcessEnv;
  node?: string;
}

const children: ChildProcess[] = [];

/**
 * Compiles the servers and the src/ they import with tsc into bench/results/.build/ (a few seconds). Type errors
 * elsewhere (someone editing src/) do not stop the bench as long as tsc emitted both servers: it emits anyway.
 */
function compileServers(): void {
  rmSync(buildDir, { recursive: true, force: true });
  const tsc = path.join(path.dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', path.join(benchDir, 'tsconfig.bench.json')], {
    cwd: projectRoot,
    encoding: 'utf8',
    timeout: 180_000,
  });
  const missing = ['serve-service.js', 'serve-baseline.js', 'serve-feathers.js'].filter(
    (f) => !existsSync(path.join(buildDir, 'bench', f)),
  );
  if (missing.length > 0) throw new Error(`tsc did not emit ${missing.join(', ')} (exit ${run.status}):\n${run.stdout}${run.stderr}`);
  if (run.status !== 0)
    log(
      `WARNING: tsc reported type errors but emitted the servers:\n${`${run.stdout}${run.stderr}`.trim().split('\n').slice(0, 10).join('\n')}`,
    );
}

async function startServer({ name, script, env, node = process.execPath }: TargetSpec, extraArgs: string[] = []): Promise<Target> {
  const entry =
    RUNTIME === 'tsx' ? ['--import', 'tsx', path.join(benchDir, `${script}.ts`)] : [path.join(buildDir, 'bench', `${script}.js`)];
  const child = spawn(node, [...extraArgs, ...entry], {
    cwd: projectRoot,
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not report its port within ${CHILD_START_TIMEOUT_MS / 1000} s`)),
      CHILD_START_TIMEOUT_MS,
    );
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        const port = (JSON.parse(line) as { port?: unknown }).port;
        if (typeof port !== 'number' || port <= 0) throw new Error('no port');
        resolve(port);
      } catch {
        reject(new Error(`${name} printed "${line}" instead of {"port":N}`));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited during startup (code ${code}, signal ${signal}); its stderr is above`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  // anything the server prints later is not a protocol line: pass it on
  child.stdout?.on('data', (chunk: Buffer) => process.stderr.write(`[${name}] ${chunk.toString()}`));
  return { name, child, port, api: script === 'serve-feathers' ? 'rest' : 'rpc' };
}

/** Closes the child's stdin (it shuts down cleanly), then SIGKILL if it is still there after 10 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------------------------
// data

/** The documents the service itself writes (Model.insert): declared fields + defaults, created_at/updated_at, driver ids. */
async function seed(client: MongoClient, dbName: string): Promise<{ accountIds: ObjectId[] }> {
  const db = client.db(dbName);
  const groupDocs = Array.from({ length: GROUPS }, (_, i) => {
    const now = new Date(Date.UTC(2024, 4, 1, 8, 0, i));
    return { _id: new ObjectId(), name: `组 ${i + 1} (group ${i + 1})`, state: 100, created_at: now, updated_at: now };
  });
  await db.collection('group').insertMany(groupDocs);
  const accountDocs = Array.from({ length: ACCOUNTS }, (_, i) => {
    const now = new Date(Date.UTC(2024, 4, 2, 8, 0, 0, i));
    return {
      _id: new ObjectId(),
      name: i % 3 === 0 ? `张三 ${i}` : `user-${String(i).padStart(4, '0')}`,
      phone: i < 10_000 ? `1380000${String(i).padStart(4, '0')}` : `139${String(i).padStart(8, '0')}`,
      state: 100,
      group_id: (groupDocs[i % GROUPS] as { _id: ObjectId })._id,
      created_at: now,
      updated_at: now,
    };
  });
  // in slices: 100k documents are more than one insert command carries comfortably
  for (let i = 0; i < accountDocs.length; i += 10_000) await db.collection('account').insertMany(accountDocs.slice(i, i + 10_000));
  return { accountIds: accountDocs.map((doc) => doc._id) };
}

// ---------------------------------------------------------------------------------------------------------------
// requests

const HEADERS = { authorization: `Bearer ${BENCH_KEY.secret}`, 'content-type': 'application/json' };

/** One request as autocannon sends it. */
interface Call {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
}

interface Endpoint {
  name: 'account/get' | 'account/find_detail';
  /** The requests sent in turn (each connection cycles through them): the same records in both APIs, in the same order. */
  calls: Record<Target['api'], Call[]>;
  rotation: string;
}

async function send(port: number, call: Call): Promise<{ status: number; text: string }> {
  const init = { method: call.method, headers: HEADERS, ...(call.body === undefined ? {} : { body: call.body }) };
  const response = await fetch(`http://127.0.0.1:${port}${call.path}`, init);
  return { status: response.status, text: await response.text() };
}

/** At most 1000 ids spread over all of them: autocannon prebuilds every request per connection, 100k would stall it. */
function rotationOf(ids: ObjectId[]): ObjectId[] {
  const step = Math.max(1, Math.ceil(ids.length / 1000));
  return ids.filter((_, i) => i % step === 0);
}

/** At most `max` of `items`, spread over all of them. */
function spread<T>(items: T[], max: number): T[] {
  const step = Math.max(1, Math.ceil(items.length / max));
  return items.filter((_, i) => i % step === 0);
}

/** Feathers' `$select` of the answer's fields (`group_info` is a virtual: Feathers then loads whole documents). */
const FEATHERS_SELECT = ['_id', 'name', 'group_info'].map((field) => `%24select%5B%5D=${field}`).join('&');

/** The calls of both endpoints, in the service's API and in Feathers' REST routes. */
function endpointsOf(accountIds: ObjectId[]): Endpoint[] {
  const ids = rotationOf(accountIds);
  return [
    {
      name: 'account/get',
      calls: {
        rpc: ids.map((id) => ({ method: 'POST', path: '/account/get', body: JSON.stringify({ _id: id.toHexString() }) })),
        rest: ids.map((id) => ({ method: 'GET', path: `/accounts/${id.toHexString()}?${FEATHERS_SELECT}` })),
      },
      rotation: `each connection cycles through ${ids.length} of the ${accountIds.length} account ids, spread over all (prebuilt requests)`,
    },
    {
      name: 'account/find_detail',
      calls: {
        rpc: [{ method: 'POST', path: '/account/find_detail', body: JSON.stringify({ _meta: { page: 1, limit: PAGE_LIMIT } }) }],
        rest: [{ method: 'GET', path: `/accounts?%24limit=${PAGE_LIMIT}&%24sort%5B_id%5D=-1&${FEATHERS_SELECT}` }],
      },
      rotation: `page 1, limit ${PAGE_LIMIT}: ${PAGE_LIMIT} rows with group_info of ${ACCOUNTS} live accounts`,
    },
  ];
}

/**
 * Every measured request once against the service and the peer: both 200, and the same answer. A peer with the
 * service's API (the baseline) must give the same bytes; Feathers answers in its own envelope, so there the data is
 * compared: `get` the whole answer, `find` the rows (`data`) and the count (`total` = `_meta.result_count`).
 */
async function checkSameAnswers(endpoints: Endpoint[], service: Target, peer: Target): Promise<void> {
  for (const endpoint of endpoints) {
    // at most 300 requests, spread over all of them: checking every one would take longer than the runs
    const checked = spread([...endpoint.calls.rpc.keys()], 300);
    for (const i of checked) {
      const [ours, theirs] = [endpoint.calls.rpc[i] as Call, endpoint.calls[peer.api][i] as Call];
      const what = `${endpoint.name} ${ours.body}`;
      const [a, b] = await Promise.all([send(service.port, ours), send(peer.port, theirs)]);
      if (a.status !== 200 || b.status !== 200) {
        throw new Error(`${what}: status service ${a.status} / ${peer.name} ${b.status}\n  service:  ${a.text}\n  ${peer.name}: ${b.text}`);
      }
      const [answer, peerAnswer] = [JSON.parse(a.text), JSON.parse(b.text)];
      if (peer.api === 'rest' && endpoint.name === 'account/find_detail') {
        const data = { rows: peerAnswer.data, count: peerAnswer.total };
        deepStrictEqual(
          data,
          { rows: answer.data, count: answer._meta.result_count },
          `${what}: ${peer.name}'s data differs from the service's`,
        );
        continue;
      }
      deepStrictEqual(peerAnswer, answer, `${what}: ${peer.name}'s JSON differs from the service's`);
      if (peer.api === 'rpc' && a.text !== b.text)
        throw new Error(`${what}: same JSON but different bytes\n  service:  ${a.text}\n  ${peer.name}: ${b.text}`);
    }
    const same = peer.api === 'rpc' ? 'byte-for-byte like the service' : 'the same data as the service (its own envelope)';
    log(`${endpoint.name}: ${peer.name} answers ${same} (${checked.length} of ${endpoint.calls.rpc.length} requests checked)`);
  }
}

/** Database commands per request of one endpoint on one server, by command name and in all. */
interface CommandCount {
  per_request: number;
  by_command: Record<string, number>;
  requests: number;
}

/**
 * Starts a counting copy of the server (BENCH_COUNT_COMMANDS=1: the driver's command monitoring on, counts at
 * GET /_bench/commands), sends it up to 30 of each endpoint's requests one at a time, and stops it. The measured
 * servers run without command monitoring, as before.
 */
async function countCommandsPerRequest(spec: TargetSpec, endpoints: Endpoint[]): Promise<Record<string, CommandCount>> {
  const target = await startServer({ ...spec, env: { ...spec.env, BENCH_COUNT_COMMANDS: '1' } });
  const commandsNow = async () =>
    JSON.parse((await send(target.port, { method: 'GET', path: COMMANDS_PATH })).text) as Record<string, number>;
  try {
    const counts: Record<string, CommandCount> = {};
    for (const endpoint of endpoints) {
      const calls = spread(endpoint.calls[target.api], 30);
      const before = await commandsNow();
      for (const call of calls) {
        const answer = await send(target.port, call);
        if (answer.status !== 200) throw new Error(`${spec.name} (counting) ${endpoint.name}: status ${answer.status}: ${answer.text}`);
      }
      const after = await commandsNow();
      const byCommand = Object.fromEntries(
        Object.entries(after)
          .map(([name, n]) => [name, round2((n - (before[name] ?? 0)) / calls.length)] as const)
          .filter(([, n]) => n > 0),
      );
      const perRequest = round2(Object.values(byCommand).reduce((a, b) => a + b, 0));
      counts[endpoint.name] = { per_request: perRequest, by_command: byCommand, requests: calls.length };
    }
    log(
      `${spec.name}: database commands per request — ${Object.entries(counts)
        .map(
          ([name, c]) =>
            `${name} ${c.per_request} (${Object.entries(c.by_command)
              .map(([k, n]) => `${k} ${n}`)
              .join(', ')})`,
        )
        .join('; ')}`,
    );
    return counts;
  } finally {
    await stopChild(target.child);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// who used the CPU during a run (Linux /proc; elsewhere the figures are left out)

type CpuRole = 'loadgen' | TargetName | 'database';
interface CpuSample {
  busy: number;
  total: number;
  pids: Map<CpuRole, number>;
}
/** Cores used on average during a run, by role; `other` is everything else on the machine. */
type CpuShare = Record<CpuRole | 'other' | 'all', number>;

const cpuRoles = new Map<CpuRole, number>([['loadgen', process.pid]]);

function sampleCpu(): CpuSample | undefined {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] as string).trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    const busy = user + nice + system + irq + softirq + steal;
    const pids = new Map<CpuRole, number>();
    for (const [role, pid] of cpuRoles) {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      pids.set(role, Number(after[11]) + Number(after[12])); // utime + stime (fields 14 and 15)
    }
    return { busy, total: busy + idle + iowait, pids };
  } catch {
    return undefined;
  }
}

function rssMb(pid: number | undefined): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Math.round(Number(kb) / 1024);
  } catch {
    return undefined;
  }
}

function cpuShare(before: CpuSample | undefined, after: CpuSample | undefined): CpuShare | undefined {
  if (!before || !after || after.total <= before.total) return undefined;
  const cores = os.cpus().length;
  const toCores = (jiffies: number) => Math.round((jiffies / (after.total - before.total)) * cores * 100) / 100;
  const share = { all: toCores(after.busy - before.busy) } as CpuShare;
  let ours = 0;
  for (const role of ['loadgen', 'service', 'baseline', 'feathers', 'feathers-loader', 'database'] as const) {
    const delta = (after.pids.get(role) ?? 0) - (before.pids.get(role) ?? 0);
    ours += delta;
    share[role] = toCores(delta);
  }
  share.other = Math.max(0, toCores(after.busy - before.busy - ours));
  return share;
}

// ---------------------------------------------------------------------------------------------------------------
// measuring

interface RunFigures {
  endpoint: string;
  target: Target['name'];
  round: number;
  duration_s: number;
  requests: number;
  req_per_s: number;
  latency_ms: { mean: number; p50: number; p90: number; p99: number; max: number };
  non_2xx: number;
  errors: number;
  timeouts: number;
  /** Average cores used during the measured run, by process (2 cores = the whole machine here). */
  cpu_cores: CpuShare | undefined;
  /** CPU time the measured server process spent per request (less sensitive to other load than req/s). */
  server_cpu_ms_per_req: number | undefined;
  /** The same for the database server. */
  database_cpu_ms_per_req: number | undefined;
  /** Resident memory of the measured server process right after the run. */
  server_rss_mb: number | undefined;
}

let running: autocannon.Instance | undefined;

async function load(target: Target, endpoint: Endpoint, seconds: number): Promise<autocannon.Result> {
  return await new Promise((resolve, reject) => {
    running = autocannon(
      {
        url: `http://127.0.0.1:${target.port}`,
        connections: CONNECTIONS,
        pipelining: 1,
        duration: seconds,
        timeout: 10,
        method: 'POST',
        headers: HEADERS,
        requests: endpoint.calls[target.api].map((call) => ({ ...call })),
      },
      (err, result) => {
        running = undefined;
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else resolve(result);
      },
    );
  });
}

function requireClean(what: string, result: autocannon.Result): void {
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(`${what}: ${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts — aborting`);
  }
  if (result.requests.total === 0) throw new Error(`${what}: no request completed`);
}

async function measure(target: Target, endpoint: Endpoint, round: number): Promise<RunFigures> {
  const what = `${endpoint.name} on ${target.name}, round ${round}`;
  if (WARMUP_S > 0) requireClean(`${what} (warm-up)`, await load(target, endpoint, WARMUP_S));
  const cpuBefore = sampleCpu();
  const result = await load(target, endpoint, DURATION_S);
  const cpu = cpuShare(cpuBefore, sampleCpu());
  requireClean(what, result);
  const figures: RunFigures = {
    endpoint: endpoint.name,
    target: target.name,
    round,
    duration_s: result.duration,
    requests: result.requests.total,
    req_per_s: round1(result.requests.total / result.duration),
    latency_ms: {
      mean: round2(result.latency.average),
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    non_2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    cpu_cores: cpu,
    server_cpu_ms_per_req: cpu ? round3((cpu[target.name] * result.duration * 1000) / result.requests.total) : undefined,
    database_cpu_ms_per_req: cpu ? round3((cpu.database * result.duration * 1000) / result.requests.total) : undefined,
    server_rss_mb: rssMb(target.child.pid),
  };
  if (cpu && cpu.other > OTHER_CPU_LIMIT) {
    log(`WARNING: other processes used ${cpu.other} cores during ${what}: the machine was not quiet, this run is disturbed`);
  }
  const cpuText = cpu
    ? `; CPU cores: ${cpu.all} busy = ${target.name} ${cpu[target.name]}, database ${cpu.database}, autocannon ${cpu.loadgen}, other ${cpu.other}`
    : '';
  const rssText = figures.server_rss_mb === undefined ? '' : `; ${target.name} RSS ${figures.server_rss_mb} MB`;
  log(
    `${what}: ${figures.req_per_s} req/s, p50 ${figures.latency_ms.p50} ms, p99 ${figures.latency_ms.p99} ms, ${figures.requests} requests${cpuText}${rssText}`,
  );
  return figures;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function meanOrUndefined(values: Array<number | undefined>): number | undefined {
  return values.length === 0 || values.some((v) => v === undefined) ? undefined : round3(mean(values as number[]));
}

function meanShare(shares: Array<CpuShare | undefined>): CpuShare | undefined {
  if (shares.length === 0 || shares.some((s) => s === undefined)) return undefined;
  const keys = Object.keys(shares[0] as CpuShare) as Array<keyof CpuShare>;
  return Object.fromEntries(keys.map((k) => [k, round2(mean(shares.map((s) => (s as CpuShare)[k])))])) as CpuShare;
}

interface SideSummary {
  name: TargetName;
  req_per_s: number;
  p99_ms: number;
  p99_ms_rounds: number[];
  req_per_s_rounds: number[];
  non_2xx: number;
  cpu_cores: CpuShare | undefined;
  server_cpu_ms_per_req: number | undefined;
  database_cpu_ms_per_req: number | undefined;
  /** Database commands per request, from the server's counting copy. */
  db_commands: CommandCount | undefined;
}

interface Summary {
  endpoint: string;
  rotation: string;
  service: SideSummary;
  /** The server the service is compared with: the baseline, or one of the Feathers servers. */
  peer: SideSummary;
  ratio: number;
  /** service/peer of each round (the runs of one round ran one after the other). */
  ratio_rounds: number[];
  /**
   * The ratio asked for (issue 10): the hand-written baseline 1.0× on get and 1.05× on find; Feathers per-row 1.2× on
   * get and 4× on find; Feathers with a loader 1.5×. In the other BENCH_COMPARE modes "baseline" is the service itself
   * in another setting, and 0.9× is only the line below which the setting is worth a look.
   */
  target_ratio: number;
  meets_target: boolean;
}

function targetRatio(endpoint: Endpoint['name'], peer: TargetName): number {
  if (peer === 'feathers') return endpoint === 'account/get' ? 1.2 : 4;
  if (peer === 'feathers-loader') return 1.5;
  if (COMPARE_AB || COMPARE_METRICS || COMPARE_TRACING || COMPARE_NODE20) return 0.9;
  return endpoint === 'account/get' ? 1.0 : 1.05;
}

function summarize(
  endpoint: Endpoint,
  runs: RunFigures[],
  peer: TargetName,
  commands: Map<TargetName, Record<string, CommandCount>>,
): Summary {
  const side = (name: TargetName): SideSummary => {
    const mine = runs.filter((r) => r.endpoint === endpoint.name && r.target === name);
    return {
      name,
      req_per_s: round1(mean(mine.map((r) => r.req_per_s))),
      p99_ms: round2(mean(mine.map((r) => r.latency_ms.p99))),
      p99_ms_rounds: mine.map((r) => r.latency_ms.p99),
      req_per_s_rounds: mine.map((r) => r.req_per_s),
      non_2xx: mine.reduce((a, r) => a + r.non_2xx, 0),
      cpu_cores: meanShare(mine.map((r) => r.cpu_cores)),
      server_cpu_ms_per_req: meanOrUndefined(mine.map((r) => r.server_cpu_ms_per_req)),
      database_cpu_ms_per_req: meanOrUndefined(mine.map((r) => r.database_cpu_ms_per_req)),
      db_commands: commands.get(name)?.[endpoint.name],
    };
  };
  const service = side('service');
  const other = side(peer);
  const ratio = round3(service.req_per_s / other.req_per_s);
  const target = targetRatio(endpoint.name, peer);
  return {
    endpoint: endpoint.name,
    rotation: endpoint.rotation,
    service,
    peer: other,
    ratio,
    ratio_rounds: service.req_per_s_rounds.map((r, i) => round3(r / (other.req_per_s_rounds[i] as number))),
    target_ratio: target,
    meets_target: ratio >= target,
  };
}

function table(summaries: Summary[]): string {
  const header = [
    'endpoint',
    'peer',
    'service req/s',
    'peer req/s',
    'ratio',
    'service p99',
    'peer p99',
    'commands/req',
    'non-2xx',
    'target',
  ];
  const rows = summaries.map((s) => [
    s.endpoint,
    s.peer.name,
    s.service.req_per_s.toFixed(1),
    s.peer.req_per_s.toFixed(1),
    `${s.ratio.toFixed(3)}x`,
    `${s.service.p99_ms} ms`,
    `${s.peer.p99_ms} ms`,
    `${s.service.db_commands?.per_request ?? '?'} / ${s.peer.db_commands?.per_request ?? '?'}`,
    String(s.service.non_2xx + s.peer.non_2xx),
    `${s.meets_target ? 'yes' : 'NO'} (>= ${s.target_ratio}x)`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  const rounds = summaries.map(
    (s) =>
      `  ${s.endpoint}: service ${s.service.req_per_s_rounds.join(' / ')} req/s (p99 ${s.service.p99_ms_rounds.join(' / ')} ms); ` +
      `${s.peer.name} ${s.peer.req_per_s_rounds.join(' / ')} req/s (p99 ${s.peer.p99_ms_rounds.join(' / ')} ms); ` +
      `ratio ${s.ratio_rounds.map((r) => `${r.toFixed(3)}x`).join(' / ')}`,
  );
  // each server once per endpoint (the service is in every summary of its endpoint)
  const sides = summaries.flatMap((s, i) =>
    (summaries[i - 1]?.endpoint === s.endpoint ? [s.peer] : [s.service, s.peer]).map((side) => ({ s, side })),
  );
  const cpu = sides.map(({ s, side }) => {
    const c = side.cpu_cores;
    const commands = side.db_commands
      ? `; database commands per request ${side.db_commands.per_request} (${JSON.stringify(side.db_commands.by_command)})`
      : '';
    return c
      ? `  ${s.endpoint} on ${side.name}: ${c.all} of ${os.cpus().length} cores busy — ${side.name} ${c[side.name]}, database ${c.database}, ` +
          `autocannon ${c.loadgen}, other processes ${c.other}; CPU per request: ${side.name} ${side.server_cpu_ms_per_req} ms, ` +
          `database ${side.database_cpu_ms_per_req} ms${commands}`
      : `  ${s.endpoint} on ${side.name}: (no /proc)${commands}`;
  });
  return [
    line(header),
    rule,
    ...rows.map(line),
    '',
    `per round (${ORDER === 'abba' ? 'the servers in turn, in reverse order in even rounds' : 'the servers in turn, service first'}):`,
    ...rounds,
    '',
    'CPU during the measured runs (mean cores), and database commands per request (counting copies):',
    ...cpu,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------------------

/** An OTLP/HTTP collector stand-in: takes every export (counting spans' bytes) and answers 200, as a collector does. */
async function startOtlpSink(): Promise<{ url: string; received: () => { exports: number; bytes: number } }> {
  let exports = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      exports++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received: () => ({ exports, bytes }) };
}

async function main(): Promise<number> {
  let database: ProvisionedDatabase | undefined;
  let client: MongoClient | undefined;
  let dbName: string | undefined;
  let cleaned: Promise<void> | undefined;
  const started = new Date();

  const cleanup = () =>
    (cleaned ??= (async () => {
      running?.stop();
      await Promise.all(children.map((child) => stopChild(child).catch(() => undefined)));
      if (client && dbName && database?.mode === 'external') {
        await client
          .db(dbName)
          .dropDatabase()
          .catch((err: unknown) => log(`could not drop ${dbName}: ${String(err)}`));
      }
      await client?.close().catch(() => undefined);
      await database?.stop().catch((err: unknown) => log(`stopping the database failed: ${String(err)}`));
    })());

  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the servers and the database`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const watchdog = setTimeout(() => {
    log(`the bench took longer than ${WATCHDOG_MS / 1000} s: stopping everything`);
    void cleanup().finally(() => process.exit(1));
  }, WATCHDOG_MS);

  try {
    if (RUNTIME === 'compiled') {
      log('compiling the servers with tsc (bench/tsconfig.bench.json → bench/results/.build/)');
      compileServers();
    }
    database = await provisionBenchDatabase({ log: (level, message) => log(`database ${level}: ${message}`) });
    log(`database: ${database.description}`);
    dbName = `bench_api_${Date.now().toString(36)}_${process.pid}`;
    client = new MongoClient(database.url, { appName: 'bench-seed', serverSelectionTimeoutMS: 5_000 });
    await client.connect();
    const { accountIds } = await seed(client, dbName);
    log(`seeded ${dbName}: ${GROUPS} groups, ${accountIds.length} accounts`);

    const env = {
      ...process.env,
      NODE_ENV: 'production',
      BENCH_MONGODB_URL: database.url,
      BENCH_DB: dbName,
      BENCH_PROJECT_ROOT: projectRoot,
    };
    const profileDir = path.join(resultsDir, 'profiles');
    if (CPU_PROF) mkdirSync(profileDir, { recursive: true });
    const profile = CPU_PROF
      ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-interval=${envNumber('BENCH_CPU_PROF_INTERVAL', 1000, 10, 100_000)}`]
      : [];
    const sink = COMPARE_TRACING ? await startOtlpSink() : undefined;
    const ab = COMPARE_AB ? { a: abSide('BENCH_A'), b: abSide('BENCH_B') } : undefined;
    const specs: TargetSpec[] = ab
      ? [
          { name: 'service', script: ab.a.script, env: { ...env, ...ab.a.env } },
          { name: 'baseline', script: ab.b.script, env: { ...env, ...ab.b.env } },
        ]
      : sink
        ? [
            { name: 'service', script: 'serve-service', env: { ...env, BENCH_METRICS: 'on', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url } },
            { name: 'baseline', script: 'serve-service', env: { ...env, BENCH_METRICS: 'on' } },
          ]
        : COMPARE_METRICS
          ? [
              { name: 'service', script: 'serve-service', env: { ...env, BENCH_METRICS: 'on' } },
              { name: 'baseline', script: 'serve-service', env: { ...env, BENCH_METRICS: 'off' } },
            ]
          : COMPARE_NODE20
            ? [
                { name: 'service', script: 'serve-service', env },
                { name: 'baseline', script: 'serve-service', env, node: NODE20 },
              ]
            : COMPARE_FEATHERS
              ? [
                  { name: 'service', script: 'serve-service', env },
                  { name: 'baseline', script: 'serve-baseline', env },
                  { name: 'feathers', script: 'serve-feathers', env },
                  { name: 'feathers-loader', script: 'serve-feathers', env: { ...env, BENCH_FEATHERS_LOADER: '1' } },
                ]
              : [
                  { name: 'service', script: 'serve-service', env },
                  { name: 'baseline', script: 'serve-baseline', env },
                ];
    const allEndpoints = endpointsOf(accountIds);
    const endpoints = allEndpoints.filter((e) => ONLY === undefined || e.name === ONLY);
    if (endpoints.length === 0) throw new Error(`BENCH_ONLY=${ONLY}: no such endpoint (${allEndpoints.map((e) => e.name).join(', ')})`);

    log('database commands per request: a counting copy of each server (command monitoring on) answers a few requests');
    const commands = new Map<TargetName, Record<string, CommandCount>>();
    for (const spec of specs) commands.set(spec.name, await countCommandsPerRequest(spec, endpoints));

    const [service, ...peers] = await Promise.all(specs.map((spec) => startServer(spec, profile)));
    if (!service || peers.length === 0) throw new Error('no servers to compare');
    const targets = [service, ...peers];
    const baselineNode = COMPARE_NODE20 ? spawnSync(NODE20, ['--version'], { encoding: 'utf8' }).stdout.trim() : process.version;
    if (COMPARE_NODE20)
      log(`BENCH_COMPARE=node20: "service" = the service on ${process.version}, "baseline" = the same on ${baselineNode}`);
    if (ab) log(`BENCH_COMPARE=ab: "service" = ${process.env.BENCH_A}, "baseline" = ${process.env.BENCH_B}`);
    if (COMPARE_METRICS) log('BENCH_COMPARE=metrics: "service" = metrics on, "baseline" = the same service with metrics off');
    if (sink)
      log(`BENCH_COMPARE=tracing: "service" = tracing on (OTLP/HTTP to ${sink.url}), "baseline" = the same service with tracing off`);
    if (COMPARE_FEATHERS)
      log(
        'BENCH_COMPARE=feathers: besides the baseline, "feathers" = Feathers v5 with the per-row resolver, "feathers-loader" = with a per-request dataloader',
      );
    if (database.pid) cpuRoles.set('database', database.pid);
    for (const target of targets) if (target.child.pid) cpuRoles.set(target.name, target.child.pid);
    log(targets.map((t) => `${t.name} on 127.0.0.1:${t.port} (pid ${t.child.pid})`).join(', '));

    for (const peer of peers) await checkSameAnswers(endpoints, service, peer);
    if (PREWARM_S > 0) {
      log(`pre-warming the servers and the database: ${PREWARM_S} s per server and endpoint (not measured)`);
      for (const endpoint of endpoints) {
        for (const target of targets)
          requireClean(`${endpoint.name} on ${target.name} (pre-warm)`, await load(target, endpoint, PREWARM_S));
      }
    }

    const names = targets.map((t) => t.name).join('/');
    log(
      `measuring: ${CONNECTIONS} connections, pipelining 1, ${WARMUP_S} s warm-up + ${DURATION_S} s per run, ` +
        `${ROUNDS} rounds of ${names} per endpoint`,
    );
    const runs: RunFigures[] = [];
    for (const endpoint of endpoints) {
      for (let round = 1; round <= ROUNDS; round++) {
        const order = ORDER === 'abba' && round % 2 === 0 ? [...targets].reverse() : targets;
        for (const target of order) runs.push(await measure(target, endpoint, round));
      }
    }

    const summaries = endpoints.flatMap((endpoint) => peers.map((peer) => summarize(endpoint, runs, peer.name, commands)));
    const report = {
      date: started.toISOString(),
      machine: {
        cpus: os.cpus().length,
        cpu_model: os.cpus()[0]?.model ?? 'unknown',
        memory_gb: Math.round(os.totalmem() / 2 ** 30),
        platform: `${os.platform()} ${os.release()}`,
        node: process.version,
        ...(COMPARE_NODE20 ? { baseline_node: baselineNode } : {}),
      },
      database: { mode: database.mode, description: database.description, seeded: { groups: GROUPS, accounts: ACCOUNTS } },
      settings: {
        connections: CONNECTIONS,
        pipelining: 1,
        duration_s: DURATION_S,
        warmup_s: WARMUP_S,
        prewarm_s: PREWARM_S,
        rounds: ROUNDS,
        servers: names,
        order: ORDER === 'abba' ? `ABBA: ${names} in odd rounds, the reverse in even rounds` : `ABAB: ${names} in every round`,
        cpu_prof: CPU_PROF,
        server_runtime: RUNTIME === 'tsx' ? 'tsx (esbuild, keepNames)' : 'tsc output (as npm start)',
      },
      disturbed_runs: runs
        .filter((r) => (r.cpu_cores?.other ?? 0) > OTHER_CPU_LIMIT)
        .map((r) => `${r.endpoint} ${r.target} round ${r.round}: other ${r.cpu_cores?.other} cores`),
      summary: summaries,
      runs,
    };
    mkdirSync(resultsDir, { recursive: true });
    const file = path.join(resultsDir, `api-${started.toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);

    process.stdout.write(
      `\nAPI bench — ${report.machine.cpus} CPU (${report.machine.cpu_model}), node ${report.machine.node}, ${database.description}\n` +
        `servers run as ${report.settings.server_runtime}; ${CONNECTIONS} connections, pipelining 1, ` +
        `${DURATION_S} s per run after ${WARMUP_S} s warm-up, ${ROUNDS} rounds ${names}\n\n` +
        `${table(summaries)}\n\n` +
        (report.disturbed_runs.length > 0
          ? `DISTURBED: other processes used more than ${OTHER_CPU_LIMIT} cores during ${report.disturbed_runs.length} run(s):\n  ${report.disturbed_runs.join('\n  ')}\n\n`
          : `no run was disturbed by other processes (each below ${OTHER_CPU_LIMIT} cores)\n\n`) +
        `written to ${path.relative(projectRoot, file)}\n`,
    );
    if (CPU_PROF)
      process.stdout.write(`CPU profiles of the servers: ${path.relative(projectRoot, profileDir)}/ (written as the servers stop)\n`);
    if (sink) {
      const { exports, bytes } = sink.received();
      process.stdout.write(
        `the OTLP sink received ${exports} exports (${Math.round(bytes / 1024)} KiB of spans) from the traced service\n`,
      );
    }
    return 0;
  } finally {
    clearTimeout(watchdog);
    await cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[bench] failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
