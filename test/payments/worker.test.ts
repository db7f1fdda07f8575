import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPaymentsConfig } from '../../src/payments/config.js';
import { Lease } from '../../src/core/lease.js';
import { ensurePaymentIndexes } from '../../src/payments/collections.js';
import { UNLOCKED } from '../../src/payments/transactions.js';
import { verifyBooks } from '../../src/payments/verify.js';
import type { GatewayOrder, GatewayResult, PaymentGateway } from '../../src/payments/gateway.js';
import { PaymentWorker } from '../../src/payments/worker.js';
import { createWorker } from '../../src/service.js';
import { handMadeBalance } from '../helpers/audit.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { PARKS_UNREACHABLE } from '../helpers/payments-configs.js';

const payments = loadPaymentsConfig({ WORKER_POLL_MS: '10', WORKER_LEASE_TTL_MS: '300', WALLET_LOCK_TTL_MS: '300' });
let t: TestService;
beforeAll(async () => {
  t = await startTestService({ payments });
});
afterAll(async () => {
  await t.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function wallet(phone: string): Promise<string> {
  const account = (await t.call('/account/create', { name: 'w', phone, state: 100 })).body._id as string;
  return (await t.call('/wallet/create', { account_id: account })).body._id as string;
}

describe('the lease', () => {
  it('has one holder; another owner gets it only after release or expiry', async () => {
    const a = new Lease(t.db, { name: 'test-lease', owner: 'a', ttlMs: 200 });
    const b = new Lease(t.db, { name: 'test-lease', owner: 'b', ttlMs: 200 });
    expect(await a.acquire()).toBe(true);
    expect(await b.acquire()).toBe(false);
    expect(await a.acquire()).toBe(true); // renewal
    await a.release();
    expect(await b.acquire()).toBe(true);
    expect(await a.acquire()).toBe(false);
    await sleep(250); // b stops renewing: it lapses
    expect(await a.acquire()).toBe(true);
    expect(a.holds(0)).toBe(true);
    expect(b.holds(0)).toBe(false);
  });

  it('lets exactly one of 20 concurrent claimants in', async () => {
    const leases = Array.from({ length: 20 }, (_, i) => new Lease(t.db, { name: 'race-lease', owner: `o${i}`, ttlMs: 5_000 }));
    const results = await Promise.all(leases.map((lease) => lease.acquire()));
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});

describe('the payment worker', () => {
  it('works only while it holds the lease; a second worker takes over when the first stops or dies', async () => {
    const a = createWorker(t.db, t.service.engine, payments, t.logger);
    const b = createWorker(t.db, t.service.engine, payments, t.logger);
    const target = await wallet('16600000001');
    const recharge = await t.call('/wallet/recharge', { wallet_id: target, money: 10, out_trade_no: 'lease-1' });

    await a.round();
    expect(a.isLeader).toBe(true);
    await b.round();
    expect(b.isLeader).toBe(false);
    expect((await t.call('/wallet_transaction/get', { _id: recharge.body._id })).body.state).toBe('done');

    // a dies without giving the lease up: b waits for it to lapse
    const second = await t.call('/wallet/recharge', { wallet_id: target, money: 5, out_trade_no: 'lease-2' });
    await b.round();
    expect(b.isLeader).toBe(false);
    expect((await t.call('/wallet_transaction/get', { _id: second.body._id })).body.state).toBe('pending');
    await sleep(350);
    await b.round();
    expect(b.isLeader).toBe(true);
    expect((await t.call('/wallet_transaction/get', { _id: second.body._id })).body.state).toBe('done');

    // b stops properly: a takes over at once
    await b.stop();
    await a.round();
    expect(a.isLeader).toBe(true);
    await a.stop();
  });

  it('parks a payment after WORKER_MAX_ATTEMPTS failed gateway calls, until an operator resolves it', async () => {
    const stuck = loadPaymentsConfig(PARKS_UNREACHABLE);
    const target = await wallet('16600000009');
    await handMadeBalance(t.db, target, 1000);
    await t.db.collection('wallet_transaction').insertOne({
      type: 'recharge',
      wallet_id: new ObjectId(target),
      to_wallet_id: null,
      money: 1000,
      out_trade_no: 'park-fund',
      state: 'done',
      lock_until: UNLOCKED,
      created_at: new Date(),
      updated_at: new Date(),
    });
    const withdrawal = await t.call('/wallet/withdraw', { wallet_id: target, money: 400, out_trade_no: 'unreachable-1' });
    const worker = createWorker(t.db, t.service.engine, stuck, t.logger);
    await sleep(350); // earlier workers' lease lapses
    for (let i = 0; i < 6; i++) {
      await worker.round();
      await sleep(30);
    }
    const parked = await t.db.collection('wallet_transaction').findOne({ _id: new ObjectId(withdrawal.body._id as string) });
    expect(parked).toMatchObject({ state: 'pending', attempts: 2, parked: true, error: { code: 'needs_operator' } });
    expect((await t.call('/wallet/get', { _id: target })).body).toMatchObject({ balance_money: 1000, frozen_money: 400 });

    // the operator checked with the gateway: it never paid out
    const resolved = await t.service.engine.resolve(t.db, parked!._id, 'operator', {
      status: 'declined',
      reason: 'not found at the gateway',
    });
    expect(resolved).toMatchObject({ state: 'canceled', error: { code: 'declined', message: 'not found at the gateway' }, parked: false });
    expect((await t.call('/wallet/get', { _id: target })).body).toMatchObject({ balance_money: 1000, frozen_money: 0 });
    await worker.stop();
  });

  it('sweeps a transaction whose actor died when it takes the lease', async () => {
    const from = await wallet('16600000002');
    const to = await wallet('16600000003');
    await handMadeBalance(t.db, from, 100);
    await t.db.collection('wallet_transaction').insertOne({
      _id: new ObjectId(),
      type: 'transfer',
      wallet_id: new ObjectId(from),
      to_wallet_id: new ObjectId(to),
      money: 40,
      out_trade_no: 'orphan-1',
      gateway_trade_no: null,
      state: 'initial',
      error: null,
      attempts: 0,
      next_attempt_at: new Date(),
      lock_owner: 'api:dead-host:1:x',
      lock_until: new Date(Date.now() - 1_000),
      created_at: new Date(),
      updated_at: new Date(),
    });
    // books for the hand-made balance: a done recharge of 100
    await t.db.collection('wallet_transaction').insertOne({
      type: 'recharge',
      wallet_id: new ObjectId(from),
      to_wallet_id: null,
      money: 100,
      out_trade_no: 'orphan-fund',
      state: 'done',
      lock_until: UNLOCKED,
      created_at: new Date(),
      updated_at: new Date(),
    });
    const worker = createWorker(t.db, t.service.engine, payments, t.logger);
    await sleep(350); // the other tests' workers' lease lapses
    await worker.round();
    const tx = await t.db.collection('wallet_transaction').findOne({ out_trade_no: 'orphan-1' });
    expect(tx).toMatchObject({ state: 'done', lock_owner: null });
    expect((await t.call('/wallet/get', { _id: from })).body.balance_money).toBe(60);
    expect((await t.call('/wallet/get', { _id: to })).body.balance_money).toBe(40);
    expect((await verifyBooks(t.db)).breaks).toEqual([]);
    await worker.stop();
  });
});

describe('payments in flight', () => {
  it('calls the gateway for WORKER_CONCURRENCY payments at once, never more, each under its own lock', async () => {
    const config = loadPaymentsConfig({
      WORKER_POLL_MS: '10',
      WORKER_LEASE_TTL_MS: '5000',
      WALLET_LOCK_TTL_MS: '5000',
      WORKER_CONCURRENCY: '3',
    });
    const target = await wallet('16600000020');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++)
      ids.push((await t.call('/wallet/recharge', { wallet_id: target, money: 10, out_trade_no: `in-flight-${i}` })).body._id as string);
    // a gateway that holds every call until the test lets it go, and counts how many are open at once
    let open = 0;
    let most = 0;
    const waiting: Array<() => void> = [];
    const gateway: PaymentGateway = {
      async charge(order: GatewayOrder): Promise<GatewayResult> {
        open += 1;
        most = Math.max(most, open);
        await new Promise<void>((resolve) => waiting.push(resolve));
        open -= 1;
        return { status: 'succeeded', gateway_trade_no: `T-${order.out_trade_no}` };
      },
      payout: () => Promise.reject(new Error('not used')),
    };
    const worker = new PaymentWorker({
      db: t.db,
      engine: t.service.engine,
      gateway,
      config: config.worker,
      callBudgetMs: 1_000,
      log: t.logger,
    });
    await sleep(350); // the other tests' workers' lease lapses
    const round = worker.round();
    while (waiting.length < 3) await sleep(10);
    await sleep(100); // a fourth call would have started by now
    const held = await t.db
      .collection('wallet_transaction')
      .find({ out_trade_no: /^in-flight-/, lock_owner: worker.owner, lock_until: { $gt: new Date() } })
      .toArray();
    expect({ open, held: held.length }).toEqual({ open: 3, held: 3 });
    let settled = false;
    const claimed = round.finally(() => {
      settled = true;
    });
    while (!settled) {
      waiting.splice(0).forEach((release) => release());
      await sleep(10);
    }
    expect(await claimed).toBe(7);
    expect(most).toBe(3);
    const states = await t.db
      .collection('wallet_transaction')
      .find({ out_trade_no: /^in-flight-/ })
      .toArray();
    expect(states.map((tx) => tx.state)).toEqual(Array(7).fill('done'));
    expect((await t.call('/wallet/get', { _id: target })).body).toMatchObject({ balance_money: 70, frozen_money: 0 });
    await worker.stop();
  });
});

describe('the payment indexes', () => {
  it('are made by the payments module alone, as the worker process makes them (no resource built)', async () => {
    const db = t.database.client.db(`${t.db.databaseName}_idx`);
    try {
      await ensurePaymentIndexes(db);
      const indexes = await db.collection('wallet_transaction').indexes();
      expect(indexes.find((index) => index.name === 'out_trade_no_1')).toMatchObject({ key: { out_trade_no: 1 }, unique: true });
      expect(indexes.map((index) => index.name).sort()).toEqual([
        '_id_',
        'created_at_-1__id_-1',
        'out_trade_no_1',
        'refund_of_1__id_-1',
        'state_1__id_-1',
        'state_1_lock_until_1',
        'state_1_type_1_next_attempt_at_1',
        'to_wallet_id_1__id_-1',
        'type_1__id_-1',
        'wallet_id_1__id_-1',
      ]);
      // and the audit trail's, with the wallets' outbox index for the recovery sweep
      expect((await db.listCollections().toArray()).map((c) => c.name).sort()).toEqual(['wallet', 'wallet_audit', 'wallet_transaction']);
    } finally {
      await db.dropDatabase();
    }
  });
});
