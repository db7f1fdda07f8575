import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { killSpawned, type Spawned } from '../helpers/processes.js';
import { uniqueDbName } from '../helpers/service.js';
import { PROCESS_KEY, runVerify, startApi, startWorker, walletEnv, type ApiProcess } from '../helpers/wallet-processes.js';

// The bank test: 3 API processes and the worker on one database, a storm of transfers, recharges and withdrawals,
// and kill -9 of API processes and of the worker while it runs (each restarted). Afterwards the books must balance
// to the unit, with nothing left pending. Beside the money, keyed creates (Idempotency-Key) retried across the same
// kills must each leave exactly one record. `npm run soak` runs a long one (BANK_OPS / BANK_KILLS).
const OPS = Number(process.env.BANK_OPS ?? 1000);
const KILLS = Number(process.env.BANK_KILLS ?? 20);
const WALLETS = 8;
const START_MONEY = 10_000;
const CONCURRENCY = 24;

const dbName = uniqueDbName('bank');
const env = walletEnv(dbName, {
  WORKER: 'off',
  FAULT_INJECTION: undefined,
  GATEWAY_SIM_DECLINE: '^decline-',
  IDEMPOTENCY_LEASE_MS: '1000',
});
/** One keyed group/create per this many money moves. */
const KEYED_EVERY = 10;
let client: MongoClient;
let db: Db;
const apis: Array<ApiProcess | undefined> = [];
let worker: Spawned | undefined;
const wallets: string[] = [];

/** A deterministic pseudo-random sequence, so a failing run can be replayed. */
function prng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}
const random = prng(Number(process.env.BANK_SEED ?? 20261201));

