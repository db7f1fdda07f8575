import { Long, ObjectId, type Db } from 'mongodb';
import { isDuplicateKeyError } from '../core/errors.js';
import { activeTraceparent, inClientSpan } from '../core/tracing.js';
import type { Logger } from '../core/logger.js';
import { GatewayUnavailableError, type GatewayResult, type PaymentGateway } from './gateway.js';
import { claimById, claimDue, dueIds } from './claim.js';
import { transactions } from './collections.js';
import { IdempotencyConflictError, LockLostError, NotCancellableError, PaymentRefusedError, TransactionNotFoundError } from './errors.js';
import { REFUSALS } from './legs.js';
import {
  awaitingGatewayFilter,
  cancellableFilter,
  isCancellable,
  recoverableFilter,
  requestIsDone,
  stepOf,
  workerQueueFilter,
} from './flow.js';
import { type AuditActor, flushStaleAudit, recordOperatorAction } from './audit.js';
import { TransactionDriver, type Hold } from './driver.js';
import { type PaymentRequest, type RecoveryResult, type SubmitOutcome, sameRequest } from './requests.js';
import { TX_KINDS, UNLOCKED, actorName, type TxDoc, type TxState } from './transactions.js';

export type { EngineOptions, Hold } from './driver.js';

export type { PaymentRequest, RecoveryResult, SubmitOutcome } from './requests.js';

/**
 * The payment engine: the entries into the state machine (driver.ts) — a request's submit, the worker's claim and
 * gateway call, recovery, cancel, and an operator's resolve and unpark.
 */
export class PaymentEngine extends TransactionDriver {
  /**
   * The API entry: records the transaction (or finds the one with the same out_trade_no) and drives it as far as
   * a request may. Throws IdempotencyConflictError (the key with other params) and PaymentRefusedError.
   */
  async submit(db: Db, request: PaymentRequest, log: Logger, actor?: AuditActor): Promise<SubmitOutcome> {
    const owner = actorName('api');
    let replayed = false;
    let tx: TxDoc;
    try {
      const made = await this.record(db, request, owner, actor);
      replayed = made.replayed;
      tx = made.tx;
    } catch (err) {
      if (!(err instanceof LockLostError)) throw err;
      // someone else (recovery) drives it now: answer with where it stands
      log.warn({ tx: err.txId.toHexString() }, 'lost the transaction lock; answering with its current state');
      tx = (await transactions(db).findOne({ _id: err.txId })) as TxDoc;
      replayed = false;
    }
    if (tx.state === 'canceled' && tx.error && (REFUSALS as readonly string[]).includes(tx.error.code)) {
      throw new PaymentRefusedError(tx as TxDoc & { error: NonNullable<TxDoc['error']> }, replayed);
    }
    return { tx, inProgress: !requestIsDone(tx), replayed };
  }

  /** Inserts the transaction and drives it, or meets the one with the same key (replayed). */
  private async record(db: Db, request: PaymentRequest, owner: string, actor?: AuditActor): Promise<{ tx: TxDoc; replayed: boolean }> {
    const now = new Date();
    const trace = activeTraceparent();
    const tx: TxDoc = {
      _id: new ObjectId(),
      ...request,
      // the worker's gateway call joins the trace of the request that made the payment
      ...(trace ? { trace } : {}),
      gateway_trade_no: null,
      state: 'initial',
      error: null,
      attempts: 0,
      next_attempt_at: now,
      lock_owner: owner,
      lock_until: new Date(now.getTime() + this.options.lockTtlMs),
      created_at: now,
      updated_at: now,
    };
    try {
      // money is stored as int64 (Long), like every amount the legs write
      await transactions(db).insertOne({ ...tx, money: Long.fromNumber(tx.money) as unknown as number });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      const existing = await transactions(db).findOne({ out_trade_no: request.out_trade_no });
      if (!existing) throw err;
      if (!sameRequest(existing, request)) throw new IdempotencyConflictError(request.out_trade_no, existing.type);
      return { tx: await this.resume(db, existing, owner, actor), replayed: true };
    }
    this.options.fault(`${tx.type}.after_insert`);
    return { tx: await this.drive(db, { tx, owner, renewedAt: now.getTime(), actor }), replayed: false };
  }

