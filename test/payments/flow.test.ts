import { Long, MongoClient, ObjectId, type Db, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PaymentEngine, type PaymentRequest } from '../../src/payments/engine.js';
import {
  TX_FLOW,
  crashPoints,
  isCancellable,
  pathOf,
  recoverableFilter,
  requestIsDone,
  workerQueueFilter,
  cancellableFilter,
} from '../../src/payments/flow.js';
import { SimulatedGateway } from '../../src/payments/gateway.js';
import { transactions } from '../../src/payments/collections.js';
import { PaymentRefusedError } from '../../src/payments/errors.js';
import { FINAL_STATES, TX_KINDS, TX_STATES, TX_TYPES, UNLOCKED, type TxState } from '../../src/payments/transactions.js';
import { uniqueDbName } from '../helpers/service.js';

// The state table (flow.ts) is the one description of who drives what; these tests hold the engine, the queries
// and the crash-point list to it.

let client: MongoClient;
let db: Db;
beforeAll(async () => {
  client = new MongoClient(inject('mongoUrl'));
  db = client.db(uniqueDbName('flow'));
});
afterAll(async () => {
  await db?.dropDatabase();
  await client?.close();
});

const silent = { warn: () => undefined, error: () => undefined, info: () => undefined } as never;
const pairs = TX_TYPES.flatMap((type) => TX_STATES.map((state) => ({ type, state })));

describe('TX_FLOW', () => {
  it('gives every state that is not final exactly one step', () => {
    for (const { type, state } of pairs.filter((p) => !FINAL_STATES.includes(p.state))) {
      expect(['request', 'worker', 'recovery'], `${type}.${state}`).toContain(TX_FLOW[type][state]?.driver);
    }
  });

  it('gives the final states no step', () => {
    for (const { type, state } of pairs.filter((p) => FINAL_STATES.includes(p.state))) {
      expect(TX_FLOW[type][state], `${type}.${state}`).toBeNull();
    }
  });

  it('leads every kind from initial to done', () => {
    for (const type of TX_TYPES) expect(pathOf(type, 'done').at(-1), type).toBe('done');
  });

  it('leads every kind to canceled by a refusal', () => {
    for (const type of TX_TYPES) expect(pathOf(type, 'canceled').slice(-2), type).toEqual(['canceling', 'canceled']);
  });

  it('calls the gateway exactly for the kinds that name a gateway call', () => {
    for (const type of TX_TYPES) {
      const calls = TX_STATES.filter((state) => TX_FLOW[type][state]?.action === 'call_gateway');
      expect(calls.length, type).toBe(TX_KINDS[type].gateway === null ? 0 : 1);
      for (const state of calls) expect(TX_FLOW[type][state]?.driver, `${type}.${state}`).toBe('worker');
    }
  });

  it('has each transaction that nobody holds taken on by exactly one taker (the worker queue or recovery)', async () => {
    const docs = pairs.map(({ type, state }) => ({ _id: new ObjectId(), type, state, attempts: 0, lock_until: UNLOCKED }));
    await db.collection('flow_pairs').insertMany(docs);
    const queued = await db.collection('flow_pairs').find(workerQueueFilter()).toArray();
    const recovered = await db.collection('flow_pairs').find(recoverableFilter()).toArray();
    const label = (doc: Document) => `${doc.type}.${doc.state}`;
    const byWorker = new Set(queued.map(label));
    const byRecovery = new Set(recovered.map(label));
    for (const pair of pairs) {
      const step = TX_FLOW[pair.type][pair.state];
      const takers = [byWorker.has(label(pair)) && 'worker', byRecovery.has(label(pair)) && 'recovery'].filter(Boolean);
      expect(takers, label(pair)).toEqual(step === null ? [] : [step.driver === 'worker' ? 'worker' : 'recovery']);
      // a request drives on exactly the states whose driver is the request
      expect(requestIsDone(pair), label(pair)).toBe(step?.driver !== 'request');
    }
  });

  it('cancels by query exactly where it cancels by the document at hand', async () => {
    const docs = pairs.flatMap(({ type, state }) =>
      [0, 1].map((attempts) => ({ _id: new ObjectId(), type, state, attempts, lock_until: UNLOCKED })),
    );
    await db.collection('flow_cancel').insertMany(docs);
    const matched = new Set((await db.collection('flow_cancel').find(cancellableFilter()).toArray()).map((doc) => doc._id.toHexString()));
    for (const doc of docs)
      expect(matched.has(doc._id.toHexString()), `${doc.type}.${doc.state} attempts ${doc.attempts}`).toBe(isCancellable(doc));
    expect(docs.filter(isCancellable).map((d) => `${d.type}.${d.state}.${d.attempts}`)).toEqual([
      'recharge.initial.0',
      'recharge.initial.1',
      'recharge.pending.0',
      'withdraw.initial.0',
      'withdraw.initial.1',
      'withdraw.pending.0',
      'transfer.initial.0',
      'transfer.initial.1',
      'collect.initial.0',
      'collect.initial.1',
      'refund.initial.0',
      'refund.initial.1',
    ]);
  });
});

