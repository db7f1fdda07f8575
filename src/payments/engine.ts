import { Long, ObjectId, type Db, type Document } from 'mongodb';
import { ApiError, isDuplicateKeyError } from '../core/errors.js';
import type { FaultPoint } from '../core/faults.js';
import type { Logger } from '../core/logger.js';
import { GatewayUnavailableError, type GatewayResult, type PaymentGateway } from './gateway.js';
import { applyLeg, settleLeg, type Refusal } from './legs.js';
import {
  GATEWAY_TYPES,
  TX_KINDS,
  UNLOCKED,
  isFinal,
  transactions,
  wallets,
  type TxDoc,
  type TxState,
  type TxType,
} from './transactions.js';

export interface EngineOptions {
  lockTtlMs: number;
  retryWaitMs: number;
  /** Test-only fault injection (crash or stall at a named point); a no-op in normal runs. */
  fault: FaultPoint;
}

/** What a caller asks for; `out_trade_no` makes it idempotent. */
export interface PaymentRequest {
  type: TxType;
  wallet_id: ObjectId;
  to_wallet_id: ObjectId | null;
  money: number;
  out_trade_no: string;
}

/** What one sweep did: transactions driven to an end (or as far as possible), and any that failed. */
export interface RecoveryResult {
  recovered: TxDoc[];
  failed: Array<{ id: ObjectId; error: Error }>;
}

/** Another actor changed the transaction under us: we stop; the one that holds it (or recovery) goes on. */
export class LockLostError extends Error {
  constructor(readonly txId: ObjectId) {
    super(`lost the lock on transaction ${txId.toHexString()}`);
    this.name = 'LockLostError';
  }
}

const REFUSAL_MESSAGES: Record<Refusal, string> = {
  insufficient_funds: 'the wallet cannot pay this amount',
  wallet_not_found: 'the wallet does not exist',
  wallet_disabled: 'the wallet is disabled',
  balance_limit: 'the balance would exceed its limit',
};

/** One actor's hold on one transaction: the document as last written, and when we last extended the lock. */
interface Run {
  tx: TxDoc;
  owner: string;
  renewedAt: number;
}

/**
 * The state machine of wallet transactions (DESIGN.md §7). Exactly one actor drives a transaction at a time: it
 * holds the transaction's lock (`lock_owner` + `lock_until`), and every state change is a compare-and-set on the
 * current state and the owner. Each wallet change is a guarded single-document update (legs.ts), so repeating a
 * step after a crash changes nothing; recovery simply drives a stuck transaction on from wherever it stopped.
 */
export class PaymentEngine {
  constructor(private readonly options: EngineOptions) {}

  /**
   * The API entry: records the transaction (or finds the one with the same out_trade_no) and drives it as far as
   * a request may. A retry with other params is `idempotency_conflict`.
   */
  async submit(db: Db, request: PaymentRequest, owner: string): Promise<TxDoc> {
    const now = new Date();
    const tx: TxDoc = {
      _id: new ObjectId(),
      ...request,
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
      if (!sameRequest(existing, request)) {
        throw new ApiError('idempotency_conflict', {
          message: `out_trade_no ${request.out_trade_no} was already used for another ${existing.type}`,
          fields: [{ field: 'out_trade_no', messages: ['was already used with different parameters'] }],
        });
      }
      return await this.resume(db, existing, owner);
    }
    this.options.fault(`${tx.type}.after_insert`);
    return await this.drive(db, { tx, owner, renewedAt: now.getTime() });
  }

  /**
   * A retry met an existing transaction: wait (bounded) for the actor that holds it, or take it over when its lock
   * has run out (that actor died), then answer with where it stands.
   */
  private async resume(db: Db, found: TxDoc, owner: string): Promise<TxDoc> {
    const deadline = Date.now() + this.options.retryWaitMs;
    let tx = found;
    for (;;) {
      if (this.requestIsDone(tx)) return tx;
      const run = await this.lock(db, tx._id, owner, { state: tx.state });
      if (run) return await this.drive(db, run);
      if (Date.now() >= deadline) return tx;
      await sleep(25);
      tx = (await transactions(db).findOne({ _id: tx._id })) ?? tx;
    }
  }

  /**
   * A request's part is over: transfers when final, gateway payments once they are the worker's (pending, applied).
   * One found `canceling` is taken over and finished, so a retry answers with the refusal as the first call did.
   */
  private requestIsDone(tx: TxDoc): boolean {
    return isFinal(tx.state) || (TX_KINDS[tx.type].gateway !== null && (tx.state === 'pending' || tx.state === 'applied'));
  }

