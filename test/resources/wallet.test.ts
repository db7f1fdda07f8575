import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPaymentsConfig } from '../../src/payments/config.js';
import type { PaymentWorker } from '../../src/payments/worker.js';
import { verifyBooks } from '../../src/payments/verify.js';
import { handMadeBalance } from '../helpers/audit.js';
import { createWorker } from '../../src/service.js';
import { HEX_ID, expectError } from '../helpers/bodies.js';
import { startTestService, type TestService } from '../helpers/service.js';

const payments = loadPaymentsConfig({
  GATEWAY_SIM_DECLINE: '^decline-',
  GATEWAY_SIM_TIMEOUT: '^slow-',
  GATEWAY_SIM_TIMEOUTS: '1',
  WORKER_POLL_MS: '10',
  WALLET_LOCK_TTL_MS: '2000',
});

let t: TestService;
let worker: PaymentWorker;
let seq = 0;

beforeAll(async () => {
  t = await startTestService({ payments });
  worker = createWorker(t.db, t.service.engine, payments, t.logger);
});
afterAll(async () => {
  await t.close();
});

async function newWallet(name = 'owner'): Promise<{ wallet: string; account: string }> {
  const account = (await t.call('/account/create', { name, phone: `1770000${String(++seq).padStart(4, '0')}`, state: 100 })).body
    ._id as string;
  const res = await t.call('/wallet/create', { account_id: account });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { wallet: res.body._id as string, account };
}

async function walletOf(id: string) {
  const res = await t.call('/wallet/get', { _id: id });
  expect(res.status).toBe(200);
  return res.body as { balance_money: number; frozen_money: number; available_money: number; state: number };
}

