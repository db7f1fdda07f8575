import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { killSpawned } from '../helpers/processes.js';
import { uniqueDbName } from '../helpers/service.js';
import { runCli, runVerify, startApi, startWorker, walletEnv, type ApiProcess } from '../helpers/wallet-processes.js';

// Two API processes on one database, hit at the same time: the guarantees must hold across processes.
const dbName = uniqueDbName('concurrency');
let client: MongoClient;
let db: Db;
let apis: ApiProcess[];
const wallets: string[] = [];
const START = [5_000, 3_000, 1_000, 500];

beforeAll(async () => {
  client = new MongoClient(inject('mongoUrl'));
  db = client.db(dbName);
  apis = await Promise.all([startApi(walletEnv(dbName, { WORKER: 'off' })), startApi(walletEnv(dbName, { WORKER: 'off' }))]);
  const api = apis[0] as ApiProcess;
  for (const [i, money] of START.entries()) {
    const account = await api.call('/account/create', { name: `c${i}`, phone: `1990000${i}000`, state: 100 });
    const wallet = (await api.call('/wallet/create', { account_id: account.body._id })).body._id as string;
    wallets.push(wallet);
    await api.call('/wallet/recharge', { wallet_id: wallet, money, out_trade_no: `seed-${i}` });
  }
  const worker = await startWorker(walletEnv(dbName));
  const deadline = Date.now() + 90_000;
  while ((await db.collection('wallet_transaction').countDocuments({ state: { $ne: 'done' } })) > 0) {
    if (Date.now() > deadline) throw new Error('the funding recharges did not settle in 90 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  worker.child.kill('SIGTERM');
  await worker.exited;
}, 180_000);

afterAll(async () => {
  await Promise.all((apis ?? []).map((api) => api.stop()));
  killSpawned();
  await db?.dropDatabase();
  await client?.close();
});

async function balances(): Promise<Array<{ balance: number; frozen: number; pending: number }>> {
  const docs = await db.collection('wallet').find({}).toArray();
  return wallets.map((id) => {
    const doc = docs.find((d) => d._id.toHexString() === id);
    return {
      balance: doc?.balance_money as number,
      frozen: doc?.frozen_money as number,
      pending: (doc?.pending_transactions as unknown[]).length,
    };
  });
}

/** What an answer says of its transfer: done, refused, or still in progress (a request that lost its hold under load). */
function outcomeOf(answer: { status: number; body: any }): 'done' | 'refused' | 'in_progress' | string {
  if (answer.status === 200 && answer.body.state === 'done') return 'done';
  if (answer.status === 409 && answer.body.error?.code === 'insufficient_funds') return 'refused';
  if (answer.status === 202 && ['initial', 'pending', 'applied', 'canceling'].includes(answer.body.state)) return 'in_progress';
  return `unexpected ${answer.status} ${JSON.stringify(answer.body)}`;
}

describe('concurrent transfers across processes', () => {
  it('200 concurrent transfers over 4 wallets: each ends as answered or finishes by recovery, the books balanced', async () => {
    const total = START.reduce((a, b) => a + b, 0);
    // deterministic pseudo-random plan, amounts large enough that many transfers must be refused
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const plan = Array.from({ length: 200 }, (_, i) => {
      const from = Math.floor(random() * 4);
      const to = (from + 1 + Math.floor(random() * 3)) % 4;
      return {
        from_wallet_id: wallets[from],
        to_wallet_id: wallets[to],
        money: 1 + Math.floor(random() * 900),
        out_trade_no: `storm-${i}`,
      };
    });
    const answers = await Promise.all(plan.map((body, i) => (apis[i % 2] as ApiProcess).call('/wallet/transfer', body)));
    const outcomes = answers.map(outcomeOf);
    expect(outcomes.filter((o) => !['done', 'refused', 'in_progress'].includes(o))).toEqual([]);

    // on a loaded machine a request can lose its hold (its writes fenced) and answer "in progress": once the
    // holds ran out, recovery finishes those
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await runCli(walletEnv(dbName), ['wallet', 'recover'])).code).toBe(0);
    const states = new Map(
      (await db.collection('wallet_transaction').find({ type: 'transfer' }).toArray()).map((tx) => [tx.out_trade_no as string, tx]),
    );
    const finals = plan.map((body) => states.get(body.out_trade_no)?.state);
    outcomes.forEach((outcome, i) => {
      const want = outcome === 'done' ? ['done'] : outcome === 'refused' ? ['canceled'] : ['done', 'canceled'];
      expect(want, `${plan[i]?.out_trade_no} answered ${outcome}`).toContain(finals[i]);
    });
    // the amounts are such that the wallets run dry: both ends happen (how many of each depends on the timing)
    expect(new Set(finals)).toEqual(new Set(['done', 'canceled']));

    const after = await balances();
    expect(after.reduce((sum, w) => sum + w.balance, 0)).toBe(total);
    expect(after.map((w) => ({ negative: w.balance < 0, frozen: w.frozen, pending: w.pending }))).toEqual(
      after.map(() => ({ negative: false, frozen: 0, pending: 0 })),
    );
    // each wallet's balance is its start plus the transfers that ended done
    const expected = new Map(wallets.map((id, i) => [id, START[i] as number]));
    plan.forEach(({ from_wallet_id, to_wallet_id, money }, i) => {
      const moved = finals[i] === 'done' ? money : 0;
      expected.set(from_wallet_id as string, (expected.get(from_wallet_id as string) as number) - moved);
      expected.set(to_wallet_id as string, (expected.get(to_wallet_id as string) as number) + moved);
    });
    expect(after.map((w) => w.balance)).toEqual([...expected.values()]);

    const verify = await runVerify(walletEnv(dbName));
    expect(verify.output).toContain('books OK');
    expect(verify.code).toBe(0);
  }, 120_000); // 200 requests, recovery and verify, as processes on a shared 2-core machine

  it('20 copies of one transfer split over both processes: one transaction, money moved once', async () => {
    const before = await balances();
    // from the richest wallet (the storm above decided who has money) to another one
    const from = before.reduce((best, w, i) => (w.balance > (before[best] as { balance: number }).balance ? i : best), 0);
    const to = (from + 1) % wallets.length;
    const body = { from_wallet_id: wallets[from], to_wallet_id: wallets[to], money: 1, out_trade_no: 'twenty-copies' };
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (apis[i % 2] as ApiProcess).call('/wallet/transfer', body)));
    // each copy is done, or (a copy that waited past WALLET_RETRY_WAIT_MS on a loaded machine) 202 "in progress",
    // which the README documents as a valid answer: ask again
    expect(answers.map(outcomeOf).filter((o) => o !== 'done' && o !== 'in_progress')).toEqual([]);
    expect(new Set(answers.map((a) => a.body._id)).size).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await runCli(walletEnv(dbName), ['wallet', 'recover'])).code).toBe(0);
    const stored = await db.collection('wallet_transaction').find({ out_trade_no: 'twenty-copies' }).toArray();
    expect(stored.map((tx) => ({ _id: tx._id.toHexString(), state: tx.state }))).toEqual([{ _id: answers[0]?.body._id, state: 'done' }]);
    const after = await balances();
    expect(after[from]?.balance).toBe((before[from]?.balance as number) - 1);
    expect(after[to]?.balance).toBe((before[to]?.balance as number) + 1);
  }, 60_000);

  it('20 racing refunds of 100 on a collect of 1000, split over both processes: exactly 10 pay, never more than collected', async () => {
    const before = await balances();
    const payer = before.reduce((best, w, i) => (w.balance > (before[best] as { balance: number }).balance ? i : best), 0);
    const merchant = (payer + 1) % wallets.length;
    const collect = await (apis[0] as ApiProcess).call('/wallet/collect', {
      merchant_wallet_id: wallets[merchant],
      payer_wallet_id: wallets[payer],
      money: 1000,
      out_trade_no: 'race-order',
    });
    expect(collect.body.state).toBe('done');
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (apis[i % 2] as ApiProcess).call('/wallet/refund', {
          collect_out_trade_no: 'race-order',
          money: 100,
          out_trade_no: `race-refund-${i}`,
        }),
      ),
    );
    // every answer is a paid refund, a refusal for what is left, or (on a loaded machine) "in progress"
    const outcomes = answers.map((a) =>
      a.status === 200 && a.body.state === 'done'
        ? 'done'
        : a.status === 202
          ? 'in_progress'
          : `${a.status} ${a.body.error?.fields?.[0]?.messages?.[0]}`,
    );
    expect(outcomes.filter((o) => !['done', 'in_progress', '409 is more than is left to refund'].includes(o))).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await runCli(walletEnv(dbName), ['wallet', 'recover'])).code).toBe(0);
    const refunds = await db
      .collection('wallet_transaction')
      .find({ type: 'refund', out_trade_no: /^race-refund-/ })
      .toArray();
    expect(refunds.filter((r) => r.state === 'done')).toHaveLength(10);
    expect(refunds.filter((r) => r.state === 'canceled')).toHaveLength(10);
    expect((await db.collection('wallet_transaction').findOne({ out_trade_no: 'race-order' }))?.refunded_money).toBe(1000);
    const after = await balances();
    expect([after[payer]?.balance, after[merchant]?.balance]).toEqual([before[payer]?.balance, before[merchant]?.balance]);
    const verify = await runVerify(walletEnv(dbName));
    expect(verify.output).toContain('books OK');
  }, 120_000);
});