  /** Takes the lock of a transaction nobody holds (its lock ran out), if it still matches `filter`. */
  async lock(db: Db, txId: ObjectId, owner: string, filter: Document = {}, extra: Document = {}): Promise<Run | null> {
    const now = new Date();
    const tx = await transactions(db).findOneAndUpdate(
      { ...filter, _id: txId, lock_until: { $lt: now } },
      { $set: { lock_owner: owner, lock_until: new Date(now.getTime() + this.options.lockTtlMs) }, ...extra },
      { returnDocument: 'after' },
    );
    return tx ? { tx, owner, renewedAt: now.getTime() } : null;
  }

  /**
   * Drives the transaction from its current state as far as this actor can: to `done`/`canceled`, or for gateway
   * payments to `pending` (the worker goes on from there). Releases the lock at the end.
   */
  async drive(db: Db, run: Run): Promise<TxDoc> {
    const kind = TX_KINDS[run.tx.type];
    for (;;) {
      const { tx } = run;
      switch (tx.state) {
        case 'initial': {
          if (kind.applyIn === 'initial') {
            const refusal = await this.applyLegs(db, run);
            if (refusal) {
              await this.transition(db, run, 'canceling', { error: refusal });
              continue;
            }
          }
          await this.transition(db, run, 'pending', { release: kind.gateway !== null });
          if (kind.gateway !== null) return run.tx;
          continue;
        }
        case 'pending': {
          if (kind.gateway !== null) {
            await this.release(db, run);
            return run.tx;
          }
          const refusal = await this.applyLegs(db, run);
          if (refusal) await this.transition(db, run, 'canceling', { error: refusal });
          else await this.transition(db, run, 'applied');
          continue;
        }
        case 'applied':
          await this.settleLegs(db, run, 'commit');
          await this.transition(db, run, 'done', { release: true });
          return run.tx;
        case 'canceling':
          await this.settleLegs(db, run, 'rollback');
          await this.transition(db, run, 'canceled', { release: true });
          return run.tx;
        case 'done':
        case 'canceled':
          await this.release(db, run);
          return run.tx;
      }
    }
  }

  /** Applies the legs in order; the first refusal stops (legs already applied are rolled back by `canceling`). */
  private async applyLegs(db: Db, run: Run): Promise<TxDoc['error']> {
    for (const leg of TX_KINDS[run.tx.type].legs(run.tx)) {
      await this.keepLock(db, run);
      this.options.fault(`${run.tx.type}.before_apply_${leg.role}`);
      let outcome = await applyLeg(wallets(db), leg.wallet, leg.role, run.tx._id, run.tx.money, this.fenceOf(run));
      // fenced only means our write came late: if the lock is still ours (nobody took over, the renewal's
      // compare-and-set proves it), nothing else has acted, and the apply can simply be made again in time
      for (let attempt = 0; !outcome.ok && outcome.reason === 'fenced' && attempt < 3; attempt++) {
        await this.keepLock(db, run, true);
        outcome = await applyLeg(wallets(db), leg.wallet, leg.role, run.tx._id, run.tx.money, this.fenceOf(run));
      }
      if (!outcome.ok) {
        if (outcome.reason === 'fenced') throw new LockLostError(run.tx._id);
        return errorOf(outcome.reason, leg.wallet);
      }
      this.options.fault(`${run.tx.type}.after_apply_${leg.role}`);
    }
    return null;
  }

  private async settleLegs(db: Db, run: Run, settle: 'commit' | 'rollback'): Promise<void> {
    const legs = TX_KINDS[run.tx.type].legs(run.tx);
    for (const leg of settle === 'commit' ? legs : [...legs].reverse()) {
      await this.keepLock(db, run);
      await settleLeg(wallets(db), leg.wallet, leg.role, run.tx._id, run.tx.money, settle);
      this.options.fault(`${run.tx.type}.after_${settle}_${leg.role}`);
    }
  }