/** Runs worker rounds until no gateway payment is due (each round settles what is due now). */
async function runWorker(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await worker.round();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A wallet with `money` in it, through recharge and the worker. */
async function fundedWallet(money: number, name = 'funded'): Promise<string> {
  const { wallet } = await newWallet(name);
  const res = await t.call('/wallet/recharge', { wallet_id: wallet, money, out_trade_no: `fund-${wallet}` });
  expect(res.status).toBe(200);
  await runWorker(1);
  expect((await walletOf(wallet)).balance_money).toBe(money);
  return wallet;
}

const key = (label: string) => `${label}-${++seq}-${Date.now()}`;

describe('wallet/create and wallet/get', () => {
  it('opens an empty wallet, shown as wallet_detail', async () => {
    const { wallet, account } = await newWallet('钱包主人');
    expect(wallet).toMatch(HEX_ID);
    const res = await t.call('/wallet/get', { _id: wallet });
    expect(res.body).toEqual({
      _id: wallet,
      account_info: { _id: account, name: '钱包主人' },
      balance_money: 0,
      frozen_money: 0,
      available_money: 0,
      state: 100,
    });
  });

  it('refuses an account that does not exist (400) or already has a wallet (409)', async () => {
    const ghost = new ObjectId().toHexString();
    expectError(
      await t.call('/wallet/create', { account_id: ghost }),
      400,
      'invalid_params',
      'Invalid parameter account_id: no account with this id',
      [{ field: 'account_id', messages: ['no account with this id'] }],
    );
    const { account } = await newWallet();
    expectError(await t.call('/wallet/create', { account_id: account }), 409, 'conflict', 'Duplicate value for account_id', [
      { field: 'account_id', messages: ['is already taken'] },
    ]);
  });

  it('keeps an account with a wallet from being deleted', async () => {
    const { account } = await newWallet();
    const res = await t.call('/account/mark_delete', { _id: account });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toBe(`account ${account} is still referenced by wallet.account_id`);
  });
});

describe('money params', () => {
  it.each([
    [1.5, 'must be an integer'],
    ['100', 'must be an integer'],
    [0, 'must be >= 1'],
    [-100, 'must be >= 1'],
    [10000000000001, 'must be <= 10000000000000'],
  ])('refuses %j', async (money, message) => {
    const { wallet } = await newWallet();
    expectError(
      await t.call('/wallet/recharge', { wallet_id: wallet, money, out_trade_no: key('bad') }),
      400,
      'invalid_params',
      `Invalid parameter money: ${message}`,
      [{ field: 'money', messages: [message] }],
    );
    expect(await t.db.collection('wallet_transaction').countDocuments({ wallet_id: new ObjectId(wallet) })).toBe(0);
  });
});

describe('wallet/recharge', () => {
  it('freezes the money until the gateway confirms, then makes it available', async () => {
    const { wallet } = await newWallet();
    const res = await t.call('/wallet/recharge', { wallet_id: wallet, money: 5000, out_trade_no: key('rc') });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ _id: expect.stringMatching(HEX_ID), state: 'pending' });
    expect(await walletOf(wallet)).toMatchObject({ balance_money: 5000, frozen_money: 5000, available_money: 0 });

    await runWorker(1);
    expect(await walletOf(wallet)).toMatchObject({ balance_money: 5000, frozen_money: 0, available_money: 5000 });
    const tx = (await t.call('/wallet_transaction/get', { _id: res.body._id })).body;
    expect(tx).toEqual({
      _id: res.body._id,
      type: 'recharge',
      wallet_id: wallet,
      to_wallet_id: null,
      money: 5000,
      out_trade_no: expect.stringMatching(/^rc-/),
      refund_of: null,
      refunded_money: null,
      gateway_trade_no: expect.stringMatching(/^SIM/),
      state: 'done',
      error: null,
      attempts: 1,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
  });

  it('rolls back when the gateway declines', async () => {
    const { wallet } = await newWallet();
    const res = await t.call('/wallet/recharge', { wallet_id: wallet, money: 700, out_trade_no: key('decline') });
    expect(res.body.state).toBe('pending');
    await runWorker(1);
    expect(await walletOf(wallet)).toMatchObject({ balance_money: 0, frozen_money: 0 });
    const tx = (await t.call('/wallet_transaction/get', { _id: res.body._id })).body;
    expect(tx).toMatchObject({
      state: 'canceled',
      error: { code: 'declined', message: 'declined by the simulated gateway', wallet_id: null },
      gateway_trade_no: null,
    });
  });

  it('applies the money once when a gateway timeout is retried with the same order', async () => {
    const { wallet } = await newWallet();
    const outTradeNo = key('slow');
    const res = await t.call('/wallet/recharge', { wallet_id: wallet, money: 900, out_trade_no: outTradeNo });
    await worker.round();
    const waiting = (await t.call('/wallet_transaction/get', { _id: res.body._id })).body;
    expect(waiting).toMatchObject({ state: 'pending', attempts: 1, error: { code: 'gateway_unavailable' } });
    await runWorker(3);
    const done = (await t.call('/wallet_transaction/get', { _id: res.body._id })).body;
    expect(done).toMatchObject({ state: 'done', attempts: 2, error: null });
    expect(await walletOf(wallet)).toMatchObject({ balance_money: 900, frozen_money: 0 });
    // the simulated gateway executed the order once, on the first (timed-out) call
    expect(await t.db.collection('gateway_simulator').countDocuments({ _id: outTradeNo as never })).toBe(1);
  });

  it('refuses an unknown wallet with 404, the same on a retry', async () => {
    const ghost = new ObjectId().toHexString();
    const outTradeNo = key('ghost');
    const first = await t.call('/wallet/recharge', { wallet_id: ghost, money: 1, out_trade_no: outTradeNo });
    expect(first.status).toBe(404);
    expect(first.body.error).toMatchObject({
      code: 'not_found',
      fields: [{ field: 'wallet_id', messages: ['the wallet does not exist'] }],
    });
    const retry = await t.call('/wallet/recharge', { wallet_id: ghost, money: 1, out_trade_no: outTradeNo });
    expect(retry.status).toBe(404);
  });

  it('refuses a disabled wallet with 409 conflict', async () => {
    const { wallet } = await newWallet();
    expect((await t.call('/wallet/mark_disable', { _id: wallet })).body).toEqual({ ok: true });
    const disabled = await t.call('/wallet/recharge', { wallet_id: wallet, money: 1, out_trade_no: key('off') });
    expect(disabled.status).toBe(409);
    expect(disabled.body.error).toMatchObject({
      code: 'conflict',
      zh_message: expect.stringMatching(/^钱包已停用（交易 [0-9a-f]{24}）$/),
      fields: [{ field: 'wallet_id', messages: ['the wallet is disabled'] }],
    });
  });
});

describe('wallet/withdraw', () => {
  it('freezes the money at once, then takes it when the gateway paid out', async () => {
    const wallet = await fundedWallet(10_000);
    const res = await t.call('/wallet/withdraw', { wallet_id: wallet, money: 3000, out_trade_no: key('wd') });
    expect(res.body).toEqual({ _id: expect.stringMatching(HEX_ID), state: 'pending' });
    expect(await walletOf(wallet)).toMatchObject({ balance_money: 10_000, frozen_money: 3000, available_money: 7000 });
    await runWorker(1);
    expect(await walletOf(wallet)).toMatchObject({ balance_money: 7000, frozen_money: 0, available_money: 7000 });
  });

  it('refuses with insufficient_funds when the available money is short, storing the transaction canceled', async () => {
    const wallet = await fundedWallet(1000);
    await t.call('/wallet/withdraw', { wallet_id: wallet, money: 800, out_trade_no: key('wd-hold') });
    const outTradeNo = key('wd-short');
    const res = await t.call('/wallet/withdraw', { wallet_id: wallet, money: 300, out_trade_no: outTradeNo });
    const tx = await t.db.collection('wallet_transaction').findOne({ out_trade_no: outTradeNo });
    expectError(res, 409, 'insufficient_funds', `the wallet cannot pay this amount (transaction ${tx?._id.toHexString()})`, [
      { field: 'money', messages: ['is more than the wallet can pay'] },
    ]);
    expect(tx).toMatchObject({ state: 'canceled', error: { code: 'insufficient_funds' } });
    expect(await walletOf(wallet)).toMatchObject({ balance_money: 1000, frozen_money: 800, available_money: 200 });
  });

  it('says that a retry meets the refusal of the first call (replayed)', async () => {
    const wallet = await fundedWallet(100);
    const body = { wallet_id: wallet, money: 300, out_trade_no: key('wd-replayed') };
    const first = await t.call('/wallet/withdraw', body);
    const retry = await t.call('/wallet/withdraw', body);
    expectError(retry, 409, 'insufficient_funds', `${first.body.error.message} (replayed)`, [
      { field: 'money', messages: ['is more than the wallet can pay'] },
    ]);
  });

  it('answers mark_cancel of a refused (so canceled) withdrawal with ok, as for any canceled one', async () => {
    const wallet = await fundedWallet(100);
    const outTradeNo = key('wd-refused-cancel');
    expect((await t.call('/wallet/withdraw', { wallet_id: wallet, money: 300, out_trade_no: outTradeNo })).status).toBe(409);
    const tx = await t.db.collection('wallet_transaction').findOne({ out_trade_no: outTradeNo });
    const res = await t.call('/wallet_transaction/mark_cancel', { _id: tx?._id.toHexString() });
    expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { ok: true } });
    expect((await t.db.collection('wallet_transaction').findOne({ _id: tx?._id }))?.error).toMatchObject({ code: 'insufficient_funds' });
  });

  it('answers a retry with the same refusal when the first request died while canceling', async () => {
    // regression: a retry found the withdrawal `canceling` and answered 200 {state: canceling}, later 409
    const wallet = await fundedWallet(100);
    const outTradeNo = key('died-canceling');
    const tx = new ObjectId();
    await t.db.collection('wallet_transaction').insertOne({
      _id: tx,
      type: 'withdraw',
      wallet_id: new ObjectId(wallet),
      to_wallet_id: null,
      money: 500,
      out_trade_no: outTradeNo,
      gateway_trade_no: null,
      state: 'canceling',
      error: { code: 'insufficient_funds', message: 'the wallet cannot pay this amount', wallet_id: new ObjectId(wallet) },
      attempts: 0,
      next_attempt_at: new Date(),
      lock_owner: 'api:dead:1:x',
      lock_until: new Date(Date.now() - 1_000),
      created_at: new Date(),
      updated_at: new Date(),
    });
    const retry = await t.call('/wallet/withdraw', { wallet_id: wallet, money: 500, out_trade_no: outTradeNo });
    expect(retry.status).toBe(409);
    expect(retry.body.error.code).toBe('insufficient_funds');
    expect((await t.db.collection('wallet_transaction').findOne({ _id: tx }))?.state).toBe('canceled');
  });

  it('gives the frozen money back when the payout is declined', async () => {
    const wallet = await fundedWallet(1000);
    await t.call('/wallet/withdraw', { wallet_id: wallet, money: 400, out_trade_no: key('decline-wd') });
    await runWorker(1);
    expect(await walletOf(wallet)).toMatchObject({ balance_money: 1000, frozen_money: 0 });
  });
});

