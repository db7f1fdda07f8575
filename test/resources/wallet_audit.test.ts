import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushAudit, recordsOfOutbox } from '../../src/payments/audit.js';
import { loadPaymentsConfig } from '../../src/payments/config.js';
import { actorName } from '../../src/payments/transactions.js';
import { verifyBooks } from '../../src/payments/verify.js';
import { createWorker } from '../../src/service.js';
import { handMadeBalance } from '../helpers/audit.js';
import { HEX_ID } from '../helpers/bodies.js';
import { startTestService, type TestService } from '../helpers/service.js';

const payments = loadPaymentsConfig({ WORKER_POLL_MS: '10', WALLET_LOCK_TTL_MS: '2000' });
let t: TestService;
let seq = 0;

beforeAll(async () => {
  t = await startTestService({ payments });
});
afterAll(async () => {
  await t.close();
});

async function newWallet(): Promise<string> {
  const account = (await t.call('/account/create', { name: 'audited', phone: `1550000${String(++seq).padStart(4, '0')}`, state: 100 })).body
    ._id as string;
  return (await t.call('/wallet/create', { account_id: account })).body._id as string;
}

/** A wallet's trail in order, through the API. */
async function trailOf(wallet: string): Promise<Array<Record<string, unknown>>> {
  const res = await t.call('/wallet_audit/find', { wallet_id: wallet, _sort: 'seq', _meta: { limit: 100 } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data as Array<Record<string, unknown>>;
}

/** The money columns of a record: action, who, before → after. */
const money = (r: Record<string, unknown>) => [r.seq, r.action, r.role, r.balance_before, r.balance_after, r.frozen_before, r.frozen_after];

describe('the audit trail of a wallet', () => {
  it('records the open of a wallet as seq 1, from nothing, by the API key that opened it', async () => {
    const res = await t.call('/account/create', { name: 'first', phone: '15599990000', state: 100 });
    const opened = await t.call('/wallet/create', { account_id: res.body._id });
    const [record] = await trailOf(opened.body._id);
    expect(record).toEqual({
      _id: expect.stringMatching(HEX_ID),
      wallet_id: opened.body._id,
      seq: 1,
      at: expect.any(String),
      who: 'service:test-suite',
      request_id: opened.headers['x-request-id'],
      action: 'create',
      tx_id: null,
      tx_type: null,
      role: null,
      balance_before: 0,
      balance_after: 0,
      frozen_before: 0,
      frozen_after: 0,
      state_before: null,
      state_after: 100,
      detail: null,
    });
  });

  it('records every leg of a recharge, then of a transfer, in order, each with its amounts before → after', async () => {
    const [from, to] = [await newWallet(), await newWallet()];
    await t.call('/wallet/recharge', { wallet_id: from, money: 1000, out_trade_no: `rc-${++seq}` });
    await createWorker(t.db, t.service.engine, payments, t.logger).round();
    const transfer = await t.call('/wallet/transfer', { from_wallet_id: from, to_wallet_id: to, money: 300, out_trade_no: `tr-${++seq}` });
    const source = await trailOf(from);
    expect(source.map(money)).toEqual([
      [1, 'create', null, 0, 0, 0, 0],
      [2, 'apply', 'recharge_target', 0, 1000, 0, 1000],
      [3, 'commit', 'recharge_target', 1000, 1000, 1000, 0],
      [4, 'apply', 'transfer_source', 1000, 700, 0, 0],
      [5, 'commit', 'transfer_source', 700, 700, 0, 0],
    ]);
    expect((await trailOf(to)).map(money)).toEqual([
      [1, 'create', null, 0, 0, 0, 0],
      [2, 'apply', 'transfer_destination', 0, 300, 0, 300],
      [3, 'commit', 'transfer_destination', 300, 300, 300, 0],
    ]);
    // the worker committed the recharge; the transfer was the request's, under its id
    expect(source.map((r) => r.who)).toEqual([
      'service:test-suite',
      'service:test-suite',
      expect.stringMatching(/^worker:/),
      'service:test-suite',
      'service:test-suite',
    ]);
    expect(source[3]).toMatchObject({ tx_id: transfer.body._id, tx_type: 'transfer', request_id: transfer.headers['x-request-id'] });
  });

  it('records each state change (disable, enable) with its state before → after', async () => {
    const wallet = await newWallet();
    await t.call('/wallet/mark_disable', { _id: wallet });
    await t.call('/wallet/mark_enable', { _id: wallet });
    const trail = await trailOf(wallet);
    expect(trail.map((r) => [r.seq, r.action, r.state_before, r.state_after])).toEqual([
      [1, 'create', null, 100],
      [2, 'disable', 100, 200],
      [3, 'enable', 200, 100],
    ]);
  });

  it("records an operator's resolve under the operator's name, the decision first, then the money it moves", async () => {
    const wallet = await newWallet();
    const withdraw = await t.call('/wallet/recharge', { wallet_id: wallet, money: 50, out_trade_no: `rc-op-${++seq}` });
    const operator = { who: 'cli:alice', request_id: null };
    await t.service.engine.resolve(
      t.db,
      new ObjectId(withdraw.body._id as string),
      actorName('cli'),
      { status: 'succeeded', gateway_trade_no: 'G-42' },
      operator,
    );
    const all = (await t.call('/wallet_audit/find', { tx_id: withdraw.body._id, _sort: '_id' })).body.data as Array<
      Record<string, unknown>
    >;
    expect(all.map((r) => [r.action, r.who, r.seq === null, r.detail])).toEqual([
      ['apply', 'service:test-suite', false, null],
      ['resolve', 'cli:alice', true, 'succeeded G-42'],
      ['commit', 'cli:alice', false, null],
    ]);
  });

  it('writes each record once when two flushes race', async () => {
    const wallet = await newWallet();
    await handMadeBalance(t.db, wallet, 70);
    await Promise.all([flushAudit(t.db, [new ObjectId(wallet)]), flushAudit(t.db, [new ObjectId(wallet)])]);
    expect((await trailOf(wallet)).map(money)).toEqual([
      [1, 'create', null, 0, 0, 0, 0],
      [2, 'commit', 'recharge_target', 0, 70, 0, 0],
    ]);
    expect((await t.db.collection('wallet').findOne({ _id: new ObjectId(wallet) }))?.audit_outbox).toEqual([]);
  });

  it('empties an outbox whose records a crash had already stored (after the insert, before the pull)', async () => {
    const wallet = await newWallet();
    await handMadeBalance(t.db, wallet, 30);
    const doc = await t.db.collection('wallet').findOne({ _id: new ObjectId(wallet) });
    await t.db.collection('wallet_audit').insertMany(recordsOfOutbox(doc as never));
    expect(await flushAudit(t.db, [new ObjectId(wallet)])).toBe(1);
    expect((await t.db.collection('wallet').findOne({ _id: new ObjectId(wallet) }))?.audit_outbox).toEqual([]);
    expect((await trailOf(wallet)).map((r) => r.seq)).toEqual([1, 2]);
  });

  it('filters by action, paged like every find', async () => {
    const res = await t.call('/wallet_audit/find', { action: 'disable', _meta: { page: 1, limit: 1 } });
    expect(res.body._meta).toMatchObject({ page: 1, page_size: 1, result_count: 1, has_more: false });
    expect(res.body.data.map((r: { action: string }) => r.action)).toEqual(['disable']);
  });

  it('is for service callers only', () => {
    expect(t.service.actions.lookup('wallet_audit', 'find')?.callers).toEqual(['service']);
  });

  it('replays to every balance in wallet verify, its report counting every wallet', async () => {
    const report = await verifyBooks(t.db);
    const wallets = await t.db.collection('wallet').countDocuments();
    expect(report.audit).toEqual({ ok: true, wallets_replayed: wallets, records: expect.any(Number), unaudited: 0 });
    expect(report.audit.records).toBe(await t.db.collection('wallet_audit').countDocuments({ seq: { $ne: null } }));
    expect(await t.db.collection('wallet').countDocuments({ 'audit_outbox.0': { $exists: true } })).toBe(0);
  });
});