  /** Compare-and-set of the state (and our ownership); anything else means another actor took over. */
  private async transition(db: Db, run: Run, to: TxState, options: { release?: boolean; error?: TxDoc['error']; set?: Partial<TxDoc> } = {}): Promise<void> {
    const now = new Date();
    const set: Partial<TxDoc> = {
      ...options.set,
      state: to,
      updated_at: now,
      lock_owner: options.release ? null : run.owner,
      lock_until: options.release ? UNLOCKED : new Date(now.getTime() + this.options.lockTtlMs),
    };
    if (options.error !== undefined) set.error = options.error;
    const result = await transactions(db).updateOne({ _id: run.tx._id, state: run.tx.state, lock_owner: run.owner }, { $set: set });
    if (result.matchedCount !== 1) throw new LockLostError(run.tx._id);
    run.tx = { ...run.tx, ...set };
    run.renewedAt = now.getTime();
    this.options.fault(`${run.tx.type}.after_${to}`);
  }

  /**
   * The latest server time at which our wallet writes may still land: a third of the lock's time before it runs
   * out, so a write held up past it is refused before anyone else can take the transaction (clocks of the hosts
   * and the database must agree within that margin, which NTP gives by far).
   */
  private fenceOf(run: Run): Date {
    return new Date(run.renewedAt + this.options.lockTtlMs - this.options.lockTtlMs / 3);
  }

  /** Extends our lock when a third of its time has passed (or now, with `force`); LockLostError if not ours. */
  private async keepLock(db: Db, run: Run, force = false): Promise<void> {
    const now = Date.now();
    if (!force && now - run.renewedAt < this.options.lockTtlMs / 3) return;
    const until = new Date(now + this.options.lockTtlMs);
    const result = await transactions(db).updateOne({ _id: run.tx._id, state: run.tx.state, lock_owner: run.owner }, { $set: { lock_until: until } });
    if (result.matchedCount !== 1) throw new LockLostError(run.tx._id);
    run.tx.lock_until = until;
    run.renewedAt = now;
  }

  private async release(db: Db, run: Run): Promise<void> {
    await transactions(db).updateOne({ _id: run.tx._id, lock_owner: run.owner }, { $set: { lock_owner: null, lock_until: UNLOCKED } });
    run.tx = { ...run.tx, lock_owner: null, lock_until: UNLOCKED };
  }

  // ---- the worker's part: the payment gateway ----

  /**
   * Claims the next gateway payment that is due (state pending, nobody holds it, not in `skip`), counting the
   * attempt in the same update, so a cancel can tell that the gateway may have been called.
   */
  async claimDue(db: Db, owner: string, skip: readonly ObjectId[] = []): Promise<Run | null> {
    const now = new Date();
    const tx = await transactions(db).findOneAndUpdate(
      {
        type: { $in: GATEWAY_TYPES },
        state: 'pending',
        parked: { $ne: true },
        next_attempt_at: { $lte: now },
        lock_until: { $lt: now },
        ...(skip.length > 0 ? { _id: { $nin: [...skip] } } : {}),
      },
      { $set: { lock_owner: owner, lock_until: new Date(now.getTime() + this.options.lockTtlMs) }, $inc: { attempts: 1 } },
      { sort: { next_attempt_at: 1 }, returnDocument: 'after' },
    );
    return tx ? { tx, owner, renewedAt: now.getTime() } : null;
  }