describe('wallet/transfer', () => {
  it('moves the money inside the request (state done)', async () => {
    const from = await fundedWallet(5000);
    const { wallet: to } = await newWallet();
    const res = await t.call('/wallet/transfer', { from_wallet_id: from, to_wallet_id: to, money: 1200, out_trade_no: key('tr') });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ _id: expect.stringMatching(HEX_ID), state: 'done' });
    expect(await walletOf(from)).toMatchObject({ balance_money: 3800, frozen_money: 0 });
    expect(await walletOf(to)).toMatchObject({ balance_money: 1200, frozen_money: 0, available_money: 1200 });
    expect(await t.db.collection('wallet').countDocuments({ pending_transactions: new ObjectId(res.body._id as string) })).toBe(0);
  });

  it('moves nothing when the source cannot pay (insufficient_funds)', async () => {
    const from = await fundedWallet(100);
    const { wallet: to } = await newWallet();
    const res = await t.call('/wallet/transfer', { from_wallet_id: from, to_wallet_id: to, money: 101, out_trade_no: key('tr-short') });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('insufficient_funds');
    expect(await walletOf(from)).toMatchObject({ balance_money: 100, frozen_money: 0 });
    expect(await walletOf(to)).toMatchObject({ balance_money: 0 });
  });

  it('refuses the same wallet on both sides', async () => {
    const { wallet } = await newWallet();
    expectError(
      await t.call('/wallet/transfer', { from_wallet_id: wallet, to_wallet_id: wallet, money: 1, out_trade_no: key('self') }),
      400,
      'invalid_params',
      'Invalid parameter to_wallet_id: must differ from from_wallet_id',
      [{ field: 'to_wallet_id', messages: ['must differ from from_wallet_id'] }],
    );
  });

  it('names an unknown destination with 404, rolling the debited source back', async () => {
    const from = await fundedWallet(50);
    const ghost = new ObjectId().toHexString();
    const res = await t.call('/wallet/transfer', { from_wallet_id: from, to_wallet_id: ghost, money: 10, out_trade_no: key('to-ghost') });
    expect(res.status).toBe(404);
    expect(res.body.error.fields).toEqual([{ field: 'to_wallet_id', messages: ['the wallet does not exist'] }]);
    // the source was debited first and is refunded by the rollback
    expect(await walletOf(from)).toMatchObject({ balance_money: 50, frozen_money: 0 });
  });

  it('rolls the source back when the destination is disabled', async () => {
    const from = await fundedWallet(300);
    const { wallet: to } = await newWallet();
    await t.call('/wallet/mark_disable', { _id: to });
    const res = await t.call('/wallet/transfer', { from_wallet_id: from, to_wallet_id: to, money: 100, out_trade_no: key('to-off') });
    expect(res.status).toBe(409);
    expect(res.body.error.fields).toEqual([{ field: 'to_wallet_id', messages: ['the wallet is disabled'] }]);
    expect(await walletOf(from)).toMatchObject({ balance_money: 300, frozen_money: 0 });
  });
});

