import type { Db, ObjectId } from 'mongodb';
import { Lease } from '../core/lease.js';
import type { Logger } from '../core/logger.js';
import type { PaymentsConfig } from './config.js';
import type { Hold, PaymentEngine } from './engine.js';
import type { PaymentGateway } from './gateway.js';
import { actorName } from './transactions.js';

export const GATEWAY_LEASE = 'payment-gateway-worker';

export interface WorkerOptions {
  db: Db;
  engine: PaymentEngine;
  gateway: PaymentGateway;
  config: PaymentsConfig['worker'];
  /** The longest one gateway call may take: the lease must outlast it before a payment is claimed. */
  callBudgetMs: number;
  log: Logger;
}

/**
 * The single scheduled process that talks to the payment gateway (seed 004 §10: 单进程). Every process may run
 * one, but only the holder of the `payment-gateway-worker` lease works; the others wait and take over when the
 * lease lapses. The holder calls the gateway for several due payments at once (`concurrency`), each under its own
 * hold on the transaction, and sweeps stuck transactions at start and every `sweepIntervalMs`.
 */
export class PaymentWorker {
  readonly owner = actorName('worker');
  private readonly lease: Lease;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private leader = false;
  private nextSweepAt = 0;
  /** Gateway calls under way, across rounds (at most `concurrency`). */
  private readonly inFlight = new Set<Promise<void>>();
  /** Payments whose gateway call is made or under way and whose writes are not finished (at most 2 × `concurrency`). */
  private readonly settling = new Set<Promise<void>>();
  /** The ids of those payments. */
  private readonly holding = new Set<string>();
  /** Due payments listed by the last queue queries and not yet taken (claimed by id when a slot frees). */
  private due: ObjectId[] = [];
  /** The last round stopped at `roundSize` payments (not for want of due ones): the next starts at once. */
  private roundFull = false;
  /** A lease renewal under way beside a round (holdLease), if any. */
  private renewing: Promise<void> | undefined;
  /** The queue query under way that tops `due` up, if any. */
  private topping: Promise<void> | undefined;

  constructor(private readonly options: WorkerOptions) {
    this.lease = new Lease(options.db, { name: GATEWAY_LEASE, owner: this.owner, ttlMs: options.config.leaseTtlMs });
  }

  /** True while this process holds the lease. */
  get isLeader(): boolean {
    return this.leader && this.lease.holds(0);
  }

  start(): void {
    this.options.log.info({ owner: this.owner }, 'payment worker started');
    this.schedule(0);
  }

