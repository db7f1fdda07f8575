import { MongoClient, ObjectId, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { crashPoints } from '../../src/payments/flow.js';
import { isFinal, type TxState } from '../../src/payments/transactions.js';
import { killSpawned } from '../helpers/processes.js';
import { uniqueDbName } from '../helpers/service.js';
import { runVerify, startApi, startWorker, walletEnv, type ApiProcess } from '../helpers/wallet-processes.js';

// For every point between two steps of recharge, withdraw and transfer, a process (the API or the worker) is
// killed with SIGKILL right there; a fresh worker then recovers, and the books must balance with every
// transaction in a final state, and the audit trail must replay to every balance.

const dbName = uniqueDbName('crash');
let client: MongoClient;
let db: Db;
let api: ApiProcess;
const pool: string[] = [];
const FUNDS = 10_000;
const MONEY = 1_000;

beforeAll(async () => {
  client = new MongoClient(inject('mongoUrl'));
  db = client.db(dbName);
  api = await startApi(walletEnv(dbName, { WORKER: 'off' }));
  for (let i = 0; i < 2 * crashPoints().length; i++) {
    const account = await api.call('/account/create', { name: `crash ${i}`, phone: `1880000${String(i).padStart(4, '0')}`, state: 100 });
    const wallet = await api.call('/wallet/create', { account_id: account.body._id });
    pool.push(wallet.body._id as string);
    await api.call('/wallet/recharge', { wallet_id: wallet.body._id, money: FUNDS, out_trade_no: `fund-${i}` });
  }
  const worker = await startWorker(walletEnv(dbName));
  await waitUntil(async () => (await db.collection('wallet_transaction').countDocuments({ state: { $ne: 'done' } })) === 0, 'funding');
  worker.child.kill('SIGTERM');
  await worker.exited;
}, 300_000); // 116 funded wallets, as processes on a shared machine

afterAll(async () => {
  await api?.stop();
  killSpawned();
  await db?.dropDatabase();
  await client?.close();
});

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function balanceOf(wallet: string): Promise<{ balance: number; frozen: number }> {
  const doc = await db.collection('wallet').findOne({ _id: new ObjectId(wallet) });
  return { balance: doc?.balance_money as number, frozen: doc?.frozen_money as number };
}

// who dies is who holds the transaction at that point on its way (flow.ts); the way to `canceled` is a decline by
// the gateway, or a transfer to a disabled wallet
const cases = crashPoints().map(({ point, type, end, actor }) => ({
  point,
  type,
  crashes: actor === 'worker' ? 'worker' : 'api',
  outcome: end,
}));

describe('crash between any two steps, then recovery', () => {
  it('covers every step of recharge, withdraw, transfer, collect, refund', () => {
    expect(cases.length).toBeGreaterThanOrEqual(58);
    expect(cases.filter((c) => c.crashes === 'worker').length).toBeGreaterThanOrEqual(10);
  });

  it.each(cases)(
    '$point ($crashes dies, ends $outcome)',
    async ({ point, type, crashes, outcome }) => {
      // `from` is the wallet charged, `to` the one credited; the gateway kinds have `from` only
      const from = pool.pop() as string;
      const to = pool.pop() as string;
      const inRequest = type === 'transfer' || type === 'collect' || type === 'refund';
      const outTradeNo = `${outcome === 'canceled' && !inRequest ? 'decline-' : ''}${point}-${Date.now()}`;
      // a refund pays back a collect: the payer (to) paid the merchant (from) first
      const collected = `collected-${outTradeNo}`;
      if (type === 'refund')
        expect(
          (await api.call('/wallet/collect', { merchant_wallet_id: from, payer_wallet_id: to, money: MONEY, out_trade_no: collected })).body
            .state,
        ).toBe('done');
      const before = { from: await balanceOf(from), to: await balanceOf(to) };
      // the way to canceled of the kinds that finish in the request: the credited wallet refuses
      if (outcome === 'canceled' && inRequest) await api.call('/wallet/mark_disable', { _id: to });
      const path = `/wallet/${type}`;
      const body = {
        recharge: { wallet_id: from, money: MONEY, out_trade_no: outTradeNo },
        withdraw: { wallet_id: from, money: MONEY, out_trade_no: outTradeNo },
        transfer: { from_wallet_id: from, to_wallet_id: to, money: MONEY, out_trade_no: outTradeNo },
        collect: { payer_wallet_id: from, merchant_wallet_id: to, money: MONEY, out_trade_no: outTradeNo },
        refund: { collect_out_trade_no: collected, money: MONEY, out_trade_no: outTradeNo },
      }[type];

      const crashEnv = walletEnv(dbName, { CRASH_AT: point, WORKER: 'off' });
      if (crashes === 'api') {
        const doomed = await startApi(crashEnv);
        await expect(doomed.call(path, body)).rejects.toThrow();
        const { signal } = await doomed.proc.exited;
        expect(signal).toBe('SIGKILL');
        expect(doomed.proc.output()).toContain(`fault injection: SIGKILL at ${point}`);
      } else {
        expect((await api.call(path, body)).status).toBe(200);
        const doomed = await startWorker(crashEnv);
        const { signal } = await doomed.exited;
        expect(signal).toBe('SIGKILL');
        expect(doomed.output()).toContain(`fault injection: SIGKILL at ${point}`);
      }
      const stuck = await db.collection('wallet_transaction').findOne({ out_trade_no: outTradeNo });
      expect(stuck, 'the crash left a transaction behind').not.toBeNull();
      expect(isFinal(stuck?.state as TxState), `the crash left ${stuck?.state}`).toBe(false);

      // a fresh worker takes the lease once the dead one's lapses, sweeps, and talks to the gateway
      const rescuer = await startWorker(walletEnv(dbName));
      await waitUntil(
        async () => isFinal((await db.collection('wallet_transaction').findOne({ out_trade_no: outTradeNo }))?.state as TxState),
        `${point} to settle`,
      );
      rescuer.child.kill('SIGTERM');
      await rescuer.exited;

      const tx = await db.collection('wallet_transaction').findOne({ out_trade_no: outTradeNo });
      expect(tx?.state).toBe(outcome);
      const after = { from: await balanceOf(from), to: await balanceOf(to) };
      const moved = outcome === 'done' ? MONEY : 0;
      if (inRequest) {
        expect(after).toEqual({
          from: { balance: before.from.balance - moved, frozen: 0 },
          to: { balance: before.to.balance + moved, frozen: 0 },
        });
      } else {
        expect(after.from).toEqual({ balance: before.from.balance + (type === 'recharge' ? moved : -moved), frozen: 0 });
      }
      // no change without its audit record: what the crash left in the wallets' outboxes was moved into the trail,
      // and the trail replays to every balance
      const outboxes = await db
        .collection('wallet')
        .countDocuments({ _id: { $in: [new ObjectId(from), new ObjectId(to)] }, 'audit_outbox.0': { $exists: true } });
      expect(outboxes).toBe(0);
      const verify = await runVerify(walletEnv(dbName));
      expect(verify.output).toContain('books OK');
      expect(verify.output).toMatch(/audit trail replays to the balances: \d+ wallet\(s\), \d+ record\(s\)\n/);
      expect(verify.output).not.toContain('without a trail');
      expect(verify.code).toBe(0);
    },
    90_000,
  ); // each case starts two or three processes: a budget for a loaded machine, not a speed claim
});
