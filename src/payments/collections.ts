import type { Collection, Db, IndexDescription } from 'mongodb';
import { collectionOf } from '../core/db.js';
import { ensureAuditIndexes } from './audit.js';
import type { WalletDoc } from './legs.js';
import type { TxDoc } from './transactions.js';

/**
 * The collections the payment engine writes, and the indexes its guarantees and queries rest on. They are the
 * engine's, not a resource's: the worker and the CLI make them without building the HTTP resources.
 */
export const TX_COLLECTION = 'wallet_transaction';
export const WALLET_COLLECTION = 'wallet';

/** The transaction documents (one per payment). */
export function transactions(db: Db): Collection<TxDoc> {
  return collectionOf<TxDoc>(db, TX_COLLECTION);
}

/** The wallets whose money the engine moves. */
export function wallets(db: Db): Collection<WalletDoc> {
  return collectionOf<WalletDoc>(db, WALLET_COLLECTION);
}

/** The indexes of the transactions collection (the payments engine creates them, not the resource). */
export const TX_INDEXES: IndexDescription[] = [
  // idempotency: one transaction per caller key, whatever races (seed 004 §10: 通过创建唯一索引来防止重复打款)
  { key: { out_trade_no: 1 }, name: 'out_trade_no_1', unique: true },
  // the worker's queue (claimDue) and recovery (recoverStuck)
  { key: { state: 1, type: 1, next_attempt_at: 1 }, name: 'state_1_type_1_next_attempt_at_1' },
  { key: { state: 1, lock_until: 1 }, name: 'state_1_lock_until_1' },
  // a wallet's transactions: verify's per-wallet check and wallet_transaction/find
  { key: { wallet_id: 1, _id: -1 }, name: 'wallet_id_1__id_-1' },
  { key: { to_wallet_id: 1, _id: -1 }, name: 'to_wallet_id_1__id_-1' },
  // the refunds of a collect (verify, wallet_transaction/find)
  { key: { refund_of: 1, _id: -1 }, name: 'refund_of_1__id_-1' },
  // the other filters and sorts of wallet_transaction/find (test/core/find-indexes.test.ts)
  { key: { state: 1, _id: -1 }, name: 'state_1__id_-1' },
  { key: { type: 1, _id: -1 }, name: 'type_1__id_-1' },
  { key: { created_at: -1, _id: -1 }, name: 'created_at_-1__id_-1' },
];

/** Creates the payment indexes (idempotent); every process that runs the engine calls it at start. */
export async function ensurePaymentIndexes(db: Db): Promise<void> {
  try {
    await transactions(db).createIndexes(TX_INDEXES);
    await ensureAuditIndexes(db);
  } catch (err) {
    throw new Error(`cannot create the indexes of ${TX_COLLECTION}: ${(err as Error).message}`, { cause: err });
  }
}
