import type { ObjectId } from 'mongodb';
import type { ResourceDefinition } from '../../core/dispatch.js';
import { defineResource } from '../../core/resource.js';
import type { PaymentEngine } from '../../payments/engine.js';
import { TX_COLLECTION, TX_STATES, TX_TYPES, actorName } from '../../payments/transactions.js';

/** 钱包交易 — one document per recharge, withdraw or transfer; written only by the payment engine. */
export function walletTransactionResource(engine: PaymentEngine): ResourceDefinition {
  return defineResource({
    name: 'wallet_transaction',
    summary: '钱包交易 (wallet transactions; read-only but for mark_cancel)',
    collection: TX_COLLECTION,
    fields: {
      type: `M enum<str>(${TX_TYPES.join(',')})`,
      wallet_id: { type: 'M object_id', note: 'the wallet charged (withdraw, transfer) or credited (recharge)' },
      to_wallet_id: { type: 'O object_id', note: 'the receiving wallet of a transfer' },
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
    },
    indexes: [
      { key: { out_trade_no: 1 }, name: 'out_trade_no_1', unique: true },
      { key: { state: 1, type: 1, next_attempt_at: 1 }, name: 'state_1_type_1_next_attempt_at_1' },
      { key: { state: 1, lock_until: 1 }, name: 'state_1_lock_until_1' },
      { key: { wallet_id: 1, _id: -1 }, name: 'wallet_id_1__id_-1' },
      { key: { to_wallet_id: 1, _id: -1 }, name: 'to_wallet_id_1__id_-1' },
    ],
    actions: (std) => ({
      get: std.get({ result: 'wallet_transaction_detail' }),
      find: std.find({
        result: 'wallet_transaction_detail',
        filters: { wallet_id: ['eq'], to_wallet_id: ['eq'], type: ['eq', 'in'], state: ['eq', 'in'], out_trade_no: ['eq'], created_at: ['gte', 'lt'] },
        sortable: ['_id', 'created_at'],
      }),
      mark_cancel: {
        summary: 'Cancel before the money moved: a transaction still initial, or a gateway payment never sent to the gateway; 409 otherwise',
        params: { _id: 'M object_id' },
        result: 'ok_result',
        envelope: 'ok_result',
        handler: async ({ _id }, ctx) => {
          await engine.cancel(ctx.db, _id as ObjectId, actorName('api'));
          return {};
        },
      },
    }),
  });
}
