import { Long, type ObjectId } from 'mongodb';
import { defineAction } from '../../core/declared-types.js';
import type { ActionDefinition, HandlerContext } from '../../core/dispatch.js';
import { invalidParams, type ErrorCode } from '../../core/errors.js';
import { defineResource } from '../../core/resource.js';
import { asApiCall } from '../../payments/api-errors.js';
import type { PaymentRequest, SubmitOutcome } from '../../payments/engine.js';
import { WALLET_STATE } from '../../payments/legs.js';
import { submitRefund } from '../../payments/refund.js';
import { actorOfCaller } from '../../payments/audit.js';
import { auditedCreate, auditedMark } from './audited.js';
import type { TxType } from '../../payments/transactions.js';

/** What a payment can be refused with: an unknown or disabled wallet, no money, a reused `out_trade_no`. */
const PAYMENT_ERRORS: ErrorCode[] = ['not_found', 'conflict', 'insufficient_funds', 'idempotency_conflict'];

/** Money is an integer count of minor units (分/cents), never a float. */
export const MONEY = { type: 'M int(1,10000000000000)', note: '金额, integer minor units (分)' } as const;
const OUT_TRADE_NO = {
  type: 'M string(1,64)',
  note: "the caller's unique key: a retry with the same key and params returns the same transaction",
} as const;

/** The 202 of a money action (answer below). */
const STILL_DRIVEN =
  'the transaction is not finished: another actor (the worker, or a request before this one) still drives it; its state says where it is (ask again)';

/** 钱包 — seed 004 §10. Every change of money goes through the payment engine (src/payments, `ctx.services.payments`). */
export default defineResource({
  name: 'wallet',
  summary: '钱包 (wallets; money in integer minor units)',
  fields: {
    account_id: { type: 'M object_id', note: '账号ID; one wallet per account' },
    state: { type: 'O enum<int>(100,200)', note: '100 active, 200 disabled' },
    balance_money: 'O int',
    frozen_money: 'O int',
    pending_transactions: 'O list<object_id>',
  },
  defaults: { state: WALLET_STATE.active, balance_money: Long.ZERO, frozen_money: Long.ZERO, pending_transactions: [] },
  references: { account_id: 'account' },
  indexes: [
    { key: { account_id: 1 }, name: 'account_id_1', unique: true },
    { key: { state: 1, _id: -1 }, name: 'state_1__id_-1' },
    { key: { created_at: -1, _id: -1 }, name: 'created_at_-1__id_-1' },
    { key: { balance_money: 1, _id: 1 }, name: 'balance_money_1__id_1' },
  ],
  derive: (wallet) => ({ ...wallet, available_money: Number(wallet.balance_money) - Number(wallet.frozen_money) }),
  actions: (std) => ({
    create: auditedCreate(std, {
      fields: ['account_id'],
      summary: 'Open the wallet of an account (400 when the account does not exist, 409 when it has one)',
    }),
    get: std.get({ result: 'wallet_detail' }),
    find: std.find({
      result: 'wallet_detail',
      filters: { account_id: ['eq'], state: ['eq', 'in'] },
      sortable: ['_id', 'created_at', 'balance_money'],
    }),
    mark_disable: auditedMark(std, {
      from: WALLET_STATE.active,
      to: WALLET_STATE.disabled,
      action: 'disable',
      summary: 'Disable a wallet: no new money in or out (what is in flight finishes)',
    }),
    mark_enable: auditedMark(std, { from: WALLET_STATE.disabled, to: WALLET_STATE.active, action: 'enable' }),
    recharge: gatewayPayment(
      'recharge',
      '钱包充值',
      'Recharge through the payment gateway: the money shows as frozen until the gateway confirms (state pending)',
    ),
    withdraw: gatewayPayment(
      'withdraw',
      '钱包提现',
      'Withdraw through the payment gateway: the money is frozen at once (409 insufficient_funds), paid out by the worker',
    ),
    transfer: defineAction({
      summary:
        'Move money between two wallets, finished (done) inside the request; 409 insufficient_funds when the source cannot pay; 202 for a retry while another actor still drives it',
      titleZh: '钱包转账',
      errors: PAYMENT_ERRORS,
      accepted: STILL_DRIVEN,
      paramChecks: ['to_wallet_id differs from from_wallet_id'],
      params: { from_wallet_id: 'M object_id', to_wallet_id: 'M object_id', money: MONEY, out_trade_no: OUT_TRADE_NO },
      result: 'wallet_transaction_summary',
      envelope: 'object_result',
      handler: async (params, ctx) => {
        const from = params.from_wallet_id;
        const to = params.to_wallet_id;
        if (from.equals(to)) throw invalidParams([{ field: 'to_wallet_id', messages: ['must differ from from_wallet_id'] }]);
        const request: PaymentRequest = {
          type: 'transfer',
          wallet_id: from,
          to_wallet_id: to,
          money: params.money,
          out_trade_no: params.out_trade_no,
        };
        return await submit(ctx, request, { [from.toHexString()]: 'from_wallet_id', [to.toHexString()]: 'to_wallet_id' });
      },
    }),
    collect: defineAction({
      titleZh: '钱包收款',
      errors: PAYMENT_ERRORS,
      accepted: STILL_DRIVEN,
      summary:
        "收款: a merchant's wallet collects an order's amount from the payer's wallet, done inside the request (idempotent by out_trade_no); 409 insufficient_funds; 202 while another actor still drives it",
      params: {
        merchant_wallet_id: { type: 'M object_id', note: 'the wallet that collects' },
        payer_wallet_id: { type: 'M object_id', note: 'the wallet that pays' },
        money: MONEY,
        out_trade_no: {
          type: 'M string(1,64)',
          note: "the order's unique key: a retry with the same key and params returns the same collect; refunds name it",
        },
      },
      result: 'wallet_transaction_summary',
      envelope: 'object_result',
      handler: async (params, ctx) => {
        const merchant = params.merchant_wallet_id;
        const payer = params.payer_wallet_id;
        if (merchant.equals(payer)) throw invalidParams([{ field: 'payer_wallet_id', messages: ['must differ from merchant_wallet_id'] }]);
        const request: PaymentRequest = {
          type: 'collect',
          wallet_id: payer,
          to_wallet_id: merchant,
          money: params.money,
          out_trade_no: params.out_trade_no,
        };
        return await submit(ctx, request, { [payer.toHexString()]: 'payer_wallet_id', [merchant.toHexString()]: 'merchant_wallet_id' });
      },
    }),
    refund: defineAction({
      titleZh: '钱包退款',
      errors: PAYMENT_ERRORS,
      accepted: STILL_DRIVEN,
      summary:
        'Refund all or part of a collect: the merchant pays the payer back, done inside the request (idempotent by its own out_trade_no); refunds never exceed what was collected (409); 202 while another actor still drives it',
      params: {
        collect_out_trade_no: { type: 'M string(1,64)', note: 'the out_trade_no of the collect to refund' },
        money: MONEY,
        out_trade_no: {
          type: 'M string(1,64)',
          note: "the refund's own unique key: a retry with the same key and params returns the same refund",
        },
      },
      result: 'wallet_transaction_summary',
      envelope: 'object_result',
      handler: async (params, ctx) => {
        const request = {
          collect_out_trade_no: params.collect_out_trade_no,
          money: params.money,
          out_trade_no: params.out_trade_no,
        };
        return answer(
          ctx,
          await asApiCall(() => submitRefund(ctx.services.payments, ctx.db, request, ctx.log, actorOfCaller(ctx.caller, ctx.requestId))),
        );
      },
    }),
  }),
});

