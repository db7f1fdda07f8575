import type { Db, ObjectId } from 'mongodb';
import type { Logger } from '../core/logger.js';
import { transactions } from './collections.js';
import type { PaymentEngine, PaymentRequest, SubmitOutcome } from './engine.js';
import { UnknownCollectError } from './errors.js';
import type { AuditActor } from './audit.js';

/** What a caller asks to refund: the collect (by its out_trade_no), how much, and the refund's own key. */
export interface RefundRequest {
  collect_out_trade_no: string;
  money: number;
  out_trade_no: string;
}

/**
 * A refund of all or part of a collect, named by the collect's out_trade_no: the merchant's wallet pays the payer
 * back. Its first leg reserves the amount on the collect (legs.ts), so refunds never exceed what was collected in
 * total. Throws UnknownCollectError, and whatever `submit` throws.
 */
export async function submitRefund(
  engine: PaymentEngine,
  db: Db,
  request: RefundRequest,
  log: Logger,
  actor?: AuditActor,
): Promise<SubmitOutcome> {
  const collect = await transactions(db).findOne(
    { out_trade_no: request.collect_out_trade_no, type: 'collect' },
    { projection: { wallet_id: 1, to_wallet_id: 1 } },
  );
  if (!collect) throw new UnknownCollectError(request.collect_out_trade_no);
  const refund: PaymentRequest = {
    type: 'refund',
    wallet_id: collect.to_wallet_id as ObjectId,
    to_wallet_id: collect.wallet_id,
    money: request.money,
    out_trade_no: request.out_trade_no,
    refund_of: collect._id,
  };
  return await engine.submit(db, refund, log, actor);
}
