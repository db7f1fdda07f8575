import { ObjectId, type Db, type Document } from 'mongodb';
import { apiError, type ApiError, type FieldError, type MessageArgs } from './errors.js';
import { DELETED_AT, type Model } from './model.js';

/**
 * Reference integrity under races (issue 8 item 9). A delete first puts a marker on the records it deletes (one
 * conditional update for the whole batch), then looks for referrers (one `$in` per referencing field), then either
 * deletes what it marked or takes the marker back. A write that points at a record checks it before and after its
 * own write and, while the record carries a live marker, waits for the delete to decide instead of guessing. So a
 * delete refused as "still referenced" always leaves a referrer, and a write refused as "no such record" always
 * faces a deleted one.
 */

/** `{by, until}` on a record while a delete decides about it; ignored once `until` has passed (a crashed deleter). */
export const DELETING = '_deleting';
const MARK_TTL_MS = 5_000;
const POLL_MS = [2, 5, 10, 20, 40];

/**
 * Field errors for references in `docs` that do not name a live record: one `$in` per reference field for the
 * whole batch (more rounds only while a delete decides). `fieldPath(i, field)` names the field (`docs[3].group_id`).
 */
export async function missingReferences(
  db: Db,
  model: Model,
  docs: readonly Document[],
  fieldPath: (index: number, field: string) => string,
): Promise<FieldError[]> {
  const errors: FieldError[] = [];
  for (const [field, target] of model.targets) {
    const wanted = docs.map((doc) => doc[field] as ObjectId | null | undefined);
    const ids = [...new Map(wanted.filter((id): id is ObjectId => id != null).map((id) => [id.toHexString(), id])).values()];
    if (ids.length === 0) continue;
    const present = await settledLiveIds(db, target, ids);
    wanted.forEach((id, index) => {
      if (id != null && !present.has(id.toHexString()))
        errors.push({ field: fieldPath(index, field), messages: [`no ${target.name} with this id`] });
    });
  }
  return errors;
}

/** Ids of `ids` that are live once no delete is deciding about them (one query per round, rounds only while marked). */
export async function settledLiveIds(db: Db, model: Model, ids: readonly ObjectId[]): Promise<Set<string>> {
  for (let round = 0; ; round++) {
    const now = Date.now();
    const found = await model
      .collection(db)
      .find(model.live({ _id: { $in: [...ids] } }), { projection: { _id: 1, [DELETING]: 1 } })
      .toArray();
    const marked = found.filter((doc) => isMarked(doc, now));
    if (marked.length === 0) return new Set(found.map((doc) => (doc._id as ObjectId).toHexString()));
    const wakeAt = Math.min(...marked.map((doc) => (doc[DELETING] as { until: Date }).until.getTime()));
    await sleep(Math.min(POLL_MS[Math.min(round, POLL_MS.length - 1)] as number, Math.max(1, wakeAt - now)));
  }
}

function isMarked(doc: Document, now: number): boolean {
  const mark = doc[DELETING] as { until?: Date } | null | undefined;
  return mark?.until instanceof Date && mark.until.getTime() > now;
}

/** What a guarded delete did: which of the ids were live and are now deleted. */
export interface DeleteOutcome {
  matched: number;
  modified: number;
}

/**
 * Soft-deletes the live records among `ids` unless one is referenced: then nothing is deleted and the 409 names
 * each referenced id (`_id`, or `_ids[i]` in a batch). A constant number of commands, whatever the number of ids.
 */
export async function deleteUnreferenced(
  db: Db,
  model: Model,
  ids: readonly ObjectId[],
  fieldOf: (index: number) => string,
): Promise<DeleteOutcome> {
  const token = new ObjectId();
  const mine = await markForDelete(db, model, ids, token);
  const referenced = await referrersOf(db, model, mine);
  const collection = model.collection(db);
  if (referenced.size > 0) {
    await collection.updateMany({ _id: { $in: mine }, [`${DELETING}.by`]: token }, { $unset: { [DELETING]: '' } });
    throw referencedConflict(model, ids, referenced, fieldOf);
  }
  if (mine.length === 0) return { matched: 0, modified: 0 };
  const now = new Date();
  const outcome = await collection.updateMany(
    // a marker that outlived its TTL may have been overtaken: then the record is not ours to delete
    { _id: { $in: mine }, [`${DELETING}.by`]: token, [`${DELETING}.until`]: { $gt: now } },
    { $set: { [DELETED_AT]: now, updated_at: now }, $unset: { [DELETING]: '' } },
  );
  return { matched: mine.length, modified: outcome.modifiedCount };
}

/** Marks the live ids for this delete; waits while another delete holds a marker on one of them. */
async function markForDelete(db: Db, model: Model, ids: readonly ObjectId[], token: ObjectId): Promise<ObjectId[]> {
  const collection = model.collection(db);
  for (let round = 0; ; round++) {
    const now = new Date();
    const free = { $or: [{ [DELETING]: null }, { [`${DELETING}.until`]: { $lte: now } }] };
    await collection.updateMany(model.live({ _id: { $in: [...ids] }, ...free }), {
      $set: { [DELETING]: { by: token, until: new Date(now.getTime() + MARK_TTL_MS) } },
    });
    const live = await collection.find(model.live({ _id: { $in: [...ids] } }), { projection: { _id: 1, [DELETING]: 1 } }).toArray();
    const mine = live
      .filter((doc) => (doc[DELETING] as { by?: ObjectId } | undefined)?.by?.equals(token))
      .map((doc) => doc._id as ObjectId);
    if (mine.length === live.length) return mine;
    // another delete decides about some of them: give ours back (two batches holding each other's ids would
    // otherwise wait on each other), let it finish, and try again after a jittered pause
    if (mine.length > 0) await collection.updateMany({ _id: { $in: mine }, [`${DELETING}.by`]: token }, { $unset: { [DELETING]: '' } });
    const pause = POLL_MS[Math.min(round, POLL_MS.length - 1)] as number;
    await sleep(pause + Math.random() * pause);
  }
}

/** For each of `ids` that a live record of another resource points at: that resource and field (one `$in` each). */
async function referrersOf(db: Db, model: Model, ids: readonly ObjectId[]): Promise<Map<string, { resource: string; field: string }>> {
  const found = new Map<string, { resource: string; field: string }>();
  if (ids.length === 0) return found;
  for (const { model: referrer, field } of model.referencedBy) {
    const values = await referrer.collection(db).distinct(field, referrer.live({ [field]: { $in: [...ids] } }));
    for (const value of values) {
      if (value instanceof ObjectId && !found.has(value.toHexString())) found.set(value.toHexString(), { resource: referrer.name, field });
    }
  }
  return found;
}

function referencedConflict(
  model: Model,
  ids: readonly ObjectId[],
  referenced: Map<string, { resource: string; field: string }>,
  fieldOf: (index: number) => string,
): ApiError {
  const fields: FieldError[] = [];
  let first: MessageArgs | undefined;
  ids.forEach((id, index) => {
    const by = referenced.get(id.toHexString());
    if (!by) return;
    first ??= { resource: model.name, id: id.toHexString(), referrer: by.resource, field: by.field };
    fields.push({ field: fieldOf(index), messages: [`still referenced by ${by.resource}`] });
  });
  return apiError('still_referenced', first, { fields });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
