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

/** The `n` due payments that have waited longest (ids only, nothing claimed): the worker's candidates for claimById. */
export async function dueIds(db: Db, skip: readonly ObjectId[], n: number): Promise<ObjectId[]> {
  const due = await transactions(db)
    .find(dueFilter(new Date(), skip), { projection: { _id: 1 } })
    .sort({ next_attempt_at: 1 })
    .limit(n)
    .toArray();
  return due.map(({ _id }) => _id);
}

/**
 * Claims one payment by its `_id` under the same conditions as claimDue (due, nobody holds it): null when it is no
 * longer due or another actor took it since dueIds listed it.
 */
export async function claimById(db: Db, owner: string, id: ObjectId, lockTtlMs: number): Promise<Hold | null> {
  const now = new Date();
  const tx = await transactions(db).findOneAndUpdate({ ...dueFilter(now, []), _id: id }, claimUpdate(owner, now, lockTtlMs), {
    returnDocument: 'after',
  });
  return tx ? { tx, owner, renewedAt: now.getTime() } : null;
}