  /**
   * A retry met an existing transaction: wait (bounded) for the actor that holds it, or take it over when its lock
   * has run out (that actor died), then answer with where it stands.
   */
  private async resume(db: Db, found: TxDoc, owner: string, actor?: AuditActor): Promise<TxDoc> {
    const deadline = Date.now() + this.options.retryWaitMs;
    let tx = found;
    for (;;) {
      if (requestIsDone(tx)) return tx;
      const hold = await this.lock(db, tx._id, owner, { state: tx.state });
      if (hold) return await this.drive(db, { ...hold, actor });
      if (Date.now() >= deadline) return tx;
      await sleep(25);
      tx = (await transactions(db).findOne({ _id: tx._id })) ?? tx;
    }
  }

  // ---- the worker's part: the payment gateway ----

  /**
   * Claims the next gateway payment that is due (in the worker's queue, nobody holds it, not in `skip`), counting the
   * attempt in the same update, so a cancel can tell that the gateway may have been called.
   */
  async claimDue(db: Db, owner: string, skip: readonly ObjectId[] = []): Promise<Hold | null> {
    return await claimDue(db, owner, skip, this.options.lockTtlMs);
  }

  /** The ids of up to `n` due payments, longest waiting first, none claimed (claim.ts): the worker claims each by id. */
  async dueIds(db: Db, skip: readonly ObjectId[], n: number): Promise<ObjectId[]> {
    return await dueIds(db, skip, n);
  }

  /** Claims one listed payment if it is still due and nobody holds it, as claimDue does; null otherwise. */
  async claimById(db: Db, owner: string, id: ObjectId): Promise<Hold | null> {
    return await claimById(db, owner, id, this.options.lockTtlMs);
  }

  /** Calls the gateway for a claimed payment and drives it on: done, canceled (declined), or pending for a retry. */
  async callGateway(
    db: Db,
    hold: Hold,
    gateway: PaymentGateway,
    retry: { backoffMs: (attempts: number) => number; maxAttempts: number },
    log: Logger,
  ): Promise<TxDoc> {
    const { tx } = hold;
    const order = { out_trade_no: tx.out_trade_no, money: tx.money, wallet_id: tx.wallet_id.toHexString() };
    let result: GatewayResult;
    try {
      const kind = TX_KINDS[tx.type].gateway;
      result = await inClientSpan(`gateway ${kind}`, tx.trace, { 'payment.out_trade_no': tx.out_trade_no }, () =>
        kind === 'charge' ? gateway.charge(order) : gateway.payout(order),
      );
    } catch (err) {
      // the outcome is unknown: never cancel, retry the same order later; after maxAttempts, an operator decides
      const known = err instanceof GatewayUnavailableError;
      const park = tx.attempts >= retry.maxAttempts;
      const message = known ? (err as Error).message : 'unexpected gateway error';
      const next = new Date(Date.now() + retry.backoffMs(tx.attempts));
      const error = park
        ? { code: 'needs_operator' as const, message: `the gateway failed ${tx.attempts} times; last: ${message}` }
        : { code: 'gateway_unavailable' as const, message };
      if (park) log.error({ err, tx: tx._id.toHexString(), attempts: tx.attempts }, 'gateway payment parked for an operator');
      else log.warn({ err, tx: tx._id.toHexString(), attempts: tx.attempts, known }, 'gateway call failed; will retry');
      await transactions(db).updateOne(
        { _id: tx._id, state: tx.state, lock_owner: hold.owner },
        { $set: { next_attempt_at: next, error, parked: park, lock_owner: null, lock_until: UNLOCKED, updated_at: new Date() } },
      );
      return { ...tx, next_attempt_at: next, error, parked: park, lock_owner: null, lock_until: UNLOCKED };
    }
    this.options.fault(`${tx.type}.after_gateway`);
    return await this.applyVerdict(db, hold, result, {});
  }

  /** The gateway's verdict moves a payment on from its call_gateway state: to `next` (succeeded) or `refused`. */
  private async applyVerdict(db: Db, hold: Hold, verdict: GatewayResult, set: Partial<TxDoc>): Promise<TxDoc> {
    const step = stepOf(hold.tx);
    if (step?.action !== 'call_gateway') throw new Error(`${hold.tx.type} in ${hold.tx.state} does not wait for the gateway`);
    if (verdict.status === 'succeeded') {
      await this.transition(db, hold, step.next, { error: null, set: { ...set, gateway_trade_no: verdict.gateway_trade_no } });
    } else {
      await this.transition(db, hold, step.refused as TxState, { error: { code: 'declined', message: verdict.reason }, set });
    }
    return await this.drive(db, hold);
  }

  // ---- recovery and cancel ----

