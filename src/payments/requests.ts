import type { ObjectId } from 'mongodb';
import type { TxDoc, TxType } from './transactions.js';

/** What a caller asks for; `out_trade_no` makes it idempotent. */
export interface PaymentRequest {
  type: TxType;
  wallet_id: ObjectId;
  to_wallet_id: ObjectId | null;
  money: number;
  out_trade_no: string;
  /** A refund: the collect it pays back. */
  refund_of?: ObjectId;
}

/** What one sweep did: transactions driven to an end (or as far as possible), and any that failed. */
export interface RecoveryResult {
  recovered: TxDoc[];
  failed: Array<{ id: ObjectId; error: Error }>;
}

/**
 * What a payment request comes to, short of a refusal (thrown as PaymentRefusedError): the transaction as it
 * stands, whether the request's part is still unfinished (another actor drives it on: ask again with the same
 * key), and whether an earlier call with the same out_trade_no made it.
 */
export interface SubmitOutcome {
  tx: TxDoc;
  inProgress: boolean;
  replayed: boolean;
}

/** Whether a stored transaction is the one `request` asks for (a retry with the same out_trade_no and params). */
export function sameRequest(tx: TxDoc, request: PaymentRequest): boolean {
  return (
    tx.type === request.type &&
    tx.wallet_id.equals(request.wallet_id) &&
    (tx.to_wallet_id === null
      ? request.to_wallet_id === null
      : request.to_wallet_id !== null && tx.to_wallet_id.equals(request.to_wallet_id)) &&
    Number(tx.money) === request.money &&
    (tx.refund_of === undefined
      ? request.refund_of === undefined
      : request.refund_of !== undefined && tx.refund_of.equals(request.refund_of))
  );
}
