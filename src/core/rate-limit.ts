import type { Db, IndexDescription } from 'mongodb';
import { collectionOf } from './db.js';
import { isDuplicateKeyError } from './errors.js';

/** The collection of rate-limit counters, one document per bucket (`login:<username>`, `caller:service:import`). */
export const RATE_LIMITS_COLLECTION = 'rate_limits';

/** A counter as stored: how many hits since the window began, and when it ends. */
interface Counter {
  _id: string;
  count: number;
  reset_at: Date;
}

/** A bucket's state after a hit or a look. */
export interface BucketState {
  count: number;
  /** Seconds until the window ends (at least 1): what `Retry-After` says. */
  retryAfterSeconds: number;
}

/**
 * Fixed-window counters in MongoDB, so every process of the service sees the same counts (DESIGN.md §3 `rate_limited`).
 * A window begins with a bucket's first hit and lasts `windowMs`; its end is stored in the counter and checked on
 * every read, since the embedded database does not run TTL indexes (on MongoDB the TTL index removes old counters).
 * One command per hit in the common case.
 */
export class RateLimiter {
  constructor(private readonly collectionName = RATE_LIMITS_COLLECTION) {}

  /** The indexes the counters need. */
  static readonly indexes: IndexDescription[] = [{ key: { reset_at: 1 }, name: 'reset_at_ttl', expireAfterSeconds: 0 }];

  /** Creates the counters' indexes. */
  async ensureIndexes(db: Db): Promise<void> {
    await this.counters(db).createIndexes(RateLimiter.indexes);
  }

  /** Counts one hit on `bucket` in its current window (a new window when the last one ended); answers the count. */
  async hit(db: Db, bucket: string, windowMs: number, now = new Date()): Promise<BucketState> {
    const counters = this.counters(db);
    for (let attempt = 0; ; attempt++) {
      const current = await counters.findOneAndUpdate(
        { _id: bucket, reset_at: { $gt: now } },
        { $inc: { count: 1 } },
        { returnDocument: 'after' },
      );
      if (current) return stateOf(current, now);
      try {
        // no window running: start one (an ended counter is replaced; a racing start makes this a duplicate key)
        const started = await counters.findOneAndUpdate(
          { _id: bucket, reset_at: { $lte: now } },
          { $set: { count: 1, reset_at: new Date(now.getTime() + windowMs) } },
          { upsert: true, returnDocument: 'after' },
        );
        if (started) return stateOf(started, now);
      } catch (err) {
        // another process started the window meanwhile: count in it
        if (!isDuplicateKeyError(err) || attempt >= 3) throw err;
      }
    }
  }

  /** The bucket's count in its current window without counting (0 when no window is running). */
  async peek(db: Db, bucket: string, now = new Date()): Promise<BucketState> {
    const current = await this.counters(db).findOne({ _id: bucket, reset_at: { $gt: now } });
    return current ? stateOf(current, now) : { count: 0, retryAfterSeconds: 0 };
  }

  private counters(db: Db) {
    return collectionOf<Counter>(db, this.collectionName);
  }
}

function stateOf(counter: Counter, now: Date): BucketState {
  return { count: counter.count, retryAfterSeconds: Math.max(1, Math.ceil((counter.reset_at.getTime() - now.getTime()) / 1000)) };
}
