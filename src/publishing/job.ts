import type { Db, Document } from 'mongodb';
import { collectionOf } from '../core/db.js';
import type { FaultPoint } from '../core/faults.js';
import { Lease } from '../core/lease.js';
import type { Logger } from '../core/logger.js';
import { actorName } from '../payments/transactions.js';
import { passports } from '../resources/passport/fields.js';
import { APPROVED, PROTOCOL_COLLECTION } from '../resources/protocol/names.js';
import { contentAddress } from './canonical.js';
import type { PublishingConfig } from './config.js';
import { createPublisher, type Publisher } from './publisher.js';

export const PUBLISH_LEASE = 'passport-publisher';
/** Crash points between the steps of one publication (CRASH_AT, tests only). */
export const PUBLISH_CRASH_POINTS = ['publish.after_store', 'publish.after_cid', 'publish.after_record'] as const;
const BATCH = 20;

export interface PublishJobOptions {
  db: Db;
  publisher: Publisher;
  config: Pick<PublishingConfig, 'pollMs' | 'leaseTtlMs' | 'maxBackoffMs'>;
  fault: FaultPoint;
  log: Logger;
}

/** How one publication ended. */
export type PublishOutcome = 'finalized' | 'changed' | 'waiting' | 'failed';

/**
 * Publishes approved passports (seed 000: "send the certificate to IPFS and the Robonomics datalog"): the canonical
 * document is stored under its CID, the CID is written on the passport (once: only while it has none), the ledger
 * record is written (once per passport), and the passport becomes finalized with the record's txn_hash. Every step
 * can be repeated, so a job that dies anywhere is finished by the next round, and two jobs on one passport (a lease
 * lost in the middle) still give one CID and one record. The lease keeps the work in one process.
 */
export class PublishJob {
  readonly owner = actorName('worker');
  private readonly lease: Lease;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: PublishJobOptions) {
    this.lease = new Lease(options.db, { name: PUBLISH_LEASE, owner: this.owner, ttlMs: options.config.leaseTtlMs });
  }

  start(): void {
    this.options.log.info({ owner: this.owner }, 'passport publisher started');
    this.schedule(0);
  }

  /** Stops polling, lets the current round finish and gives the lease up. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.lease.release().catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.round()
        .then(() => undefined)
        .catch((err: unknown) => this.options.log.error({ err }, 'publish round failed'))
        .finally(() => this.schedule(this.options.config.pollMs));
    }, delayMs);
  }

  /** One round: while holding the lease, publish the approved passports that are due. */
  async round(): Promise<number> {
    if (!(await this.lease.acquire())) return 0;
    const due = await passports(this.options.db)
      .find({ status: 'approved', deleted_at: null, $or: [{ publish_next_at: null }, { publish_next_at: { $lte: new Date() } }] })
      .sort({ updated_at: 1 })
      .limit(BATCH)
      .toArray();
    let finalized = 0;
    for (const passport of due) {
      if (this.stopped || !this.lease.holds()) break;
      if ((await this.publish(passport)) === 'finalized') finalized++;
    }
    return finalized;
  }

  /** Drives one approved passport as far as it goes; a failure is retried later with exponential backoff. */
  async publish(passport: Document): Promise<PublishOutcome> {
    const log = this.options.log.child({ internal_id: passport.internal_id });
    try {
      const protocol = await collectionOf(this.options.db, PROTOCOL_COLLECTION).findOne(
        { internal_id: passport.internal_id, status: APPROVED },
        { projection: { _id: 1 } },
      );
      // the approval was interrupted between the passport and the protocol: mark_approve again finishes it
      if (!protocol) return await this.later(passport, 'waiting', 'the protocol is not approved');
      const outcome = await this.steps(passport);
      if (outcome === 'finalized') log.info('passport published');
      return outcome;
    } catch (err) {
      log.warn({ err, attempts: ((passport.publish_attempts as number | undefined) ?? 0) + 1 }, 'publishing failed; retrying later');
      return await this.later(passport, 'failed', (err as Error).message);
    }
  }

  private async steps(passport: Document): Promise<PublishOutcome> {
    const { publisher, fault } = this.options;
    const collection = passports(this.options.db);
    const { bytes, cid: computed } = await contentAddress(passport);
    let cid = passport.passport_ipfs_cid as string | undefined;
    if (cid === undefined || cid === null) {
      await publisher.store(computed, bytes);
      fault('publish.after_store');
      // only while it has none: a passport never gets a second CID
      const set = await collection.updateOne(
        { _id: passport._id, status: 'approved', passport_ipfs_cid: null },
        { $set: { passport_ipfs_cid: computed, updated_at: new Date() } },
      );
      if (set.matchedCount === 0) return 'changed';
      cid = computed;
      fault('publish.after_cid');
    } else if (cid !== computed) {
      throw new Error(`the passport changed after it got its CID ${cid} (now ${computed})`);
    }
    const txnHash = await publisher.record({ passport_id: passport._id, internal_id: passport.internal_id as string, cid });
    fault('publish.after_record');
    const done = await collection.updateOne(
      { _id: passport._id, status: 'approved', passport_ipfs_cid: cid },
      {
        $set: { status: 'finalized', txn_hash: txnHash, updated_at: new Date() },
        $unset: { publish_next_at: '', publish_error: '', publish_attempts: '' },
      },
    );
    return done.matchedCount === 1 ? 'finalized' : 'changed';
  }

  private async later(passport: Document, outcome: PublishOutcome, error: string): Promise<PublishOutcome> {
    const attempts = ((passport.publish_attempts as number | undefined) ?? 0) + 1;
    const wait = Math.min(this.options.config.maxBackoffMs, this.options.config.pollMs * 2 ** (attempts - 1));
    await passports(this.options.db).updateOne(
      { _id: passport._id, status: 'approved' },
      { $set: { publish_attempts: attempts, publish_next_at: new Date(Date.now() + wait), publish_error: error } },
    );
    return outcome;
  }
}

/** The publish job of a process, with the publisher the configuration names. */
export function createPublishJob(db: Db, config: PublishingConfig, fault: FaultPoint, logger: Logger): PublishJob {
  return new PublishJob({
    db,
    publisher: createPublisher(db, config.gateway),
    config,
    fault,
    log: logger.child({ component: 'passport-publisher' }),
  });
}
