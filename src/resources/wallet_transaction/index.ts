import { defineAction } from '../../core/declared-types.js';
import { defineResource } from '../../core/resource.js';
import { asApiCall } from '../../payments/api-errors.js';
import { actorOfCaller } from '../../payments/audit.js';
import { TX_COLLECTION } from '../../payments/collections.js';
import { TX_STATES, TX_TYPES } from '../../payments/transactions.js';

/**
 * 钱包交易 — one document per payment; written only by the payment engine, which also makes this collection's
 * indexes (src/payments/collections.ts).
 */
export default defineResource({
  name: 'wallet_transaction',
  summary: '钱包交易 (wallet transactions; read-only but for mark_cancel)',
  collection: TX_COLLECTION,
  fields: {
    type: `M enum<str>(${TX_TYPES.join(',')})`,
    wallet_id: { type: 'M object_id', note: 'the wallet charged (withdraw, transfer) or credited (recharge)' },
    to_wallet_id: { type: 'O object_id', note: 'the receiving wallet of a transfer, collect (merchant) or refund (payer)' },
    money: 'M int(1,10000000000000)',
    out_trade_no: 'M string(1,64)',
    state: `M enum<str>(${TX_STATES.join(',')})`,
  },
  // written by the payment engine only (src/payments/transactions.ts, TxDoc)
  stored: {
    gateway_trade_no: 'O string',
    error: { type: 'O dict', fields: { code: 'M string', message: 'M string', wallet_id: 'O object_id' } },
    attempts: 'O int',
    parked: 'O bool',
    next_attempt_at: 'O datetime',
    lock_owner: 'O string',
    lock_until: 'O datetime',
    refund_of: 'O object_id',
    refunded_money: 'O int',
    refunds: 'O list<object_id>',
  },
  actions: (std) => ({
    get: std.get({ result: 'wallet_transaction_detail' }),
    find: std.find({
      result: 'wallet_transaction_detail',
      filters: {
        wallet_id: ['eq'],
        to_wallet_id: ['eq'],
        type: ['eq', 'in'],
        state: ['eq', 'in'],
        out_trade_no: ['eq'],
        refund_of: ['eq'],
        created_at: ['gte', 'lt'],
      },
      sortable: ['_id', 'created_at'],
      // the history only grows: a page of it costs the same at a million transactions (a wallet's own stays exact below the cap)
      count: { cap: 10_000 },
    }),
    mark_cancel: defineAction({
      summary: 'Cancel before the money moved: a transaction still initial, or a gateway payment never sent to the gateway; 409 otherwise',
      params: { _id: 'M object_id' },
      result: 'ok_result',
      envelope: 'ok_result',
      handler: async ({ _id }, ctx) => {
        await asApiCall(() => ctx.services.payments.cancel(ctx.db, _id, undefined, actorOfCaller(ctx.caller, ctx.requestId)));
        return {};
      },
    }),
  }),
});
