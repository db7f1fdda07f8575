import type { Db, Document, ObjectId } from 'mongodb';
import type { FaultPoint } from '../core/faults.js';
import { type AuditActor, actorOfOwner, flushAudit } from './audit.js';
import { transactions } from './collections.js';
import { LockLostError } from './errors.js';
import { TX_FLOW, stepOf } from './flow.js';
import { MAX_BALANCE, applyLeg, isWalletLeg, settleLeg, type LegAudit, type Refusal } from './legs.js';
import { TX_KINDS, UNLOCKED, type TxDoc, type TxState } from './transactions.js';

export interface EngineOptions {
  lockTtlMs: number;
  retryWaitMs: number;
  /** Test-only fault injection (crash or stall at a named point); a no-op in normal runs. */
  fault: FaultPoint;
}

const REFUSAL_MESSAGES: Record<Refusal, string> = {
  insufficient_funds: 'the wallet cannot pay this amount',
  wallet_not_found: 'the wallet does not exist',
  wallet_disabled: 'the wallet is disabled',
  balance_limit: `the balance would exceed its limit of ${MAX_BALANCE} (分)`,
  not_refundable: 'the collect is not a done collect',
  refund_exceeds_collected: 'the refunds would exceed what was collected',
};

/** One actor's hold on one transaction: the document as last written, and when we last extended the lock. */
export interface Hold {
  tx: TxDoc;
  owner: string;
  renewedAt: number;
  /** Who the audit trail names for the wallet writes made under this hold (default: from the owner's name). */
  actor?: AuditActor;
}

/**
 * The state machine of wallet transactions (DESIGN.md §7), step by step as TX_FLOW says. Exactly one actor drives a
 * transaction at a time: it holds the transaction's lock (`lock_owner` + `lock_until`), and every state change is a
 * compare-and-set on the current state and the owner. Each wallet change is a guarded single-document update
 * (legs.ts), so repeating a step after a crash changes nothing; recovery drives a stuck transaction on from wherever
 * it stopped. The entries (requests, the worker, recovery, operators) are in engine.ts.
 */
export class TransactionDriver {
  constructor(protected readonly options: EngineOptions) {}

  /** Takes the lock of a transaction nobody holds (its lock ran out), if it still matches `filter`. */
  async lock(db: Db, txId: ObjectId, owner: string, filter: Document = {}, extra: Document = {}): Promise<Hold | null> {
    const now = new Date();
    const tx = await transactions(db).findOneAndUpdate(
      { ...filter, _id: txId, lock_until: { $lt: now } },
      { $set: { lock_owner: owner, lock_until: new Date(now.getTime() + this.options.lockTtlMs) }, ...extra },
      { returnDocument: 'after' },
    );
    return tx ? { tx, owner, renewedAt: now.getTime() } : null;
  }

  /**
   * Drives the transaction on, step by step as TX_FLOW says, as far as this actor can: to `done`/`canceled`, or to a
   * state that only the worker drives (a gateway payment waiting for its call). Lets the hold go at the end.
   */
  async drive(db: Db, hold: Hold): Promise<TxDoc> {
    for (;;) {
      const step = stepOf(hold.tx);
      if (step === null || step.driver === 'worker') {
        await this.release(db, hold);
        await this.flushAudit(db, hold);
        return hold.tx;
      }
      let to = step.next;
      let error: TxDoc['error'] | undefined;
      switch (step.action) {
        case 'start':
          break;
        case 'apply':
          error = (await this.applyLegs(db, hold)) ?? undefined;
          if (error) to = step.refused as TxState;
          break;
        case 'commit':
        case 'rollback':
          await this.settleLegs(db, hold, step.action);
          break;
        case 'call_gateway':
          throw new Error(`${hold.tx.type} in ${hold.tx.state} waits for the gateway worker`);
      }
      // the hold is let go with the state change when nobody but the worker goes on from the next state
      const next = TX_FLOW[hold.tx.type][to];
      const release = next === null || next.driver === 'worker';
      await this.transition(db, hold, to, { release, ...(error ? { error } : {}) });
      if (release) {
        await this.flushAudit(db, hold);
        return hold.tx;
      }
    }
  }