describe('crashPoints', () => {
  it('puts every point in a state of its kind that is not final', () => {
    for (const point of crashPoints()) {
      expect(point.point.startsWith(`${point.type}.`)).toBe(true);
      expect(TX_FLOW[point.type][point.state], point.point).not.toBeNull();
    }
  });

  it('lists exactly the points the engine passes on the way to done or to canceled', async () => {
    const passed = new Set<string>();
    const engine = new PaymentEngine({ lockTtlMs: 5_000, retryWaitMs: 0, fault: (point) => passed.add(point) });
    const gateway = new SimulatedGateway(db, {
      kind: 'simulator',
      latencyMs: 0,
      decline: /^decline-/,
      timeout: undefined,
      timeouts: 0,
      timeoutMode: 'after',
    });
    const wallet = async (balance: number, state = 100) => {
      const _id = new ObjectId();
      await db.collection('wallet').insertOne({
        _id,
        account_id: new ObjectId(),
        balance_money: Long.fromNumber(balance),
        frozen_money: Long.ZERO,
        pending_transactions: [],
        state,
        created_at: new Date(),
        updated_at: new Date(),
      });
      return _id;
    };
    const rich = await wallet(1_000_000);
    const disabled = await wallet(0, 200);
    for (const type of TX_TYPES) {
      for (const end of ['done', 'canceled'] as const) {
        const outTradeNo = `${end === 'canceled' ? 'decline-' : ''}${type}-${end}`;
        const request: PaymentRequest = { type, wallet_id: rich, to_wallet_id: null, money: 10, out_trade_no: outTradeNo };
        if (type === 'transfer' || type === 'collect') request.to_wallet_id = end === 'canceled' ? disabled : await wallet(0);
        if (type === 'refund') {
          // rich collected from a payer, and pays it back (to a payer disabled since, on the way to canceled)
          const payer = await wallet(100);
          const { tx: collect } = await engine.submit(
            db,
            { type: 'collect', wallet_id: payer, to_wallet_id: rich, money: 10, out_trade_no: `collect-${end}` },
            silent,
          );
          if (end === 'canceled') await db.collection('wallet').updateOne({ _id: payer }, { $set: { state: 200 } });
          Object.assign(request, { to_wallet_id: payer, refund_of: collect._id });
        }
        const { tx } = await engine.submit(db, request, silent).catch((err: unknown) => {
          if (err instanceof PaymentRefusedError) return { tx: err.tx }; // refused by a disabled wallet
          throw err;
        });
        if (TX_KINDS[type].gateway !== null) {
          const hold = await engine.claimDue(db, 'flow-worker');
          expect(hold?.tx._id).toEqual(tx._id);
          await engine.callGateway(db, hold!, gateway, { backoffMs: () => 0, maxAttempts: 1 }, silent);
        }
        expect((await transactions(db).findOne({ _id: tx._id }))?.state, outTradeNo).toBe(end);
      }
    }
    const listed = crashPoints().map((p) => p.point);
    const finalTransitions = TX_TYPES.flatMap((type) => FINAL_STATES.map((state: TxState) => `${type}.after_${state}`));
    expect([...passed].filter((point) => !finalTransitions.includes(point)).sort()).toEqual([...listed].sort());
  });
});