function gatewayPayment(type: TxType, titleZh: string, summary: string): ActionDefinition {
  return defineAction({
    summary,
    titleZh,
    errors: PAYMENT_ERRORS,
    accepted: STILL_DRIVEN,
    params: { wallet_id: 'M object_id', money: MONEY, out_trade_no: OUT_TRADE_NO },
    result: 'wallet_transaction_summary',
    envelope: 'object_result',
    handler: async (params, ctx) => {
      const wallet = params.wallet_id;
      const request: PaymentRequest = {
        type,
        wallet_id: wallet,
        to_wallet_id: null,
        money: params.money,
        out_trade_no: params.out_trade_no,
      };
      return await submit(ctx, request, { [wallet.toHexString()]: 'wallet_id' });
    },
  });
}

/** The transaction as `{_id, state}`; a refusal is the error it means (the same answer on every retry). */
async function submit(
  ctx: HandlerContext,
  request: PaymentRequest,
  paramOf: Record<string, string>,
): Promise<{ _id: ObjectId; state: string }> {
  const actor = actorOfCaller(ctx.caller, ctx.requestId);
  return answer(ctx, await asApiCall(() => ctx.services.payments.submit(ctx.db, request, ctx.log, actor), paramOf));
}

/** 200 once the request's part is over; 202 while another actor still drives the transaction (ask again). */
function answer(ctx: HandlerContext, outcome: SubmitOutcome): { _id: ObjectId; state: string } {
  if (outcome.inProgress) ctx.status = 202;
  return { _id: outcome.tx._id, state: outcome.tx.state };
}