  /**
   * Transactions whose actor died: not final, lock run out, and not a gateway payment waiting in `pending` (the
   * worker's normal work). Each is locked and driven on; a crash in here is recovered by the next sweep.
   */
  async recoverStuck(db: Db, owner: string, limit = 500): Promise<RecoveryResult> {
    const now = new Date();
    const stuck = await transactions(db)
      .find(
        {
          lock_until: { $lt: now },
          ...recoverableFilter(),
        },
        { projection: { _id: 1, state: 1 } },
      )
      .sort({ updated_at: 1 })
      .limit(limit)
      .toArray();
    const result: RecoveryResult = { recovered: [], failed: [] };
    // audit entries a crash left in wallets' outboxes (older than a lock: their writer is gone) go into the trail
    await flushStaleAudit(db, this.options.lockTtlMs);
    for (const { _id, state } of stuck) {
      try {
        const hold = await this.lock(db, _id, owner, { state });
        if (hold) result.recovered.push(await this.drive(db, hold));
      } catch (err) {
        // another actor took it over meanwhile: it is theirs now; anything else must not hold up the others
        if (!(err instanceof LockLostError)) result.failed.push({ id: _id, error: err as Error });
      }
    }
    return result;
  }

  /**
   * mark_cancel: only before money moved for real — a transaction still `initial`, or a gateway payment in
   * `pending` that the gateway has never been called for (attempts 0). Anything held is rolled back.
   */
  async cancel(db: Db, txId: ObjectId, owner = actorName('api'), actor?: AuditActor): Promise<TxDoc> {
    try {
      const locked = await this.lock(db, txId, owner, cancellableFilter());
      const hold = locked ? { ...locked, actor } : null;
      if (hold) {
        await this.transition(db, hold, 'canceling', { error: { code: 'canceled_by_caller', message: 'canceled by the caller' } });
        return await this.drive(db, hold);
      }
    } catch (err) {
      if (!(err instanceof LockLostError)) throw err;
    }
    const tx = await transactions(db).findOne({ _id: txId });
    if (!tx) throw new TransactionNotFoundError(txId);
    if (tx.state === 'canceling' || tx.state === 'canceled') {
      // canceled already (a retry of a cancel, a refusal, a decline): the same answer as a cancel, and finish it if we can
      if (tx.state === 'canceled') return tx;
      const hold = await this.lock(db, txId, owner, { state: 'canceling' });
      return hold ? await this.drive(db, hold).catch(() => tx) : tx;
    }
    throw new NotCancellableError(tx, isCancellable(tx));
  }

  /**
   * An operator settles a gateway payment the worker gave up on (parked), or any gateway payment in `pending`,
   * from what the gateway's own records say: `succeeded` moves the money, `declined` gives it back.
   */
  async resolve(db: Db, txId: ObjectId, owner: string, outcome: GatewayResult, actor?: AuditActor): Promise<TxDoc> {
    // the operator's decision is on record before it acts (audit.ts); the money it moves is recorded with each write
    if (actor)
      await recordOperatorAction(
        db,
        actor,
        'resolve',
        txId,
        outcome.status === 'succeeded' ? `succeeded ${outcome.gateway_trade_no}` : `declined: ${outcome.reason}`,
      );
    const locked = await this.lock(db, txId, owner, awaitingGatewayFilter());
    const hold = locked ? { ...locked, actor } : null;
    if (!hold) {
      const tx = await transactions(db).findOne({ _id: txId });
      throw new Error(
        tx
          ? `transaction ${txId.toHexString()} is ${tx.state}${tx.lock_until.getTime() > Date.now() ? ' and being processed' : ''}: nothing to resolve`
          : `no transaction ${txId.toHexString()}`,
      );
    }
    return await this.applyVerdict(db, hold, outcome, { parked: false });
  }

  /** Puts a parked gateway payment back in the worker's queue (after fixing what made the gateway fail). */
  async unpark(db: Db, txId: ObjectId, actor?: AuditActor): Promise<boolean> {
    if (actor) await recordOperatorAction(db, actor, 'retry', txId, 'back in the worker queue');
    const result = await transactions(db).updateOne(
      { _id: txId, ...workerQueueFilter(), parked: true },
      { $set: { parked: false, next_attempt_at: new Date(), updated_at: new Date() } },
    );
    return result.matchedCount === 1;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

declare module '../core/app.js' {
  /** The payment engine, as `ctx.services.payments` in every handler. */
  interface Services {
    payments: PaymentEngine;
  }
}