describe('unfinished transactions and limits', () => {
  it('answers 202 with the state to a retried transfer that another actor still drives', async () => {
    const from = await fundedWallet(100);
    const { wallet: to } = await newWallet();
    const outTradeNo = key('driven-elsewhere');
    // a live actor holds the transfer (its lock runs for a minute): the retry waits WALLET_RETRY_WAIT_MS, then answers
    const tx = new ObjectId();
    await t.db.collection('wallet_transaction').insertOne({
      _id: tx,
      type: 'transfer',
      wallet_id: new ObjectId(from),
      to_wallet_id: new ObjectId(to),
      money: 10,
      out_trade_no: outTradeNo,
      gateway_trade_no: null,
      state: 'pending',
      error: null,
      attempts: 0,
      next_attempt_at: new Date(),
      lock_owner: 'api:elsewhere:1:x',
      lock_until: new Date(Date.now() + 60_000),
      created_at: new Date(),
      updated_at: new Date(),
    });
    const res = await t.call('/wallet/transfer', { from_wallet_id: from, to_wallet_id: to, money: 10, out_trade_no: outTradeNo });
    expect({ status: res.status, body: res.body }).toEqual({ status: 202, body: { _id: tx.toHexString(), state: 'pending' } });
    await t.db.collection('wallet_transaction').updateOne({ _id: tx }, { $set: { lock_until: new Date(0) } }); // let recovery have it
  });

  it('states the balance ceiling when a credit would pass it', async () => {
    const { wallet } = await newWallet();
    // books for a hand-made balance just under the ceiling: a done recharge of it, and its audit entry
    const near = 1_000_000_000_000_000 - 5;
    const recharge = await t.db.collection('wallet_transaction').insertOne({
      type: 'recharge',
      wallet_id: new ObjectId(wallet),
      to_wallet_id: null,
      money: near,
      out_trade_no: key('near-ceiling'),
      state: 'done',
      lock_until: new Date(0),
      created_at: new Date(),
      updated_at: new Date(),
    });
    await handMadeBalance(t.db, wallet, near, recharge.insertedId);
    const outTradeNo = key('over-ceiling');
    const res = await t.call('/wallet/recharge', { wallet_id: wallet, money: 10, out_trade_no: outTradeNo });
    const tx = await t.db.collection('wallet_transaction').findOne({ out_trade_no: outTradeNo });
    expectError(
      res,
      409,
      'conflict',
      `the balance would exceed its limit of 1000000000000000 (分) (transaction ${tx?._id.toHexString()})`,
      [{ field: 'wallet_id', messages: ['the balance would exceed its limit of 1000000000000000 (分)'] }],
      `余额将超出上限 1000000000000000 分（交易 ${tx?._id.toHexString()}）`,
    );
  });
});