async function post(url: string, path: string, body: object, key?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${PROCESS_KEY}`,
      'content-type': 'application/json',
      ...(key === undefined ? {} : { 'idempotency-key': key }),
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, body: await res.json() };
}

/**
 * Sends to a live API process; a connection lost to a kill is retried (same out_trade_no, same Idempotency-Key) on
 * another one, as is a keyed request whose first attempt died holding its key (409 in progress, until its lease lapses).
 */
async function send(path: string, body: object, key?: string): Promise<{ status: number; body: any; retries: number }> {
  for (let attempt = 0; ; attempt++) {
    const live = apis.filter((a): a is ApiProcess => a !== undefined);
    const api = live[Math.floor(random() * live.length)];
    try {
      if (!api) throw new Error('no API process is up');
      const answer = await post(api.url, path, body, key);
      if (answer.status === 503 && attempt < 50) throw new Error('503 while a database connection recovers');
      if (answer.body?.error?.code === 'idempotency_in_progress' && attempt < 50) throw new Error('the first attempt holds the key');
      return { ...answer, retries: attempt };
    } catch (err) {
      if (attempt >= 50) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function unfinished(): Promise<number> {
  return await db.collection('wallet_transaction').countDocuments({ state: { $nin: ['done', 'canceled'] } });
}

async function waitSettled(timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let left = await unfinished();
  while (left > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    left = await unfinished();
  }
  return left;
}

beforeAll(async () => {
  client = new MongoClient(inject('mongoUrl'));
  db = client.db(dbName);
  for (let i = 0; i < 3; i++) apis.push(await startApi(env));
  worker = await startWorker(walletEnv(dbName, { FAULT_INJECTION: undefined }));
  for (let i = 0; i < WALLETS; i++) {
    const account = await send('/account/create', { name: `bank ${i}`, phone: `1770000${String(i).padStart(4, '0')}`, state: 100 });
    const wallet = await send('/wallet/create', { account_id: account.body._id });
    wallets.push(wallet.body._id as string);
    await send('/wallet/recharge', { wallet_id: wallet.body._id, money: START_MONEY, out_trade_no: `seed-${i}` });
  }
  expect(await waitSettled(60_000)).toBe(0);
}, 240_000);

afterAll(async () => {
  await Promise.all(apis.map((api) => api?.stop()));
  worker?.child.kill('SIGTERM');
  killSpawned();
  await db?.dropDatabase();
  await client?.close();
});

/** One operation of the storm: mostly transfers, some gateway recharges and withdrawals (a few declined). */
function operation(i: number): { path: string; body: object; key?: string } {
  const r = random();
  const wallet = () => wallets[Math.floor(random() * wallets.length)] as string;
  const money = 1 + Math.floor(random() * 800);
  if (r < 0.7) {
    const from = wallet();
    let to = wallet();
    while (to === from) to = wallet();
    return { path: '/wallet/transfer', body: { from_wallet_id: from, to_wallet_id: to, money, out_trade_no: `t-${i}` } };
  }
  const prefix = random() < 0.1 ? 'decline-' : '';
  if (r < 0.85) return { path: '/wallet/recharge', body: { wallet_id: wallet(), money, out_trade_no: `${prefix}r-${i}` } };
  return { path: '/wallet/withdraw', body: { wallet_id: wallet(), money, out_trade_no: `${prefix}w-${i}` } };
}

/** Kills a random API process (while another one is up) or the worker with SIGKILL, then starts it again. */
async function chaos(stop: () => boolean, kills: string[]): Promise<void> {
  while (!stop()) {
    await new Promise((resolve) => setTimeout(resolve, 300 + random() * 700));
    if (stop()) break;
    const slot = Math.floor(random() * 4);
    if (slot === 3) {
      const victim = worker;
      if (!victim) continue;
      victim.child.kill('SIGKILL');
      await victim.exited;
      kills.push('worker');
      worker = await startWorker(walletEnv(dbName, { FAULT_INJECTION: undefined }));
      continue;
    }
    const victim = apis[slot];
    if (!victim || apis.filter(Boolean).length < 2) continue;
    apis[slot] = undefined;
    victim.proc.child.kill('SIGKILL');
    await victim.proc.exited;
    kills.push(`api ${slot}`);
    apis[slot] = await startApi(env);
  }
}

describe('bank test with faults', () => {
  it(`${OPS} concurrent money moves with ${KILLS}+ kill -9 of API processes or the worker: the books balance`, async () => {
    const plan = Array.from({ length: OPS }, (_, i) => operation(i));
    // keyed creates among the money moves: each must be written once, whatever process dies when
    for (let i = plan.length - KEYED_EVERY; i >= 0; i -= KEYED_EVERY)
      plan.splice(i, 0, { path: '/group/create', body: { name: `bank group ${i}` }, key: `bank-group-${i}` });
    const keyedCount = plan.filter((op) => op.key !== undefined).length;
    const kills: string[] = [];
    const answers: Array<{ status: number; body: any; retries: number }> = [];
    const created: Array<{ name: string; status: number; body: any; retries: number }> = [];
    let next = 0;
    const lanes = Array.from({ length: CONCURRENCY }, async () => {
      while (next < plan.length) {
        const op = plan[next++] as { path: string; body: object; key?: string };
        const answer = await send(op.path, op.body, op.key);
        if (op.key === undefined) answers.push(answer);
        else created.push({ name: (op.body as { name: string }).name, ...answer });
      }
    });
    let done = false;
    const chaosRun = chaos(() => done || kills.length >= KILLS * 2, kills);
    await Promise.all(lanes);
    // the storm may end before the kills: go on killing (the worker and idle APIs) until there were enough
    while (kills.length < KILLS) await new Promise((resolve) => setTimeout(resolve, 200));
    done = true;
    await chaosRun;
    process.stderr.write(
      `[bank] ${answers.length} operations, ${kills.length} kills (${kills.filter((k) => k === 'worker').length} of the worker), ${answers.reduce((a, b) => a + b.retries, 0)} retries after lost connections; ${created.length} keyed creates, ${created.reduce((a, b) => a + b.retries, 0)} retries\n`,
    );

    // every keyed create answered 200 with the one record its name has
    expect(created).toHaveLength(keyedCount);
    const groups = await db
      .collection('group')
      .find({ name: { $regex: '^bank group ' } })
      .toArray();
    const idsByName = new Map<string, string[]>();
    for (const g of groups) idsByName.set(g.name, [...(idsByName.get(g.name) ?? []), g._id.toHexString()]);
    expect(created.filter((c) => c.status !== 200 || idsByName.get(c.name)?.join() !== c.body._id)).toEqual([]);
    expect(groups).toHaveLength(keyedCount);

    const outcomes = new Set(answers.map((a) => (a.status < 300 ? '2xx' : `${a.status} ${a.body?.error?.code}`)));
    for (const outcome of outcomes) expect(['2xx', '409 insufficient_funds']).toContain(outcome);
    expect(kills.length).toBeGreaterThanOrEqual(KILLS);

    // a worker is running (the chaos restarted it): everything pending is settled or rolled back
    expect(await waitSettled(120_000)).toBe(0);

    const walletDocs = await db.collection('wallet').find({}).toArray();
    for (const w of walletDocs) {
      expect(w.balance_money).toBeGreaterThanOrEqual(0);
      expect({ frozen: w.frozen_money, pending: w.pending_transactions }).toEqual({ frozen: 0, pending: [] });
    }
    // the money in the wallets is exactly what the gateway took in, less what it paid out
    const gateway = await db.collection('gateway_simulator').find({ status: 'succeeded' }).toArray();
    const charged = gateway.filter((g) => g.kind === 'charge').reduce((a, g) => a + (g.money as number), 0);
    const paidOut = gateway.filter((g) => g.kind === 'payout').reduce((a, g) => a + (g.money as number), 0);
    expect(walletDocs.reduce((a, w) => a + (w.balance_money as number), 0)).toBe(charged - paidOut);
    // each gateway order is one transaction, and its outcome is the transaction's
    const txs = await db
      .collection('wallet_transaction')
      .find({ type: { $in: ['recharge', 'withdraw'] } })
      .toArray();
    const txByKey = new Map(txs.map((tx) => [tx.out_trade_no as string, tx]));
    for (const g of gateway) {
      expect({
        key: g._id,
        state: txByKey.get(g._id as unknown as string)?.state,
        money: txByKey.get(g._id as unknown as string)?.money,
      }).toEqual({
        key: g._id,
        state: 'done',
        money: g.money,
      });
    }
    expect(txs.filter((tx) => tx.state === 'done').length).toBe(gateway.length);

    const verify = await runVerify(walletEnv(dbName, { FAULT_INJECTION: undefined }));
    // what verify checked, for the figures in docs/reliability.md
    process.stderr.write(
      `[bank] verify: ${verify.output.split('\n').find((line) => line.startsWith('wallets:')) ?? verify.output.slice(0, 200)}\n`,
    );
    expect(verify.output).toContain('books OK');
    // every wallet's audit trail, written beside the money through all the kills, replays to its balance
    expect(verify.output).toMatch(/audit trail replays to the balances: \d+ wallet\(s\)/);
    expect(verify.output).not.toContain('without a trail');
    expect(verify.code).toBe(0);
  }, 900_000);
});