  /** Calls the gateway for a claimed payment and settles it: done, canceled (declined), or pending for a retry. */
  async settleWithGateway(db: Db, run: Run, gateway: PaymentGateway, retry: { backoffMs: (attempts: number) => number; maxAttempts: number }, log: Logger): Promise<TxDoc> {
    const { tx } = run;
    const order = { out_trade_no: tx.out_trade_no, money: tx.money, wallet_id: tx.wallet_id.toHexString() };
    let result: GatewayResult;
    try {
      result = TX_KINDS[tx.type].gateway === 'charge' ? await gateway.charge(order) : await gateway.payout(order);
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
        { _id: tx._id, state: 'pending', lock_owner: run.owner },
        { $set: { next_attempt_at: next, error, parked: park, lock_owner: null, lock_until: UNLOCKED, updated_at: new Date() } },
      );
      return { ...tx, next_attempt_at: next, error, parked: park, lock_owner: null, lock_until: UNLOCKED };
    }
    this.options.fault(`${tx.type}.after_gateway`);
    if (result.status === 'succeeded') {
      await this.transition(db, run, 'applied', { error: null, set: { gateway_trade_no: result.gateway_trade_no } });
    } else {
      await this.transition(db, run, 'canceling', { error: { code: 'declined', message: result.reason } });
    }
    return await this.drive(db, run);
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
          $or: [{ state: { $in: ['initial', 'applied', 'canceling'] } }, { state: 'pending', type: { $nin: GATEWAY_TYPES } }],
        },
        { projection: { _id: 1, state: 1 } },
      )
      .sort({ updated_at: 1 })
      .limit(limit)
      .toArray();
    const result: RecoveryResult = { recovered: [], failed: [] };
    for (const { _id, state } of stuck) {
      try {
        const run = await this.lock(db, _id, owner, { state });
        if (run) result.recovered.push(await this.drive(db, run));
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
  async cancel(db: Db, txId: ObjectId, owner: string): Promise<TxDoc> {
    const cancellable = { $or: [{ state: 'initial' }, { state: 'pending', type: { $in: GATEWAY_TYPES }, attempts: 0 }] };
    try {
      const run = await this.lock(db, txId, owner, cancellable);
      if (run) {
        await this.transition(db, run, 'canceling', { error: { code: 'canceled_by_caller', message: 'canceled by the caller' } });
        return await this.drive(db, run);
      }
    } catch (err) {
      if (!(err instanceof LockLostError)) throw err;
    }
    const tx = await transactions(db).findOne({ _id: txId });
    if (!tx) throw new ApiError('not_found', { message: `wallet_transaction ${txId.toHexString()} not found` });
    if (tx.error?.code === 'canceled_by_caller' && (tx.state === 'canceling' || tx.state === 'canceled')) {
      // canceled already (a retry of a cancel that was answered, or not): the same answer, and finish it if we can
      if (tx.state === 'canceled') return tx;
      const run = await this.lock(db, txId, owner, { state: 'canceling' });
      return run ? await this.drive(db, run).catch(() => tx) : tx;
    }
    const stillCancellable = tx.state === 'initial' || (tx.state === 'pending' && TX_KINDS[tx.type].gateway !== null && tx.attempts === 0);
    throw new ApiError('conflict', {
      message: stillCancellable
        ? `transaction ${txId.toHexString()} is being processed right now; try again`
        : `a ${tx.type} in state ${tx.state}${tx.attempts > 0 ? ' already sent to the gateway' : ''} can no longer be canceled`,
      zhMessage: '当前状态不允许取消',
      fields: [{ field: 'state', messages: [`is ${tx.state}`] }],
    });
  }

  /**
   * An operator settles a gateway payment the worker gave up on (parked), or any gateway payment in `pending`,
   * from what the gateway's own records say: `succeeded` moves the money, `declined` gives it back.
   */
  async resolve(db: Db, txId: ObjectId, owner: string, outcome: GatewayResult): Promise<TxDoc> {
    const run = await this.lock(db, txId, owner, { state: 'pending', type: { $in: GATEWAY_TYPES } });
    if (!run) {
      const tx = await transactions(db).findOne({ _id: txId });
      throw new Error(tx ? `transaction ${txId.toHexString()} is ${tx.state}${tx.lock_until.getTime() > Date.now() ? ' and being processed' : ''}: nothing to resolve` : `no transaction ${txId.toHexString()}`);
    }
    if (outcome.status === 'succeeded') {
      await this.transition(db, run, 'applied', { error: null, set: { gateway_trade_no: outcome.gateway_trade_no, parked: false } });
    } else {
      await this.transition(db, run, 'canceling', { error: { code: 'declined', message: outcome.reason }, set: { parked: false } });
    }
    return await this.drive(db, run);
  }

  /** Puts a parked gateway payment back in the worker's queue (after fixing what made the gateway fail). */
  async unpark(db: Db, txId: ObjectId): Promise<boolean> {
    const result = await transactions(db).updateOne(
      { _id: txId, state: 'pending', parked: true },
      { $set: { parked: false, next_attempt_at: new Date(), updated_at: new Date() } },
    );
    return result.matchedCount === 1;
  }
}

function sameRequest(tx: TxDoc, request: PaymentRequest): boolean {
  return (
    tx.type === request.type &&
    tx.wallet_id.equals(request.wallet_id) &&
    (tx.to_wallet_id === null ? request.to_wallet_id === null : request.to_wallet_id !== null && tx.to_wallet_id.equals(request.to_wallet_id)) &&
    Number(tx.money) === request.money
  );
}

function errorOf(refusal: Refusal, wallet: ObjectId): NonNullable<TxDoc['error']> {
  return { code: refusal, message: REFUSAL_MESSAGES[refusal], wallet_id: wallet };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
