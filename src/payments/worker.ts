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
    await Promise.all([...this.inFlight, ...this.settling]);
    if (this.leader) await this.lease.release().catch(() => undefined);
    this.leader = false;
    this.options.log.info({ owner: this.owner }, 'payment worker stopped');
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      // a full round means more may be due: the next one starts at once instead of after the poll interval
      let full = false;
      this.running = this.round(false)
        .then((claimed) => {
          full = claimed >= this.roundSize;
        })
        .catch((err: unknown) => this.options.log.error({ err }, 'payment worker round failed'))
        .finally(() => this.schedule(full ? 0 : this.options.config.pollMs));
    }, delayMs);
  }

  /**
   * One round: hold the lease, sweep when due, call the gateway for up to `roundSize` due payments while the lease
   * holds, `concurrency` of them at a time, claiming as many at once as there are free slots. Returns how many
   * payments it claimed. `drain: false` (the scheduled rounds) leaves the last calls in flight for the next round
   * to run beside, so the slots never all wait for a round's slowest call; stop() waits for them.
   */
  async round(drain = true): Promise<number> {
    const held = await this.lease.acquire();
    if (held !== this.leader) {
      this.options.log.info({ owner: this.owner }, held ? 'took the payment worker lease' : 'lost the payment worker lease');
      this.leader = held;
      this.nextSweepAt = 0; // a new leader sweeps at once: the previous one may have died mid-way
    }
    if (!held) return 0;
    if (Date.now() >= this.nextSweepAt) {
      await this.sweep();
      this.nextSweepAt = Date.now() + this.options.config.sweepIntervalMs;
    }
    // one gateway attempt per payment per round: a payment that failed just now is not due again until the next
    const tried: ObjectId[] = [];
    const inFlight = this.inFlight;
    try {
      while (tried.length < this.roundSize && !this.stopped) {
        // `concurrency` gateway calls at a time, and at most as many more payments waiting for their writes
        const { concurrency } = this.options.config;
        const free = Math.min(concurrency - inFlight.size, 2 * concurrency - this.settling.size);
        if (free <= 0) {
          await Promise.race([...inFlight, ...this.settling]);
          continue;
        }
        // the lease must outlast the whole gateway call, or a successor could call for the same payment meanwhile
        const budget = this.options.callBudgetMs;
        if (!this.lease.holds(budget) && (!(await this.lease.acquire()) || !this.lease.holds(budget))) break;
        const holds = await this.options.engine.claimDueBatch(
          this.options.db,
          this.owner,
          tried,
          Math.min(free, this.roundSize - tried.length),
        );
        if (holds.length === 0) break;
        for (const hold of holds) {
          tried.push(hold.tx._id);
          const { answered, settled } = this.callGateway(hold);
          const call: Promise<void> = answered.finally(() => inFlight.delete(call));
          inFlight.add(call);
          const settling: Promise<void> = settled.finally(() => this.settling.delete(settling));
          this.settling.add(settling);
        }
      }
    } finally {
      if (drain) await Promise.all([...inFlight, ...this.settling]);
    }
    return tried.length;
  }

  /**
   * One gateway payment, under the hold claimDue gave it; its failure is logged and leaves the others alone.
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
