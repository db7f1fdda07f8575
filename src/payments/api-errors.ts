import { apiError, type MessageKey } from '../core/errors.js';
import { MAX_BALANCE, type Refusal } from './legs.js';
import {
  IdempotencyConflictError,
  NotCancellableError,
  PaymentRefusedError,
  TransactionNotFoundError,
  UnknownCollectError,
} from './errors.js';

/**
 * The one place where the payment engine's errors become API errors (DESIGN.md §3). `paramOf` names the request
 * param of each wallet id (hex), so a refusal points at the wallet that refused. Anything else passes through.
 */
export function toPaymentApiError(err: unknown, paramOf: Record<string, string> = {}): unknown {
  if (err instanceof PaymentRefusedError) {
    const { tx } = err;
    const field = tx.error.wallet_id ? paramOf[tx.error.wallet_id.toHexString()] : undefined;
    const walletFields = field ? [{ field, messages: [tx.error.message] }] : undefined;
    const args = { tx: tx._id.toHexString(), replayed: err.replayed ? ' (replayed)' : '', limit: MAX_BALANCE };
    const refusal = REFUSAL_ANSWERS[tx.error.code as Refusal] ?? REFUSAL_ANSWERS.balance_limit;
    const fields =
      refusal.fields === 'wallet' ? walletFields : [{ field: refusal.fields[0], messages: [refusal.fields[1] ?? tx.error.message] }];
    return apiError(refusal.reason, args, fields ? { fields } : {});
  }
  if (err instanceof IdempotencyConflictError) {
    return apiError(
      'out_trade_no_reused',
      { out_trade_no: err.outTradeNo, type: err.usedFor },
      { fields: [{ field: 'out_trade_no', messages: ['was already used with different parameters'] }] },
    );
  }
  if (err instanceof TransactionNotFoundError)
    return apiError('record_not_found', { resource: 'wallet_transaction', id: err.txId.toHexString() });
  if (err instanceof UnknownCollectError)
    return apiError(
      'unknown_collect',
      { out_trade_no: err.outTradeNo },
      { fields: [{ field: 'collect_out_trade_no', messages: ['no collect with this out_trade_no'] }] },
    );
  if (err instanceof NotCancellableError) {
    const { tx } = err;
    const reason = err.busy ? 'tx_busy' : tx.attempts > 0 ? 'sent_not_cancellable' : 'not_cancellable';
    return apiError(
      reason,
      { tx: tx._id.toHexString(), type: tx.type, state: tx.state },
      { fields: [{ field: 'state', messages: [`is ${tx.state}`] }] },
    );
  }
  return err;
}

/**
 * How each refusal is answered: its message template, and which param `fields` names — the wallet that refused
 * (`wallet`), or a fixed param with its own words (the stored refusal text when none is given).
 */
const REFUSAL_ANSWERS: Record<Refusal, { reason: MessageKey; fields: 'wallet' | [string, string?] }> = {
  insufficient_funds: { reason: 'funds_short', fields: ['money', 'is more than the wallet can pay'] },
  wallet_not_found: { reason: 'wallet_missing', fields: 'wallet' },
  wallet_disabled: { reason: 'wallet_disabled', fields: 'wallet' },
  balance_limit: { reason: 'balance_limit', fields: 'wallet' },
  not_refundable: { reason: 'not_refundable', fields: ['collect_out_trade_no'] },
  refund_exceeds_collected: { reason: 'refund_exceeds_collected', fields: ['money', 'is more than is left to refund'] },
};

/** Runs an engine call and answers its errors as API errors. */
export async function asApiCall<T>(call: () => Promise<T>, paramOf?: Record<string, string>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toPaymentApiError(err, paramOf);
  }
}
