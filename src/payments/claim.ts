import type { Db, Document, ObjectId } from 'mongodb';
import { transactions } from './collections.js';
import type { Hold } from './driver.js';
import { workerQueueFilter } from './flow.js';

/** A gateway payment in the worker's queue that is due and that nobody holds (and that is not in `skip`). */
function dueFilter(now: Date, skip: readonly ObjectId[]): Document {
  return {
    ...workerQueueFilter(),
    parked: { $ne: true },
    next_attempt_at: { $lte: now },
    lock_until: { $lt: now },
    ...(skip.length > 0 ? { _id: { $nin: [...skip] } } : {}),
  };
}

/** The claim: our lock, and the attempt counted in the same update, so a cancel can tell the gateway may have been called. */
function claimUpdate(owner: string, now: Date, lockTtlMs: number): Document {
  return { $set: { lock_owner: owner, lock_until: new Date(now.getTime() + lockTtlMs) }, $inc: { attempts: 1 } };
}

/** Claims the due payment that has waited longest: one conditional update. */
export async function claimDue(db: Db, owner: string, skip: readonly ObjectId[], lockTtlMs: number): Promise<Hold | null> {
  const now = new Date();
  const tx = await transactions(db).findOneAndUpdate(dueFilter(now, skip), claimUpdate(owner, now, lockTtlMs), {
    sort: { next_attempt_at: 1 },
    returnDocument: 'after',
  });
  return tx ? { tx, owner, renewedAt: now.getTime() } : null;
}

/**
 * Claims up to `n` due payments at once: one query for the n that waited longest (ids only), then each claimed by
 * its `_id` under the same conditions as claimDue, side by side. One queue query per batch instead of one per
 * payment; a candidate another actor took meanwhile is not matched by its update, so fewer than n may come back.
 */
export async function claimDueBatch(db: Db, owner: string, skip: readonly ObjectId[], n: number, lockTtlMs: number): Promise<Hold[]> {
  if (n <= 1) {
    const hold = n === 1 ? await claimDue(db, owner, skip, lockTtlMs) : null;
    return hold ? [hold] : [];
  }
  const now = new Date();
  const candidates = await transactions(db)
    .find(dueFilter(now, skip), { projection: { _id: 1 } })
    .sort({ next_attempt_at: 1 })
    .limit(n)
    .toArray();
  const claimed = await Promise.all(
    candidates.map(({ _id }) =>
      transactions(db).findOneAndUpdate({ ...dueFilter(now, []), _id }, claimUpdate(owner, now, lockTtlMs), { returnDocument: 'after' }),
    ),
  );
  return claimed.filter((tx) => tx !== null).map((tx) => ({ tx, owner, renewedAt: now.getTime() }));
}