  /** Stops polling, lets the current round finish, and gives the lease up so another process can take over. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    // the lease is given up only once no call it covers, nor the writes after one, is still under way
    // and no renewal may land after the release, which would hold the lease for a stopped worker
    await Promise.all([...this.inFlight, ...this.settling, this.topping?.catch(() => undefined), this.renewing]);
    if (this.leader) await this.lease.release().catch(() => undefined);
    this.leader = false;
    this.options.log.info({ owner: this.owner }, 'payment worker stopped');
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      // a full round means more may be due: the next one starts at once instead of after the poll interval
      this.roundFull = false;
      this.running = this.round(false)
        .then(() => undefined)
        .catch((err: unknown) => this.options.log.error({ err }, 'payment worker round failed'))
        .finally(() => this.schedule(this.roundFull ? 0 : this.options.config.pollMs));
    }, delayMs);
  }

  /**
   * One round: hold the lease, sweep when due, call the gateway for up to `roundSize` due payments while the lease
   * holds, `concurrency` at a time. Each free slot claims its own payment by id (claimById: one conditional update)
   * from a list of due ids that is topped up in the background before it runs out, so no slot waits for another's
   * claim nor for the queue query. Returns how many payments it claimed. `drain: false` (the scheduled rounds) leaves
   * the last calls in flight for the next round to run beside, so the slots never all wait for a round's slowest
   * call; stop() waits for them.
   */
  async round(drain = true): Promise<number> {
    const held = await this.holdLease();
    if (held !== this.leader) {
      this.options.log.info({ owner: this.owner }, held ? 'took the payment worker lease' : 'lost the payment worker lease');
      this.leader = held;
      this.nextSweepAt = 0; // a new leader sweeps at once: the previous one may have died mid-way
      this.due = [];
    }
    if (!held) return 0;
    if (Date.now() >= this.nextSweepAt) {
      await this.sweep();
      this.nextSweepAt = Date.now() + this.options.config.sweepIntervalMs;
    }
    // one gateway attempt per payment per round: a payment that failed just now is not due again until the next
    const taken: ObjectId[] = [];
    let claimed = 0;
    let missed = 0;
    let failure: unknown;
    const claims = new Set<Promise<void>>();
    try {
      while (taken.length < this.roundSize && !this.stopped && failure === undefined) {
        // `concurrency` gateway calls (or claims for one) at a time, and at most as many more waiting for their writes
        const { concurrency } = this.options.config;
        const free = Math.min(concurrency - this.inFlight.size - claims.size, 2 * concurrency - this.settling.size - claims.size);
        if (free <= 0) {
          await Promise.race([...this.inFlight, ...this.settling, ...claims]);
          continue;
        }
        const id = await this.nextDue(taken);
        if (id === null) {
          // none due: the round is over, unless a claim under way misses (another actor took its payment), which
          // is worth one more look
          const missedBefore = missed;
          await Promise.all(claims);
          if (missed === missedBefore) break;
          continue;
        }
        // the lease must outlast the whole gateway call, or a successor could call for the same payment meanwhile
        const budget = this.options.callBudgetMs;
        if (!this.lease.holds(budget) && (!(await this.lease.acquire()) || !this.lease.holds(budget))) {
          this.due.unshift(id);
          break;
        }
        taken.push(id);
        const claim: Promise<void> = this.claimAndCall(id)
          .then((ok) => {
            if (ok) claimed += 1;
            else missed += 1;
          })
          .catch((err: unknown) => {
            failure ??= err;
          })
          .finally(() => claims.delete(claim));
        claims.add(claim);
      }
    } finally {
      await Promise.all(claims);
      if (drain) await Promise.all([...this.inFlight, ...this.settling]);
    }
    if (failure !== undefined) throw failure;
    this.roundFull = taken.length >= this.roundSize;
    return claimed;
  }

  /**
   * Takes or renews the lease. A leader with more than half the lease's time left renews it beside the round
   * instead of before it: every call is still checked against the last renewal that came back (`holds(budget)`).
   */
  private async holdLease(): Promise<boolean> {
    if (this.leader && this.lease.holds(this.options.config.leaseTtlMs / 2)) {
      this.renewing ??= this.lease
        .acquire()
        .catch(() => false) // a renewal that failed is retried, and its error met, by the next round that waits
        .then(() => undefined)
        .finally(() => {
          this.renewing = undefined;
        });
      return true;
    }
    await this.renewing;
    return await this.lease.acquire();
  }

  /** Claims a listed payment and, if it is still due and ours now, starts its gateway call (the slot is its own). */
  private async claimAndCall(id: ObjectId): Promise<boolean> {
    const hold = await this.options.engine.claimById(this.options.db, this.owner, id);
    if (!hold) return false;
    const key = id.toHexString();
    this.holding.add(key);
    const { answered, settled } = this.callGateway(hold);
    const call: Promise<void> = answered.finally(() => this.inFlight.delete(call));
    this.inFlight.add(call);
    const settling: Promise<void> = settled.finally(() => {
      this.settling.delete(settling);
      this.holding.delete(key);
    });
    this.settling.add(settling);
    return true;
  }

