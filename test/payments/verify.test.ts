import { ObjectId, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPaymentsConfig } from '../../src/payments/config.js';
import { verifyBooks } from '../../src/payments/verify.js';
import type { PaymentWorker } from '../../src/payments/worker.js';
import { createWorker } from '../../src/service.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { killSpawned } from '../helpers/processes.js';
import { runVerify, walletEnv } from '../helpers/wallet-processes.js';

const payments = loadPaymentsConfig({ WORKER_POLL_MS: '10' });
let t: TestService;
let db: Db;
let a: string;
let b: string;
let worker: PaymentWorker;

beforeAll(async () => {
  t = await startTestService({ payments });
  db = t.db;
  const ids: string[] = [];
  for (const phone of ['13300000001', '13300000002']) {
    const account = (await t.call('/account/create', { name: 'v', phone, state: 100 })).body._id;
    ids.push((await t.call('/wallet/create', { account_id: account })).body._id as string);
  }
  [a, b] = ids as [string, string];
  await t.call('/wallet/recharge', { wallet_id: a, money: 1000, out_trade_no: 'v-fund' });
  worker = createWorker(db, t.service.engine, payments, t.logger);
  await worker.round();
  await t.call('/wallet/transfer', { from_wallet_id: a, to_wallet_id: b, money: 300, out_trade_no: 'v-tr' });
  await t.call('/wallet/withdraw', { wallet_id: b, money: 100, out_trade_no: 'v-wd' }); // stays pending: frozen
});
afterAll(async () => {
  killSpawned();
  await t.close();
});

/** Breaks the books in one way, checks what verify says, puts it back. */
async function withDamage(damage: () => Promise<unknown>, repair: () => Promise<unknown>) {
  await damage();
  try {
    return await verifyBooks(db);
  } finally {
    await repair();
  }
}

const wallet = (id: string) => ({ _id: new ObjectId(id) });