  /** Applies the legs in order; the first refusal stops (legs already applied are rolled back by `canceling`). */
  protected async applyLegs(db: Db, hold: Hold): Promise<TxDoc['error']> {
    for (const leg of TX_KINDS[hold.tx.type].legs(hold.tx)) {
      await this.keepLock(db, hold);
      this.options.fault(`${hold.tx.type}.before_apply_${leg.role}`);
      const by = auditBy(hold);
      let outcome = await applyLeg(db, leg.wallet, leg.role, hold.tx._id, hold.tx.money, this.fenceOf(hold), by);
      // fenced only means our write came late: if the lock is still ours (nobody took over, the renewal's
      // compare-and-set proves it), nothing else has acted, and the apply can simply be made again in time
      for (let attempt = 0; !outcome.ok && outcome.reason === 'fenced' && attempt < 3; attempt++) {
        await this.keepLock(db, hold, true);
        outcome = await applyLeg(db, leg.wallet, leg.role, hold.tx._id, hold.tx.money, this.fenceOf(hold), by);
      }
      if (!outcome.ok) {
        if (outcome.reason === 'fenced') throw new LockLostError(hold.tx._id);
        return errorOf(outcome.reason, isWalletLeg(leg.role) ? leg.wallet : undefined);
      }
      this.options.fault(`${hold.tx.type}.after_apply_${leg.role}`);
    }
    return null;
  }

  protected async settleLegs(db: Db, hold: Hold, settle: 'commit' | 'rollback'): Promise<void> {
    const legs = TX_KINDS[hold.tx.type].legs(hold.tx);
    for (const leg of settle === 'commit' ? legs : [...legs].reverse()) {
      await this.keepLock(db, hold);
      await settleLeg(db, leg.wallet, leg.role, hold.tx._id, hold.tx.money, settle, auditBy(hold));
      this.options.fault(`${hold.tx.type}.after_${settle}_${leg.role}`);
    }
  }

  /** Compare-and-set of the state (and our ownership); anything else means another actor took over. */
  protected async transition(
    db: Db,
    hold: Hold,
    to: TxState,
    options: { release?: boolean; error?: TxDoc['error']; set?: Partial<TxDoc> } = {},
  ): Promise<void> {
    const now = new Date();
    const set: Partial<TxDoc> = {
      ...options.set,
      state: to,
      updated_at: now,
      lock_owner: options.release ? null : hold.owner,
      lock_until: options.release ? UNLOCKED : new Date(now.getTime() + this.options.lockTtlMs),
    };
    if (options.error !== undefined) set.error = options.error;
    const result = await transactions(db).updateOne({ _id: hold.tx._id, state: hold.tx.state, lock_owner: hold.owner }, { $set: set });
    if (result.matchedCount !== 1) throw new LockLostError(hold.tx._id);
    hold.tx = { ...hold.tx, ...set };
    hold.renewedAt = now.getTime();
    this.options.fault(`${hold.tx.type}.after_${to}`);
  }

  /**
   * The latest server time at which our wallet writes may still land: a third of the lock's time before it runs
   * out, so a write held up past it is refused before anyone else can take the transaction (clocks of the hosts
   * and the database must agree within that margin, which NTP gives by far).
   */
  protected fenceOf(hold: Hold): Date {
    return new Date(hold.renewedAt + this.options.lockTtlMs - this.options.lockTtlMs / 3);
  }

  /** Extends our lock when a third of its time has passed (or now, with `force`); LockLostError if not ours. */
  protected async keepLock(db: Db, hold: Hold, force = false): Promise<void> {
    const now = Date.now();
    if (!force && now - hold.renewedAt < this.options.lockTtlMs / 3) return;
    const until = new Date(now + this.options.lockTtlMs);
    const result = await transactions(db).updateOne(
      { _id: hold.tx._id, state: hold.tx.state, lock_owner: hold.owner },
      { $set: { lock_until: until } },
    );
    if (result.matchedCount !== 1) throw new LockLostError(hold.tx._id);
    hold.tx.lock_until = until;
    hold.renewedAt = now;
  }

  /**
   * Moves the audit entries of the transaction's wallets into the trail (audit.ts). A failure here loses nothing:
   * the entries stay in the wallets' outboxes for the next flush or the recovery sweep.
   */
  protected async flushAudit(db: Db, hold: Hold): Promise<void> {
    const walletIds = TX_KINDS[hold.tx.type]
      .legs(hold.tx)
      .filter((leg) => isWalletLeg(leg.role))
      .map((leg) => leg.wallet);
    await flushAudit(db, walletIds).catch(() => undefined);
  }

  protected async release(db: Db, hold: Hold): Promise<void> {
    await transactions(db).updateOne({ _id: hold.tx._id, lock_owner: hold.owner }, { $set: { lock_owner: null, lock_until: UNLOCKED } });
    hold.tx = { ...hold.tx, lock_owner: null, lock_until: UNLOCKED };
  }
}

function auditBy(hold: Hold): LegAudit {
  return { actor: hold.actor ?? actorOfOwner(hold.owner), txType: hold.tx.type };
}

function errorOf(refusal: Refusal, wallet: ObjectId | undefined): NonNullable<TxDoc['error']> {
  return { code: refusal, message: REFUSAL_MESSAGES[refusal], ...(wallet ? { wallet_id: wallet } : {}) };
}
