import type { TxDoc } from './transactions.js';

/** The fields of a transaction that `wallet verify` reads: enough to replay its legs and its refunds. */
export type LedgerTx = Pick<
  TxDoc,
  '_id' | 'type' | 'wallet_id' | 'to_wallet_id' | 'money' | 'state' | 'refund_of' | 'refunded_money' | 'refunds' | 'updated_at'
>;

/** The projection that reads a LedgerTx. */
export const TX_FIELDS = {
  type: 1,
  wallet_id: 1,
  to_wallet_id: 1,
  money: 1,
  state: 1,
  refund_of: 1,
  refunded_money: 1,
  refunds: 1,
  updated_at: 1,
} as const;

/** How often a consistent view (record, what touches it, record again) is retried before it is reported unverified. */
export const SNAPSHOT_ATTEMPTS = 20;