describe('wallet/collect', () => {
  it("moves the order's amount from the payer to the merchant inside the request (state done)", async () => {
    const payer = await fundedWallet(2000);
    const { wallet: merchant } = await newWallet('商户');
    const res = await t.call('/wallet/collect', {
      merchant_wallet_id: merchant,
      payer_wallet_id: payer,
      money: 1500,
      out_trade_no: key('order'),
    });
    expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { _id: expect.stringMatching(HEX_ID), state: 'done' } });
    expect(await walletOf(payer)).toMatchObject({ balance_money: 500, frozen_money: 0 });
    expect(await walletOf(merchant)).toMatchObject({ balance_money: 1500, frozen_money: 0, available_money: 1500 });
    const tx = (await t.call('/wallet_transaction/get', { _id: res.body._id })).body;
    expect(tx).toMatchObject({
      type: 'collect',
      wallet_id: payer,
      to_wallet_id: merchant,
      money: 1500,
      refunded_money: null,
      refund_of: null,
      state: 'done',
    });
  });

  it('moves nothing when the payer cannot pay (insufficient_funds)', async () => {
    const payer = await fundedWallet(100);
    const { wallet: merchant } = await newWallet();
    const outTradeNo = key('order-short');
    const res = await t.call('/wallet/collect', {
      merchant_wallet_id: merchant,
      payer_wallet_id: payer,
      money: 101,
      out_trade_no: outTradeNo,
    });
    const tx = await t.db.collection('wallet_transaction').findOne({ out_trade_no: outTradeNo });
    expectError(res, 409, 'insufficient_funds', `the wallet cannot pay this amount (transaction ${tx?._id.toHexString()})`, [
      { field: 'money', messages: ['is more than the wallet can pay'] },
    ]);
    expect([await walletOf(payer), await walletOf(merchant)]).toMatchObject([{ balance_money: 100 }, { balance_money: 0 }]);
  });

  /** The body of a collect of 300 from a funded payer, done once. */
  async function collectedOrder() {
    const payer = await fundedWallet(1000);
    const { wallet: merchant } = await newWallet();
    const body = { merchant_wallet_id: merchant, payer_wallet_id: payer, money: 300, out_trade_no: key('order-again') };
    expect((await t.call('/wallet/collect', body)).body.state).toBe('done');
    return { merchant, body };
  }

  it('collects once for a retried order (same out_trade_no)', async () => {
    const { merchant, body } = await collectedOrder();
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => t.call('/wallet/collect', body)));
    expect(answers.map((r) => ({ status: r.status, body: r.body }))).toEqual(answers.map(() => ({ status: 200, body: answers[0]?.body })));
    expect(await walletOf(merchant)).toMatchObject({ balance_money: 300 });
  });

  it('refuses the out_trade_no of a collect with another amount (idempotency_conflict)', async () => {
    const { merchant, body } = await collectedOrder();
    expect((await t.call('/wallet/collect', { ...body, money: 301 })).body.error.code).toBe('idempotency_conflict');
    expect(await walletOf(merchant)).toMatchObject({ balance_money: 300 });
  });

  it('refuses a collect whose payer is its merchant', async () => {
    const { wallet } = await newWallet();
    expectError(
      await t.call('/wallet/collect', { merchant_wallet_id: wallet, payer_wallet_id: wallet, money: 1, out_trade_no: key('self-order') }),
      400,
      'invalid_params',
      'Invalid parameter payer_wallet_id: must differ from merchant_wallet_id',
      [{ field: 'payer_wallet_id', messages: ['must differ from merchant_wallet_id'] }],
    );
  });
});

