import type { ObjectId } from 'mongodb';
import type { TxDoc, TxType } from './transactions.js';

/**
 * What the payment engine throws to its callers. They say what happened to the money in the engine's terms; the
 * HTTP API maps them to its error codes in one place (api-errors.ts).
 */

/** A payment the engine refused (funds, an unknown or disabled wallet, the balance ceiling); the same on every retry. */
export class PaymentRefusedError extends Error {
  constructor(
    readonly tx: TxDoc & { error: NonNullable<TxDoc['error']> },
    /** The refusal was recorded by an earlier call with the same out_trade_no. */
    readonly replayed: boolean,
  ) {
    super(tx.error.message);
    this.name = 'PaymentRefusedError';
  }
}

/** An out_trade_no reused with other params. */
export class IdempotencyConflictError extends Error {
  constructor(
    readonly outTradeNo: string,
    readonly usedFor: TxType,
  ) {
    super(`out_trade_no ${outTradeNo} was already used for another ${usedFor}`);
    this.name = 'IdempotencyConflictError';
  }
}

/** No transaction with this id. */
export class TransactionNotFoundError extends Error {
  constructor(readonly txId: ObjectId) {
    super(`wallet_transaction ${txId.toHexString()} not found`);
    this.name = 'TransactionNotFoundError';
  }
}

/** A refund names a collect (by its out_trade_no) that does not exist. */
export class UnknownCollectError extends Error {
  constructor(readonly outTradeNo: string) {
    super(`no collect with out_trade_no ${outTradeNo}`);
    this.name = 'UnknownCollectError';
  }
}

/** mark_cancel of a transaction that is past the point of no return, or being processed right now (`busy`). */
export class NotCancellableError extends Error {
  constructor(
    readonly tx: TxDoc,
    readonly busy: boolean,
  ) {
    super(
      busy
        ? `transaction ${tx._id.toHexString()} is being processed right now; try again`
        : `a ${tx.type} in state ${tx.state}${tx.attempts > 0 ? ' already sent to the gateway' : ''} can no longer be canceled`,
    );
    this.name = 'NotCancellableError';
  }
}

/** Another actor changed the transaction under us: we stop; the one that holds it (or recovery) goes on. Internal. */
export class LockLostError extends Error {
  constructor(readonly txId: ObjectId) {
    super(`lost the lock on transaction ${txId.toHexString()}`);
    this.name = 'LockLostError';
  }
}
