import type { Collection, Db } from 'mongodb';
import { isDuplicateKeyError } from './errors.js';

interface LeaseDoc {
  _id: string;
  owner: string;
  expires_at: Date;
  acquired_at: Date;
}

export interface LeaseOptions {
  /** The lease's name: one holder per name at a time. */
  name: string;
  /** Who asks (unique per process). */
  owner: string;
  ttlMs: number;
  collection?: string;
}

/**
 * A named lease in MongoDB: one owner at a time, with an expiry the holder keeps pushing forward. Taking it is one
 * upsert whose filter only matches an expired lease or our own; when another owner holds it, the upsert collides
 * on `_id` (duplicate key) and we are told no. A holder that stops renewing loses it after `ttlMs`.
 */
export class Lease {
  private readonly collection: Collection<LeaseDoc>;
  private heldUntil = 0;

  constructor(
    db: Db,
    private readonly options: LeaseOptions,
  ) {
    this.collection = db.collection<LeaseDoc>(options.collection ?? 'leases');
  }

  get owner(): string {
    return this.options.owner;
  }

  /** Takes or renews the lease; true while we hold it. */
  async acquire(): Promise<boolean> {
    const now = new Date();
    const expires = new Date(now.getTime() + this.options.ttlMs);
    try {
      const doc = await this.collection.findOneAndUpdate(
        { _id: this.options.name, $or: [{ expires_at: { $lt: now } }, { owner: this.options.owner }] },
        { $set: { owner: this.options.owner, expires_at: expires }, $setOnInsert: { acquired_at: now } },
        { upsert: true, returnDocument: 'after' },
      );
      const ours = doc?.owner === this.options.owner;
      this.heldUntil = ours ? expires.getTime() : 0;
      return ours;
    } catch (err) {
      if (isDuplicateKeyError(err)) {
        this.heldUntil = 0;
        return false;
      }
      throw err;
    }
  }

  /**
   * True while our last renewal has not run out, with a margin for clock drift and the time the next step takes.
   * Check it before every call to the outside world.
   */
  holds(marginMs = Math.min(1_000, this.options.ttlMs / 5)): boolean {
    return Date.now() + marginMs < this.heldUntil;
  }

  /** Gives the lease up at once so another process can take over without waiting for the expiry. */
  async release(): Promise<void> {
    this.heldUntil = 0;
    await this.collection.updateOne({ _id: this.options.name, owner: this.options.owner }, { $set: { expires_at: new Date(0) } });
  }

  /** The current holder, for status output. */
  async current(): Promise<{ owner: string; expires_at: Date } | null> {
    return await this.collection.findOne({ _id: this.options.name }, { projection: { owner: 1, expires_at: 1 } });
  }
}