  /**
   * The next due id not taken this round, from the list; when it runs low (under `concurrency` ids) it is topped up
   * in the background (one queue query for up to `listSize` ids), and only an empty list waits for that query.
   * Null: none due.
   */
  private async nextDue(taken: readonly ObjectId[]): Promise<ObjectId | null> {
    if (this.due.length === 0) await this.topUp(taken);
    const id = this.due.shift() ?? null;
    // a failed top-up in the background is retried (and its error met) by the next one that is waited for
    if (id !== null && this.due.length < this.options.config.concurrency) this.topUp(taken).catch(() => undefined);
    return id;
  }

  private topUp(taken: readonly ObjectId[]): Promise<void> {
    this.topping ??= this.options.engine
      .dueIds(this.options.db, [...taken, ...this.due], this.listSize - this.due.length)
      .then((ids) => {
        // ids claimed while the query ran may be listed: a claim for one would only fail, so they are left out
        const known = new Set([...this.due.map((id) => id.toHexString()), ...this.holding, ...taken.map((id) => id.toHexString())]);
        this.due.push(...ids.filter((id) => !known.has(id.toHexString())));
      })
      .finally(() => {
        this.topping = undefined;
      });
    return this.topping;
  }

  /**
   * One gateway payment, under the hold claimById gave it; its failure is logged and leaves the others alone.
   * `answered` settles when the gateway has answered (or failed), which frees the payment's slot: the writes that
   * follow (verdict, legs, release) are under the transaction's own lock and fence, not the gateway's, so the next
   * call need not wait for them. `settled` when the payment is driven as far as this call takes it.
   */
  private callGateway(hold: Hold): { answered: Promise<void>; settled: Promise<void> } {
    let answer = (): void => undefined;
    const answered = new Promise<void>((resolve) => {
      answer = resolve;
    });
    const gateway = answeringTo(this.options.gateway, answer);
    const settled = this.options.engine
      .callGateway(
        this.options.db,
        hold,
        gateway,
        { backoffMs: (n) => this.backoff(n), maxAttempts: this.options.config.maxAttempts },
        this.options.log,
      )
      .then((tx) =>
        this.options.log.info(
          { tx: tx._id.toHexString(), type: tx.type, state: tx.state, attempts: tx.attempts },
          'gateway payment processed',
        ),
      )
      .catch((err: unknown) => {
        // one payment failing (its lock lost, the database gone) must not stop the others; its lock runs out
        // and it is claimed again later
        this.options.log.error({ err, tx: hold.tx._id.toHexString() }, 'gateway payment failed');
      })
      .finally(answer);
    return { answered, settled };
  }

  /** Payments per round: the batch size, and at least four waves of `concurrency`, so a round's last wave (which
   * may not fill every slot) is a small part of it. */
  private get roundSize(): number {
    return Math.max(this.options.config.batchSize, 4 * this.options.config.concurrency);
  }

  /** Due ids listed at most: two waves of `concurrency`, and at least the batch size, so one query serves many claims. */
  private get listSize(): number {
    return Math.max(this.options.config.batchSize, 2 * this.options.config.concurrency);
  }

  /** Drives on every transaction whose actor died. */
  async sweep(): Promise<number> {
    const { recovered, failed } = await this.options.engine.recoverStuck(this.options.db, this.owner);
    if (recovered.length > 0) {
      this.options.log.warn(
        { count: recovered.length, transactions: recovered.map((tx) => `${tx._id.toHexString()}:${tx.state}`) },
        'recovered stuck transactions',
      );
    }
    for (const { id, error } of failed)
      this.options.log.error({ err: error, tx: id.toHexString() }, 'could not recover a transaction; the next sweep tries again');
    return recovered.length;
  }

  /** Exponential backoff between gateway attempts, from the poll interval up to maxBackoffMs. */
  private backoff(attempts: number): number {
    return Math.min(this.options.config.maxBackoffMs, this.options.config.pollMs * 2 ** Math.max(0, attempts - 1));
  }
}

/** The gateway, telling `answered` when a call has come back (either way). */
function answeringTo(gateway: PaymentGateway, answered: () => void): PaymentGateway {
  return {
    charge: (order) => gateway.charge(order).finally(answered),
    payout: (order) => gateway.payout(order).finally(answered),
  };
}
