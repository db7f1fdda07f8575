/**
 * Transfers per second through the API versus the same conditional updates issued directly through the driver,
 * on the same database, in the same run (issue #4). Run: npm run bench:transfers
 *
 * A: POST /wallet/transfer against the service in a child process (compiled, as npm start runs it; WORKER=off,
 *    NODE_ENV=production, LOG_LEVEL=warn), load from autocannon.
 * B: in this process, the eight writes of one transfer done by hand with the driver — insert the transaction,
 *    initial→pending, debit source, credit destination, pending→applied, commit both, applied→done — with the same
 *    filters and updates the engine uses, from the same number of concurrent loops.
 * Rounds alternate ABBA to cancel drift. Env: BENCH_SECONDS (per round, default 8), BENCH_ROUNDS (2),
 * BENCH_CONNECTIONS (10), BENCH_WALLETS (50), MONGODB_URL (else the embedded server in memory).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Long, MongoClient, ObjectId, type Db } from 'mongodb';
import { freePort } from '../src/local-db/processes.js';
import { MAX_BALANCE } from '../src/payments/legs.js';
import { verifyBooks } from '../src/payments/verify.js';
import { auditEntry, auditUpdate, flushAudit, openingAudit } from '../src/payments/audit.js';
import { provisionBenchDatabase } from './database.js';

const SEEDER = { who: 'bench:seed', request_id: null };

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const WALLETS = Number(process.env.BENCH_WALLETS ?? 50);
const KEY = 'bench-transfers-secret-0123456789';
const FUNDS = 1_000_000_000;

async function main(): Promise<void> {
  const database = await provisionBenchDatabase();
  const dbName = `bench_transfers_${Date.now()}`;
  const client = new MongoClient(database.url);
  let service: ChildProcess | undefined;
  try {
    const db = client.db(dbName);
    const wallets = await seed(db);
    const port = await freePort();
    // the service as npm start runs it: compiled by tsc, plain node
    const build = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
      cwd: root,
      stdio: 'inherit',
    });
    if (build.status !== 0) throw new Error('tsc failed');
    service = spawn(process.execPath, ['dist/main.js'], {
      cwd: root,
      env: {
        ...process.env,
        MONGODB_URL: database.url,
        MONGODB_DB: dbName,
        PORT: String(port),
        API_KEYS: `bench:${KEY}`,
        WORKER: 'off',
        LOG_LEVEL: 'warn',
        NODE_ENV: 'production',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    await waitForHttp(`http://127.0.0.1:${port}/healthz`);

    // warm-up of both paths (JIT, connection pools)
    await runApi(port, wallets, 5);
    await runDirect(db, wallets, 5);

    const api: Array<{ rps: number; p99: number; errors: number }> = [];
    const direct: Array<{ rps: number; p99: number; errors: number }> = [];
    // ABBA order: the embedded server slows down as its data grows, and alternating who goes first cancels that drift
    for (let round = 0; round < ROUNDS; round++) {
      const runA = async () => api.push(await runApi(port, wallets, SECONDS));
      const runB = async () => direct.push(await runDirect(db, wallets, SECONDS));
      if (round % 2 === 0) {
        await runA();
        await runB();
      } else {
        await runB();
        await runA();
      }
      process.stderr.write(`round ${round + 1}: api ${api.at(-1)?.rps.toFixed(0)} tx/s, direct ${direct.at(-1)?.rps.toFixed(0)} tx/s\n`);
    }
    // autocannon stops by dropping its connections; the service still finishes what it had started
    const deadline = Date.now() + 30_000;
    while (
      (await db.collection('wallet_transaction').countDocuments({ state: { $nin: ['done', 'canceled'] } })) > 0 &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const books = await verifyBooks(db, { requireSettled: true });
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, memory_gb: Math.round(totalmem() / 2 ** 30), node: process.version },
      database: database.description,
      settings: {
        seconds_per_round: SECONDS,
        rounds: ROUNDS,
        order: 'ABBA',
        connections: CONNECTIONS,
        wallets: WALLETS,
        service: 'dist/main.js (tsc), NODE_ENV=production, LOG_LEVEL=warn, WORKER=off',
      },
      api: {
        tx_per_s: round1(mean(api.map((r) => r.rps))),
        p99_ms: Math.max(...api.map((r) => r.p99)),
        errors: api.reduce((a, r) => a + r.errors, 0),
        rounds: api,
      },
      direct: {
        tx_per_s: round1(mean(direct.map((r) => r.rps))),
        p99_ms: Math.max(...direct.map((r) => r.p99)),
        errors: direct.reduce((a, r) => a + r.errors, 0),
        rounds: direct,
      },
      ratio: round3(mean(api.map((r) => r.rps)) / mean(direct.map((r) => r.rps))),
      target: 0.8,
      books_ok: books.ok,
      transactions: books.transactions,
    };
    mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
    const file = path.join(root, 'bench', 'results', `transfers-${result.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(
      [
        '',
        `transfers, ${CONNECTIONS} concurrent, ${ROUNDS} x ${SECONDS}s rounds, ${WALLETS} wallets, ${database.description}`,
        `  through the API        ${result.api.tx_per_s.toFixed(1).padStart(8)} tx/s   p99 ${result.api.p99_ms} ms   errors ${result.api.errors}`,
        `  direct driver updates  ${result.direct.tx_per_s.toFixed(1).padStart(8)} tx/s   p99 ${result.direct.p99_ms} ms   errors ${result.direct.errors}`,
        `  ratio API/direct       ${result.ratio.toFixed(3)}   (target >= ${result.target}: ${result.ratio >= result.target ? 'met' : 'NOT met'})`,
        `  books after the run    ${books.ok ? 'OK' : 'BROKEN'} (${books.transactions} transactions)`,
        `  written to ${path.relative(root, file)}`,
        '',
      ].join('\n'),
    );
    if (!books.ok)
      process.stdout.write(
        `books broken:\n${books.breaks
          .slice(0, 20)
          .map((b) => `  ${JSON.stringify(b)}`)
          .join('\n')}\n`,
      );
    if (!books.ok || result.api.errors > 0 || result.direct.errors > 0) process.exitCode = 1;
  } finally {
    service?.kill('SIGTERM');
    await client
      .db(dbName)
      .dropDatabase()
      .catch(() => undefined);
    await client.close();
    await database.stop();
  }
}

/** Wallets with plenty of money, and the done recharges that put it there (so the books check out). */
async function seed(db: Db): Promise<ObjectId[]> {
  const now = new Date();
  const wallets = Array.from({ length: WALLETS }, () => new ObjectId());
  const accounts = wallets.map((_, i) => ({
    _id: new ObjectId(),
    name: `bench ${i}`,
    phone: `1300000${String(i).padStart(4, '0')}`,
    state: 100,
    created_at: now,
    updated_at: now,
  }));
  await db.collection('account').insertMany(accounts);
  await db.collection('wallet').insertMany(
    wallets.map((_id, i) => ({
      _id,
      account_id: accounts[i]?._id,
      state: 100,
      balance_money: Long.fromNumber(FUNDS),
      frozen_money: Long.ZERO,
      pending_transactions: [],
      // the opening money with its audit entries, so wallet verify's replay of the trail holds at the end
      ...openingAudit(SEEDER, { balance: FUNDS, frozen: 0 }),
      created_at: now,
      updated_at: now,
    })),
  );
  await db.collection('wallet_transaction').insertMany(
    wallets.map((wallet, i) => ({
      type: 'recharge',
      wallet_id: wallet,
      to_wallet_id: null,
      money: Long.fromNumber(FUNDS),
      out_trade_no: `seed-${i}`,
      gateway_trade_no: 'SEED',
      state: 'done',
      error: null,
      attempts: 1,
      next_attempt_at: now,
      lock_owner: null,
      lock_until: new Date(0),
      created_at: now,
      updated_at: now,
    })),
  );
  await db.collection('wallet_transaction').createIndex({ out_trade_no: 1 }, { unique: true, name: 'out_trade_no_1' });
  return wallets;
}

