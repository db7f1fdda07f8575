import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { killSpawned } from '../helpers/processes.js';
import { uniqueDbName } from '../helpers/service.js';
import { runVerify, startApi, startWorker, walletEnv, type ApiProcess } from '../helpers/wallet-processes.js';

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
  const deadline = Date.now() + 30_000;
  while ((await db.collection('wallet_transaction').countDocuments({ state: { $ne: 'done' } })) > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  worker.child.kill('SIGTERM');
  await worker.exited;
}, 120_000);

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
    return { balance: doc?.balance_money as number, frozen: doc?.frozen_money as number, pending: (doc?.pending_transactions as unknown[]).length };
  });
}

describe('concurrent transfers across processes', () => {
  it('200 concurrent transfers over 4 wallets: total unchanged, none negative, nothing frozen, every answer 200 or insufficient_funds', async () => {
    const total = START.reduce((a, b) => a + b, 0);
    // deterministic pseudo-random plan, amounts large enough that many transfers must be refused
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const plan = Array.from({ length: 200 }, (_, i) => {
      const from = Math.floor(random() * 4);
      const to = (from + 1 + Math.floor(random() * 3)) % 4;
      return { from_wallet_id: wallets[from], to_wallet_id: wallets[to], money: 1 + Math.floor(random() * 900), out_trade_no: `storm-${i}` };
    });
    const answers = await Promise.all(plan.map((body, i) => (apis[i % 2] as ApiProcess).call('/wallet/transfer', body)));

    const outcomes = answers.map((a) => (a.status === 200 ? `200 ${a.body.state}` : `${a.status} ${a.body.error?.code}`));
    const kinds = new Set(outcomes);
    for (const kind of kinds) expect(['200 done', '409 insufficient_funds']).toContain(kind);
    const done = outcomes.filter((o) => o === '200 done').length;
    expect(done).toBeGreaterThan(50);
    expect(done).toBeLessThan(200);

    const after = await balances();
    expect(after.reduce((sum, w) => sum + w.balance, 0)).toBe(total);
    for (const wallet of after) {
      expect(wallet.balance).toBeGreaterThanOrEqual(0);
      expect(wallet).toMatchObject({ frozen: 0, pending: 0 });
    }
    // each wallet's balance is its start plus what the answered transfers say
    const expected = new Map(wallets.map((id, i) => [id, START[i] as number]));
    answers.forEach((answer, i) => {
      if (answer.status !== 200) return;
      const { from_wallet_id, to_wallet_id, money } = plan[i] as { from_wallet_id: string; to_wallet_id: string; money: number };
      expected.set(from_wallet_id, (expected.get(from_wallet_id) as number) - money);
      expected.set(to_wallet_id, (expected.get(to_wallet_id) as number) + money);
    });
    expect(after.map((w) => w.balance)).toEqual([...expected.values()]);
    expect(await db.collection('wallet_transaction').countDocuments({ type: 'transfer', state: 'done' })).toBe(done);

    const verify = await runVerify(walletEnv(dbName));
    expect(verify.output).toContain('books OK');
    expect(verify.code).toBe(0);
  });

  it('20 copies of one transfer split over both processes: one transaction, money moved once', async () => {
    const before = await balances();
    // from the richest wallet (the storm above decided who has money) to another one
    const from = before.reduce((best, w, i) => (w.balance > (before[best] as { balance: number }).balance ? i : best), 0);
    const to = (from + 1) % wallets.length;
    const body = { from_wallet_id: wallets[from], to_wallet_id: wallets[to], money: 1, out_trade_no: 'twenty-copies' };
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (apis[i % 2] as ApiProcess).call('/wallet/transfer', body)));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(new Set(answers.map((a) => a.body._id)).size).toBe(1);
    expect(new Set(answers.map((a) => a.body.state))).toEqual(new Set(['done']));
    expect(await db.collection('wallet_transaction').countDocuments({ out_trade_no: 'twenty-copies' })).toBe(1);
    const after = await balances();
    expect(after[from]?.balance).toBe((before[from]?.balance as number) - 1);
    expect(after[to]?.balance).toBe((before[to]?.balance as number) + 1);
  });
});
