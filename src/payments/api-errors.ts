import { ApiError, apiError } from '../core/errors.js';
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
    const fields = field ? [{ field, messages: [tx.error.message] }] : undefined;
    // a retry is told that it meets the refusal of an earlier call, not a new one
    const message = `${tx.error.message} (transaction ${tx._id.toHexString()})${err.replayed ? ' (replayed)' : ''}`;
    switch (tx.error.code) {
      case 'insufficient_funds':
        return new ApiError('insufficient_funds', { message, fields: [{ field: 'money', messages: ['is more than the wallet can pay'] }] });
      case 'wallet_not_found':
        return new ApiError('not_found', { message, fields });
      case 'wallet_disabled':
        return new ApiError('conflict', { message, zhMessage: '钱包已停用', fields });
      case 'not_refundable':
        return new ApiError('conflict', {
          message,
          zhMessage: '该收款不可退款',
          fields: [{ field: 'collect_out_trade_no', messages: [tx.error.message] }],
        });
      case 'refund_exceeds_collected':
        return new ApiError('conflict', {
          message,
          zhMessage: '退款总额超出收款金额',
          fields: [{ field: 'money', messages: ['is more than is left to refund'] }],
        });
      default:
        return new ApiError('conflict', { message, zhMessage: '余额超出上限', fields });
    }
  }
  if (err instanceof IdempotencyConflictError) {
    return new ApiError('idempotency_conflict', {
      message: err.message,
      fields: [{ field: 'out_trade_no', messages: ['was already used with different parameters'] }],
    });
  }
  if (err instanceof TransactionNotFoundError)
    return apiError('record_not_found', { resource: 'wallet_transaction', id: err.txId.toHexString() });
  if (err instanceof UnknownCollectError)
    return new ApiError('not_found', {
      message: err.message,
      fields: [{ field: 'collect_out_trade_no', messages: ['no collect with this out_trade_no'] }],
    });
  if (err instanceof NotCancellableError) {
    return new ApiError('conflict', {
      message: err.message,
      zhMessage: '当前状态不允许取消',
      fields: [{ field: 'state', messages: [`is ${err.tx.state}`] }],
    });
  }
  return err;
}

/** Runs an engine call and answers its errors as API errors. */
export async function asApiCall<T>(call: () => Promise<T>, paramOf?: Record<string, string>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toPaymentApiError(err, paramOf);
  }
}