let sequence = 0;
function nextTransfer(wallets: ObjectId[]): { from: ObjectId; to: ObjectId; money: number; outTradeNo: string } {
  const n = sequence++;
  const from = wallets[n % wallets.length] as ObjectId;
  const to = wallets[(n * 7 + 1) % wallets.length] as ObjectId;
  return {
    from,
    to: to.equals(from) ? (wallets[(n + 1) % wallets.length] as ObjectId) : to,
    money: 1 + (n % 97),
    outTradeNo: `bench-${process.pid}-${n}`,
  };
}

async function runApi(port: number, wallets: ObjectId[], seconds: number): Promise<{ rps: number; p99: number; errors: number }> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/wallet/transfer',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
        setupRequest: (request) => {
          const t = nextTransfer(wallets);
          return {
            ...request,
            body: JSON.stringify({
              from_wallet_id: t.from.toHexString(),
              to_wallet_id: t.to.toHexString(),
              money: t.money,
              out_trade_no: t.outTradeNo,
            }),
          };
        },
      },
    ],
  });
  return { rps: result.requests.average, p99: result.latency.p99, errors: result.errors + result.non2xx };
}

/** The engine's writes for one transfer, by hand. */
async function transferDirect(db: Db, t: { from: ObjectId; to: ObjectId; money: number; outTradeNo: string }): Promise<void> {
  const txs = db.collection('wallet_transaction');
  const wallets = db.collection('wallet');
  const owner = 'bench-direct';
  const now = () => new Date();
  const lockUntil = () => new Date(Date.now() + 30_000);
  const _id = new ObjectId();
  const money = Long.fromNumber(t.money);
  const fail = (step: string) => {
    throw new Error(`direct transfer failed at ${step}`);
  };
  // each wallet write carries its audit entry, as the engine's legs do (payments/audit.ts)
  const audited = (action: 'apply' | 'commit', balance: number, frozen: number, role: 'transfer_source' | 'transfer_destination') =>
    auditUpdate(auditEntry({ who: owner, request_id: null }, action, { balance, frozen, tx_id: _id, tx_type: 'transfer', role }));
  await txs.insertOne({
    _id,
    type: 'transfer',
    wallet_id: t.from,
    to_wallet_id: t.to,
    money,
    out_trade_no: t.outTradeNo,
    gateway_trade_no: null,
    state: 'initial',
    error: null,
    attempts: 0,
    next_attempt_at: now(),
    lock_owner: owner,
    lock_until: lockUntil(),
    created_at: now(),
    updated_at: now(),
  });
  const cas = async (from: string, to: string, release = false) => {
    const r = await txs.updateOne(
      { _id, state: from, lock_owner: owner },
      { $set: { state: to, updated_at: now(), lock_owner: release ? null : owner, lock_until: release ? new Date(0) : lockUntil() } },
    );
    if (r.matchedCount !== 1) fail(to);
  };
  await cas('initial', 'pending');
  const fence = new Date(Date.now() + 20_000);
  const debit = await wallets.updateOne(
    {
      _id: t.from,
      state: 100,
      pending_transactions: { $ne: _id },
      $expr: { $and: [{ $gte: [{ $subtract: ['$balance_money', '$frozen_money'] }, t.money] }, { $lt: ['$$NOW', fence] }] },
    },
    {
      $push: { pending_transactions: _id, ...audited('apply', -t.money, 0, 'transfer_source').push },
      $set: { updated_at: now() },
      $inc: { balance_money: Long.fromNumber(-t.money), audit_seq: 1 },
    } as never,
  );
  if (debit.matchedCount !== 1) fail('debit');
  const credit = await wallets.updateOne(
    {
      _id: t.to,
      state: 100,
      pending_transactions: { $ne: _id },
      $expr: { $and: [{ $lte: [{ $add: ['$balance_money', t.money] }, MAX_BALANCE] }, { $lt: ['$$NOW', fence] }] },
    },
    {
      $push: { pending_transactions: _id, ...audited('apply', t.money, t.money, 'transfer_destination').push },
      $set: { updated_at: now() },
      $inc: { balance_money: money, frozen_money: money, audit_seq: 1 },
    } as never,
  );
  if (credit.matchedCount !== 1) fail('credit');
  await cas('pending', 'applied');
  await wallets.updateOne({ _id: t.from, pending_transactions: _id }, {
    $pull: { pending_transactions: _id },
    $push: audited('commit', 0, 0, 'transfer_source').push,
    $set: { updated_at: now() },
    $inc: { audit_seq: 1 },
  } as never);
  await wallets.updateOne({ _id: t.to, pending_transactions: _id }, {
    $pull: { pending_transactions: _id },
    $push: audited('commit', 0, -t.money, 'transfer_destination').push,
    $set: { updated_at: now() },
    $inc: { frozen_money: Long.fromNumber(-t.money), audit_seq: 1 },
  } as never);
  await cas('applied', 'done', true);
  // and the engine's move of the audit entries into wallet_audit (one read, one insert, one pull)
  await flushAudit(db, [t.from, t.to]);
}

async function runDirect(db: Db, wallets: ObjectId[], seconds: number): Promise<{ rps: number; p99: number; errors: number }> {
  const deadline = Date.now() + seconds * 1000;
  const latencies: number[] = [];
  let errors = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < deadline) {
        const started = performance.now();
        try {
          await transferDirect(db, nextTransfer(wallets));
          latencies.push(performance.now() - started);
        } catch {
          errors += 1;
        }
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / seconds, p99: Math.round(latencies[Math.floor(latencies.length * 0.99)] ?? 0), errors };
}

async function waitForHttp(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`service did not answer ${url}`);
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