describe('wallet/refund', () => {
  /** A payer who paid a merchant `money` (a done collect). */
  async function collected(money: number): Promise<{ payer: string; merchant: string; order: string }> {
    const payer = await fundedWallet(money);
    const { wallet: merchant } = await newWallet('商户');
    const order = key('paid');
    expect(
      (await t.call('/wallet/collect', { merchant_wallet_id: merchant, payer_wallet_id: payer, money, out_trade_no: order })).body.state,
    ).toBe('done');
    return { payer, merchant, order };
  }

  it('refunds a collect in parts up to its amount, not a cent more', async () => {
    const { payer, merchant, order } = await collected(1000);
    const first = await t.call('/wallet/refund', { collect_out_trade_no: order, money: 400, out_trade_no: key('refund') });
    expect({ status: first.status, body: first.body }).toEqual({
      status: 200,
      body: { _id: expect.stringMatching(HEX_ID), state: 'done' },
    });
    expect([await walletOf(payer), await walletOf(merchant)]).toMatchObject([{ balance_money: 400 }, { balance_money: 600 }]);
    expect((await t.call('/wallet/refund', { collect_out_trade_no: order, money: 600, out_trade_no: key('refund') })).body.state).toBe(
      'done',
    );
    const outTradeNo = key('refund-over');
    const over = await t.call('/wallet/refund', { collect_out_trade_no: order, money: 1, out_trade_no: outTradeNo });
    const tx = await t.db.collection('wallet_transaction').findOne({ out_trade_no: outTradeNo });
    expectError(
      over,
      409,
      'conflict',
      `the refunds would exceed what was collected (transaction ${tx?._id.toHexString()})`,
      [{ field: 'money', messages: ['is more than is left to refund'] }],
      `退款总额将超出收款金额（交易 ${tx?._id.toHexString()}）`,
    );
    expect([await walletOf(payer), await walletOf(merchant)]).toMatchObject([{ balance_money: 1000 }, { balance_money: 0 }]);
    const collect = (await t.call('/wallet_transaction/find', { out_trade_no: order })).body.data[0];
    expect(collect).toMatchObject({ type: 'collect', money: 1000, refunded_money: 1000 });
  });

  it('pays a retried refund once, answering it with the first transaction', async () => {
    const { payer, order } = await collected(500);
    const body = { collect_out_trade_no: order, money: 200, out_trade_no: key('refund-again') };
    const first = await t.call('/wallet/refund', body);
    const again = await t.call('/wallet/refund', body);
    expect({ status: again.status, body: again.body }).toEqual({ status: 200, body: first.body });
    expect(await walletOf(payer)).toMatchObject({ balance_money: 200 });
    const refund = (await t.call('/wallet_transaction/get', { _id: first.body._id })).body;
    expect(refund).toMatchObject({ type: 'refund', refund_of: expect.stringMatching(HEX_ID), money: 200, state: 'done' });
  });

  it('10 racing refunds of 300 on a collect of 1000: exactly 3 pay, the other 7 are refused, the books balanced', async () => {
    const { payer, merchant, order } = await collected(1000);
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        t.call('/wallet/refund', { collect_out_trade_no: order, money: 300, out_trade_no: `${order}-race-${i}` }),
      ),
    );
    const outcomes = answers.map((r) =>
      r.status === 200 ? `200 ${r.body.state}` : `${r.status} ${r.body.error.code} ${r.body.error.fields?.[0]?.messages?.[0]}`,
    );
    expect(outcomes.sort()).toEqual([...Array(3).fill('200 done'), ...Array(7).fill('409 conflict is more than is left to refund')]);
    expect([await walletOf(payer), await walletOf(merchant)]).toMatchObject([
      { balance_money: 900, frozen_money: 0 },
      { balance_money: 100, frozen_money: 0 },
    ]);
    const collect = await t.db.collection('wallet_transaction').findOne({ out_trade_no: order });
    expect({ refunded: collect?.refunded_money, refunds: collect?.refunds.length }).toEqual({ refunded: 900, refunds: 3 });
    expect((await verifyBooks(t.db)).breaks).toEqual([]);
  });

  it('gives the reservation back when the merchant cannot pay, so the amount can be refunded later', async () => {
    const { merchant, order } = await collected(800);
    const { wallet: elsewhere } = await newWallet();
    await t.call('/wallet/transfer', { from_wallet_id: merchant, to_wallet_id: elsewhere, money: 800, out_trade_no: key('spent') });
    const short = await t.call('/wallet/refund', { collect_out_trade_no: order, money: 800, out_trade_no: key('refund-short') });
    expect(short.body.error.code).toBe('insufficient_funds');
    expect((await t.db.collection('wallet_transaction').findOne({ out_trade_no: order }))?.refunded_money).toBe(0);
    await t.call('/wallet/transfer', { from_wallet_id: elsewhere, to_wallet_id: merchant, money: 800, out_trade_no: key('back') });
    expect(
      (await t.call('/wallet/refund', { collect_out_trade_no: order, money: 800, out_trade_no: key('refund-later') })).body.state,
    ).toBe('done');
  });

  it('answers not_found for an order that is not a collect', async () => {
    const wallet = await fundedWallet(10);
    const recharge = (await t.db.collection('wallet_transaction').findOne({ wallet_id: new ObjectId(wallet) }))?.out_trade_no as string;
    for (const order of [recharge, key('no-such-order')]) {
      expectError(
        await t.call('/wallet/refund', { collect_out_trade_no: order, money: 1, out_trade_no: key('refund-ghost') }),
        404,
        'not_found',
        `no collect with out_trade_no ${order}`,
        [{ field: 'collect_out_trade_no', messages: ['no collect with this out_trade_no'] }],
      );
    }
  });
});