describe('verifyBooks', () => {
  it('passes on books the engine wrote', async () => {
    const report = await verifyBooks(db);
    expect({ ok: report.ok, breaks: report.breaks }).toEqual({ ok: true, breaks: [] });
  });

  it('sums up the books', async () => {
    const report = await verifyBooks(db);
    expect(report).toMatchObject({
      wallets: 2,
      transactions: 3,
      total_balance: 1000,
      total_frozen: 100,
      recharged: 1000,
      withdrawn: 0,
    });
    expect(report.by_state).toMatchObject({ done: 2, pending: 1 });
  });

  it('finds a balance that does not match the ledger', async () => {
    const report = await withDamage(
      () => db.collection('wallet').updateOne(wallet(a), { $inc: { balance_money: 1 } }),
      () => db.collection('wallet').updateOne(wallet(a), { $inc: { balance_money: -1 } }),
    );
    expect(report.ok).toBe(false);
    expect(report.breaks).toEqual([
      { kind: 'balance_mismatch', wallet_id: a, detail: 'balance_money is 701, the ledger says 700' },
      // nor does the audit trail know of that money
      { kind: 'audit_mismatch', wallet_id: a, detail: 'the trail replays to 700 (frozen 0); the wallet holds 701 (frozen 0)' },
    ]);
  });

  it('finds frozen money without a pending transaction', async () => {
    const report = await withDamage(
      () => db.collection('wallet').updateOne(wallet(a), { $inc: { frozen_money: 1 } }),
      () => db.collection('wallet').updateOne(wallet(a), { $inc: { frozen_money: -1 } }),
    );
    expect(report.breaks).toEqual([
      { kind: 'frozen_mismatch', wallet_id: a, detail: 'frozen_money is 1, the ledger says 0' },
      { kind: 'audit_mismatch', wallet_id: a, detail: 'the trail replays to 700 (frozen 0); the wallet holds 700 (frozen 1)' },
    ]);
  });

  it('finds a wallet whose frozen money exceeds its balance (a negative wallet)', async () => {
    const report = await withDamage(
      () => db.collection('wallet').updateOne(wallet(a), { $inc: { frozen_money: 5000 } }),
      () => db.collection('wallet').updateOne(wallet(a), { $inc: { frozen_money: -5000 } }),
    );
    expect(report.breaks).toEqual([
      { kind: 'frozen_mismatch', wallet_id: a, detail: 'frozen_money is 5000, the ledger says 0' },
      { kind: 'negative', wallet_id: a, detail: 'balance 700, frozen 5000' },
      { kind: 'audit_mismatch', wallet_id: a, detail: 'the trail replays to 700 (frozen 0); the wallet holds 700 (frozen 5000)' },
    ]);
  });

  it('finds dangling ids in pending_transactions', async () => {
    const ghost = new ObjectId();
    const done = (await db.collection('wallet_transaction').findOne({ out_trade_no: 'v-tr' }))!._id as ObjectId;
    const report = await withDamage(
      () => db.collection('wallet').updateOne(wallet(a), { $push: { pending_transactions: { $each: [ghost, done] } } } as never),
      () => db.collection('wallet').updateOne(wallet(a), { $pull: { pending_transactions: { $in: [ghost, done] } } } as never),
    );
    expect(report.breaks).toEqual([
      { kind: 'final_still_pending', wallet_id: a, tx_id: done.toHexString(), detail: 'transfer is done but the wallet still holds it' },
      {
        kind: 'dangling_pending',
        wallet_id: a,
        tx_id: ghost.toHexString(),
        detail: 'pending_transactions names a transaction that is final or does not exist',
      },
      {
        kind: 'dangling_pending',
        wallet_id: a,
        tx_id: done.toHexString(),
        detail: 'pending_transactions names a transaction that is final or does not exist',
      },
    ]);
  });

  it('finds a collect whose refunded_money is not what its refunds reserved', async () => {
    await t.call('/wallet/collect', { merchant_wallet_id: b, payer_wallet_id: a, money: 50, out_trade_no: 'v-collect' });
    await t.call('/wallet/refund', { collect_out_trade_no: 'v-collect', money: 20, out_trade_no: 'v-refund' });
    const collect = (await db.collection('wallet_transaction').findOne({ out_trade_no: 'v-collect' }))!;
    expect((await verifyBooks(db)).breaks).toEqual([]);
    const report = await withDamage(
      () => db.collection('wallet_transaction').updateOne({ _id: collect._id }, { $inc: { refunded_money: 40 } }),
      () => db.collection('wallet_transaction').updateOne({ _id: collect._id }, { $inc: { refunded_money: -40 } }),
    );
    expect(report.breaks).toEqual([
      { kind: 'refund_mismatch', tx_id: collect._id.toHexString(), detail: 'refunded_money is 60, its refunds hold 20' },
      { kind: 'refund_mismatch', tx_id: collect._id.toHexString(), detail: 'refunded_money 60 is more than it collected (50)' },
    ]);
  });

  it('with requireSettled, counts transactions still in flight', async () => {
    const report = await verifyBooks(db, { requireSettled: true });
    const pending = await db.collection('wallet_transaction').findOne({ out_trade_no: 'v-wd' });
    expect(report.breaks).toEqual([{ kind: 'unsettled', tx_id: pending!._id.toHexString(), detail: 'withdraw is still pending' }]);
  });

  it('does not report money that moves while it reads, yet still finds a real break then', async () => {
    // transfers stream between the two wallets the whole time the books are read
    let streaming = true;
    let n = 0;
    const traffic = (async () => {
      while (streaming) {
        await Promise.all([
          t.call('/wallet/transfer', { from_wallet_id: a, to_wallet_id: b, money: 1, out_trade_no: `live-${n++}` }),
          t.call('/wallet/transfer', { from_wallet_id: b, to_wallet_id: a, money: 1, out_trade_no: `live-${n++}` }),
        ]);
      }
    })();
    try {
      // check the books again and again until plenty of money moved while they were being read
      const until = Date.now() + 40_000; // a budget for a loaded machine, not a speed claim
      let checks = 0;
      while ((n < 60 || checks < 5) && Date.now() < until) {
        expect((await verifyBooks(db)).breaks).toEqual([]);
        checks += 1;
      }
      const damaged = await withDamage(
        () => db.collection('wallet').updateOne(wallet(a), { $inc: { balance_money: 3 } }),
        () => db.collection('wallet').updateOne(wallet(a), { $inc: { balance_money: -3 } }),
      );
      expect(damaged.breaks.map((x) => [x.kind, x.wallet_id])).toEqual([
        ['balance_mismatch', a],
        ['audit_mismatch', a],
      ]);
    } finally {
      streaming = false;
      await traffic;
    }
    expect(n).toBeGreaterThanOrEqual(60);
  }, 60_000);

  it('checks, once nothing is in flight, that the wallets hold what came in minus what went out', async () => {
    // settle the pending withdrawal first: the check only applies to a quiet ledger
    await worker.round();
    const settled = await verifyBooks(db, { requireSettled: true });
    // the damage the test before made while money moved is in the audit trail for good: records are never rewritten
    const damageOnRecord = {
      kind: 'audit_mismatch',
      wallet_id: a,
      detail: expect.stringMatching(/^seq \d+ starts from \d+\/0, the trail stood at \d+\/0$/),
    };
    expect(settled.breaks).toEqual([damageOnRecord]);
    expect(settled.by_state).toMatchObject({ initial: 0, pending: 0, applied: 0, canceling: 0 });
    // a done recharge that names no wallet: no wallet's own books show it, the totals do
    const orphan = await db.collection('wallet_transaction').insertOne({
      type: 'recharge',
      wallet_id: new ObjectId(),
      to_wallet_id: null,
      money: 250,
      out_trade_no: 'orphan-recharge',
      state: 'done',
      lock_until: new Date(0),
    });
    try {
      const report = await verifyBooks(db);
      expect(report.breaks).toEqual([
        { kind: 'conservation', detail: 'the wallets hold 900 (frozen 0); recharges minus withdrawals are 1150' },
        damageOnRecord,
      ]);
    } finally {
      await db.collection('wallet_transaction').deleteOne({ _id: orphan.insertedId });
    }
  });

  it('makes the CLI exit non-zero on a break', async () => {
    const before = (await db.collection('wallet').findOne(wallet(b)))?.balance_money as number;
    await db.collection('wallet').updateOne(wallet(b), { $inc: { balance_money: 7 } });
    try {
      const env = walletEnv(db.databaseName);
      const { code, output } = await runVerify(env);
      expect(code).toBe(1);
      expect(output).toContain('BOOKS BROKEN');
      expect(output).toContain(`balance_mismatch ${b} : balance_money is ${before + 7}, the ledger says ${before}`);
    } finally {
      await db.collection('wallet').updateOne(wallet(b), { $inc: { balance_money: -7 } });
    }
  });
});
