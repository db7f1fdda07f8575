import { Long, MongoClient, ObjectId, type Db } from 'mongodb';
import { createLogger } from '../src/core/logger.js';
import { gatewayCallBudgetMs, loadPaymentsConfig } from '../src/payments/config.js';
import { createGateway } from '../src/payments/gateway.js';
import { PaymentWorker } from '../src/payments/worker.js';
import { verifyBooks } from '../src/payments/verify.js';
import { openingAudit } from '../src/payments/audit.js';
import { createEngine, createWorker } from '../src/service.js';
import { provisionBenchDatabase } from './database.js';
import { WorkerTrace } from './worker-trace.js';

const PAYMENTS = Number(process.env.BENCH_PAYMENTS ?? 600);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,8,32').split(',').map(Number);
const LATENCIES = (process.env.BENCH_LATENCIES ?? '0,100').split(',').map(Number);
/** BENCH_TRACE=1: where the worker's slots sat idle, per scenario on stderr (worker-trace.ts). */
const TRACE = process.env.BENCH_TRACE === '1';
const WALLETS = 20;
const MONEY = 100;

interface Result {
  latencyMs: number;
  concurrency: number;
  payments: number;
  seconds: number;
  perSecond: number;
  booksOk: boolean;
}

async function main(): Promise<void> {
  const database = await provisionBenchDatabase();
  const client = new MongoClient(database.url);
  const results: Result[] = [];
  try {
    for (const latencyMs of LATENCIES) {
      for (const concurrency of CONCURRENCY) {
        // with latency, size the run to a few seconds at the expected rate
        const payments = latencyMs === 0 ? PAYMENTS : Math.max(40, Math.round((40 * concurrency * 100) / Math.max(latencyMs, 1)));
        const db = client.db(`bench_worker_${latencyMs}_${concurrency}_${Date.now()}`);
        results.push(await scenario(db, latencyMs, concurrency, payments));
        await db.dropDatabase();
        const last = results[results.length - 1] as Result;
        process.stderr.write(
          `latency ${latencyMs} ms, concurrency ${concurrency}: ${last.perSecond.toFixed(1)}/s (${last.payments} in ${last.seconds.toFixed(2)} s)${last.booksOk ? '' : ' BOOKS BROKEN'}\n`,
        );
      }
    }
  } finally {
    await client.close();
    await database.stop();
  }
  report(results);
  if (results.some((r) => !r.booksOk)) process.exitCode = 1;
}

/** N pending recharges, one worker, the time until none is pending. */
async function scenario(db: Db, latencyMs: number, concurrency: number, payments: number): Promise<Result> {
  await seed(db, payments);
  const config = loadPaymentsConfig({ GATEWAY_SIM_LATENCY_MS: String(latencyMs), WORKER_CONCURRENCY: String(concurrency) });
  const logger = createLogger({ level: 'silent', pretty: false });
  const engine = createEngine(config);
  const trace = TRACE ? new WorkerTrace() : undefined;
  const worker = trace
    ? new PaymentWorker({
        db,
        engine,
        gateway: trace.gateway(createGateway(config.gateway, db)),
        config: config.worker,
        callBudgetMs: gatewayCallBudgetMs(config.gateway),
        log: logger,
      })
    : createWorker(db, engine, config, logger);
  trace?.attach(engine, worker);
  const started = process.hrtime.bigint();
  worker.start();
  while ((await db.collection('wallet_transaction').countDocuments({ state: 'pending' })) > 0) await sleep(20);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await worker.stop();
  const books = await verifyBooks(db, { requireSettled: true });
  if (trace) process.stderr.write(trace.summary(concurrency, latencyMs));
  return {
    latencyMs,
    concurrency,
    payments,
    seconds,
    perSecond: payments / seconds,
    booksOk: books.ok && books.by_state.done === payments,
  };
}

/** Wallets and recharges as wallet/recharge leaves them: pending, the money added and frozen, the id held. */
async function seed(db: Db, payments: number): Promise<void> {
  const now = new Date();
  const wallets = Array.from({ length: WALLETS }, () => ({ _id: new ObjectId(), ids: [] as ObjectId[] }));
  const txs = Array.from({ length: payments }, (_, i) => {
    const wallet = wallets[i % WALLETS] as { _id: ObjectId; ids: ObjectId[] };
    const _id = new ObjectId();
    wallet.ids.push(_id);
    return {
      _id,
      type: 'recharge',
      wallet_id: wallet._id,
      to_wallet_id: null,
      money: Long.fromNumber(MONEY),
      out_trade_no: `bench-${i}`,
      gateway_trade_no: null,
      state: 'pending',
      error: null,
      attempts: 0,
      next_attempt_at: now,
      lock_owner: null,
      lock_until: new Date(0),
      created_at: now,
      updated_at: now,
    };
  });
  await db.collection('wallet_transaction').insertMany(txs);
  await db.collection('wallet').insertMany(
    wallets.map((w) => ({
      _id: w._id,
      account_id: new ObjectId(),
      balance_money: Long.fromNumber(MONEY * w.ids.length),
      frozen_money: Long.fromNumber(MONEY * w.ids.length),
      pending_transactions: w.ids,
      // the applied recharges' money with its audit entries, so wallet verify's replay of the trail holds at the end
      ...openingAudit({ who: 'bench:seed', request_id: null }, { balance: MONEY * w.ids.length, frozen: MONEY * w.ids.length }),
      state: 100,
      created_at: now,
      updated_at: now,
    })),
  );
}

function report(results: Result[]): void {
  const lines = [
    '| gateway latency | WORKER_CONCURRENCY | payments | seconds | payments/s | vs concurrency 1 | books |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results) {
    const base = results.find((b) => b.latencyMs === r.latencyMs && b.concurrency === 1);
    const ratio = base ? `${(r.perSecond / base.perSecond).toFixed(2)}×` : '—';
    lines.push(
      `| ${r.latencyMs} ms | ${r.concurrency} | ${r.payments} | ${r.seconds.toFixed(2)} | ${r.perSecond.toFixed(1)} | ${ratio} | ${r.booksOk ? 'ok' : 'BROKEN'} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