describe('idempotency (out_trade_no)', () => {
  it('returns the same transaction for a retry with the same params', async () => {
    const from = await fundedWallet(1000);
    const { wallet: to } = await newWallet();
    const body = { from_wallet_id: from, to_wallet_id: to, money: 10, out_trade_no: key('same') };
    const first = await t.call('/wallet/transfer', body);
    const again = await t.call('/wallet/transfer', body);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await walletOf(to)).toMatchObject({ balance_money: 10 });
  });

  it('answers idempotency_conflict for the same key with other params', async () => {
    const from = await fundedWallet(1000);
    const { wallet: to } = await newWallet();
    const outTradeNo = key('reuse');
    await t.call('/wallet/transfer', { from_wallet_id: from, to_wallet_id: to, money: 10, out_trade_no: outTradeNo });
    for (const body of [
      { from_wallet_id: from, to_wallet_id: to, money: 11, out_trade_no: outTradeNo },
      { from_wallet_id: to, to_wallet_id: from, money: 10, out_trade_no: outTradeNo },
    ]) {
      expectError(
        await t.call('/wallet/transfer', body),
        409,
        'idempotency_conflict',
        `out_trade_no ${outTradeNo} was already used for another transfer`,
        [{ field: 'out_trade_no', messages: ['was already used with different parameters'] }],
      );
    }
    const other = await t.call('/wallet/recharge', { wallet_id: from, money: 10, out_trade_no: outTradeNo });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('idempotency_conflict');
  });

  it('20 parallel copies of one transfer: one transaction, money moved once, every answer the same', async () => {
    const from = await fundedWallet(1000);
    const { wallet: to } = await newWallet();
    const body = { from_wallet_id: from, to_wallet_id: to, money: 250, out_trade_no: key('storm') };
    const answers = await Promise.all(Array.from({ length: 20 }, () => t.call('/wallet/transfer', body)));
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    const ids = new Set(answers.map((r) => r.body._id as string));
    expect(ids.size).toBe(1);
    expect(answers.map((r) => r.body.state)).toEqual(Array(20).fill('done'));
    expect(await t.db.collection('wallet_transaction').countDocuments({ out_trade_no: body.out_trade_no })).toBe(1);
    expect(await walletOf(from)).toMatchObject({ balance_money: 750, frozen_money: 0 });
    expect(await walletOf(to)).toMatchObject({ balance_money: 250, frozen_money: 0 });
  });

  it('20 parallel copies of one recharge: one transaction, one gateway order, money applied once', async () => {
    const { wallet } = await newWallet();
    const body = { wallet_id: wallet, money: 333, out_trade_no: key('storm-rc') };
    const answers = await Promise.all(Array.from({ length: 20 }, () => t.call('/wallet/recharge', body)));
    expect(new Set(answers.map((r) => `${r.status} ${r.body._id} ${r.body.state}`)).size).toBe(1);
    expect(answers[0]?.body.state).toBe('pending');
    await runWorker(2);
    expect(await walletOf(wallet)).toMatchObject({ balance_money: 333, frozen_money: 0 });
    expect(await t.db.collection('gateway_simulator').countDocuments({ _id: body.out_trade_no as never })).toBe(1);
  });
});

describe('wallet_transaction/find and mark_cancel', () => {
  it('filters by wallet_id, to_wallet_id, type with state__in', async () => {
    const wallet = await fundedWallet(500);
    const { wallet: to } = await newWallet();
    await t.call('/wallet/transfer', { from_wallet_id: wallet, to_wallet_id: to, money: 5, out_trade_no: key('f1') });
    await t.call('/wallet/withdraw', { wallet_id: wallet, money: 5000, out_trade_no: key('f2') });
    const all = await t.call('/wallet_transaction/find', { wallet_id: wallet });
    expect(all.body._meta.result_count).toBe(3);
    expect(all.body.data.map((tx: { type: string; state: string }) => `${tx.type}:${tx.state}`)).toEqual([
      'withdraw:canceled',
      'transfer:done',
      'recharge:done',
    ]);
    const transfers = await t.call('/wallet_transaction/find', { wallet_id: wallet, type: 'transfer', state__in: ['done'] });
    expect(transfers.body.data).toHaveLength(1);
    const incoming = await t.call('/wallet_transaction/find', { to_wallet_id: to });
    expect(incoming.body.data).toHaveLength(1);
  });

  /** A withdrawal of 600 from a wallet of 1000, canceled before the worker sent it to the gateway. */
  async function canceledWithdrawal(): Promise<{ wallet: string; tx: string }> {
    const wallet = await fundedWallet(1000);
    const res = await t.call('/wallet/withdraw', { wallet_id: wallet, money: 600, out_trade_no: key('cancel-me') });
    expect((await walletOf(wallet)).frozen_money).toBe(600);
    expect((await t.call('/wallet_transaction/mark_cancel', { _id: res.body._id })).body).toEqual({ ok: true });
    return { wallet, tx: res.body._id as string };
  }

  it('cancels a payment not yet sent to the gateway, releasing its frozen money for good', async () => {
    const { wallet, tx } = await canceledWithdrawal();
    expect(await walletOf(wallet)).toMatchObject({ balance_money: 1000, frozen_money: 0 });
    expect((await t.call('/wallet_transaction/get', { _id: tx })).body).toMatchObject({
      state: 'canceled',
      attempts: 0,
      error: { code: 'canceled_by_caller' },
    });
    await runWorker(1);
    expect((await t.call('/wallet_transaction/get', { _id: tx })).body.state).toBe('canceled');
  });

  it('answers ok to a retried cancel (regression: it answered 409, as if the payment would go ahead)', async () => {
    const { wallet, tx } = await canceledWithdrawal();
    const retried = await t.call('/wallet_transaction/mark_cancel', { _id: tx });
    expect({ status: retried.status, body: retried.body }).toEqual({ status: 200, body: { ok: true } });
    expect(await walletOf(wallet)).toMatchObject({ balance_money: 1000, frozen_money: 0 });
    expect((await t.call('/wallet_transaction/get', { _id: tx })).body).toMatchObject({
      state: 'canceled',
      error: { code: 'canceled_by_caller' },
    });
  });

  it('refuses to cancel once the gateway was called or the money moved', async () => {
    const wallet = await fundedWallet(1000);
    const sent = await t.call('/wallet/withdraw', { wallet_id: wallet, money: 100, out_trade_no: key('slow-cancel') });
    await worker.round(); // the gateway times out: outcome unknown, attempts 1
    expectError(
      await t.call('/wallet_transaction/mark_cancel', { _id: sent.body._id }),
      409,
      'conflict',
      'a withdraw in state pending already sent to the gateway can no longer be canceled',
      [{ field: 'state', messages: ['is pending'] }],
      '状态为 pending 且已提交支付网关的 withdraw 已不能取消',
    );
    const { wallet: to } = await newWallet();
    const done = await t.call('/wallet/transfer', { from_wallet_id: wallet, to_wallet_id: to, money: 1, out_trade_no: key('done-cancel') });
    const refused = await t.call('/wallet_transaction/mark_cancel', { _id: done.body._id });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toBe('a transfer in state done can no longer be canceled');
    const ghost = new ObjectId().toHexString();
    expectError(await t.call('/wallet_transaction/mark_cancel', { _id: ghost }), 404, 'not_found', `wallet_transaction ${ghost} not found`);
  });

  it('keeps the books straight through all of the above', async () => {
    await runWorker(3);
    const report = await verifyBooks(t.db);
    expect(report.breaks).toEqual([]);
    expect(report.ok).toBe(true);
  });
});
