import { MongoBulkWriteError, type AnyBulkWriteOperation, type Db, type Document, type ObjectId } from 'mongodb';
import { apiError, isDuplicateKeyError, toApiError, type ApiError, type FieldError } from './errors.js';
import { DELETED_AT, type Model } from './model.js';
import type { Params } from './params.js';

/** What one update sets and removes. */
export type Change = { $set: Document; $unset: Document };

/** Names the field of doc `i` in an error (`docs[3].phone` in a batch, `phone` for one record). */
export type FieldPath = (index: number, field: string) => string;

/** A record's written change and its before-image, to take the change back. */
export interface Write {
  _id: ObjectId;
  change: Change;
  before: Document;
}

/** Given params minus `_id`: null removes a field, anything else sets it. */
export function splitChanges(changes: Params): Change {
  const $set: Document = {};
  const $unset: Document = {};
  for (const [field, value] of Object.entries(changes)) {
    if (value === null) $unset[field] = '';
    else $set[field] = value;
  }
  return { $set, $unset };
}

/**
 * Values of single-field unique indexes must differ within the batch and from other stored records; the error says
 * which of the two it is, and when the holder is a soft-deleted record.
 */
export async function requireUnique(
  db: Db,
  model: Model,
  uniqueFields: readonly string[],
  docs: Document[],
  path: FieldPath,
  ownIds: ObjectId[],
): Promise<void> {
  const repeats: FieldError[] = [];
  const taken: FieldError[] = [];
  for (const field of uniqueFields) {
    const firstAt = new Map<string, number>();
    docs.forEach((doc, i) => {
      const value = doc[field];
      if (value === undefined || value === null) return;
      const key = JSON.stringify(value);
      const first = firstAt.get(key);
      if (first === undefined) firstAt.set(key, i);
      else repeats.push({ field: path(i, field), messages: [`repeats ${path(first, field)}`] });
    });
    const values = docs.map((doc) => doc[field]).filter((v) => v !== undefined && v !== null);
    if (values.length === 0) continue;
    const holders = await model
      .collection(db)
      .find({ [field]: { $in: values }, _id: { $nin: ownIds } }, { projection: { [field]: 1, [DELETED_AT]: 1 } })
      .toArray();
    const heldBy = new Map(holders.map((doc) => [JSON.stringify(doc[field]), doc]));
    docs.forEach((doc, i) => {
      const holder = heldBy.get(JSON.stringify(doc[field]));
      if (holder) taken.push({ field: path(i, field), messages: [takenMessage(model, holder)] });
    });
  }
  if (repeats.length === 0 && taken.length === 0) return;
  const fields = [...repeats, ...taken];
  if (taken.length === 0) throw apiError('duplicate_in_batch', {}, { fields });
  throw apiError(
    repeats.length > 0 ? 'duplicate_value_and_in_batch' : 'duplicate_value',
    { fields: taken.map((f) => f.field).join(', ') },
    { fields },
  );
}

function takenMessage(model: Model, holder: Document): string {
  return model.softDelete && holder[DELETED_AT] != null ? `is already taken by a deleted ${model.name}` : 'is already taken';
}

/**
 * A duplicate-key refusal of writing `doc`, saying when the value is held by a soft-deleted record (which keeps its
 * unique values so that it can be restored). Other errors pass through `toApiError`.
 */
export async function explainWriteError(db: Db, model: Model, err: unknown, doc: Document, prefix = ''): Promise<ApiError> {
  const error = toApiError(err, prefix);
  if (!isDuplicateKeyError(err) || !model.softDelete || !error.fields) return error;
  let deleted = false;
  const fields = await Promise.all(
    error.fields.map(async (field) => {
      const name = field.field.slice(prefix.length);
      if (doc[name] === undefined) return field;
      const holder = await model.collection(db).findOne({ [name]: doc[name], [DELETED_AT]: { $ne: null } }, { projection: { _id: 1 } });
      if (!holder) return field;
      deleted = true;
      return { field: field.field, messages: [`is already taken by a deleted ${model.name}`] };
    }),
  );
  if (!deleted) return error;
  return apiError(
    'duplicate_value_deleted',
    { fields: fields.map((f) => f.field).join(', '), resource: model.name },
    { fields, cause: err },
  );
}

/**
 * Puts back the fields our writes changed, from the before-images — only on records that still carry our write
 * (`updated_at` is the time we wrote): a change someone made since is never overwritten, and a listed record our
 * write never reached does not match either, so undoing it changes nothing (unless another write stamped it in the
 * same millisecond).
 */
export async function undoWrites(db: Db, model: Model, writes: readonly Write[], writtenAt: Date): Promise<void> {
  if (writes.length === 0) return;
  const operations: AnyBulkWriteOperation[] = writes.map(({ _id, change, before }) => {
    const $set: Document = { updated_at: before.updated_at };
    const $unset: Document = {};
    for (const field of [...Object.keys(change.$set), ...Object.keys(change.$unset)]) {
      if (before[field] === undefined) $unset[field] = '';
      else $set[field] = before[field];
    }
    return { updateOne: { filter: { _id, updated_at: writtenAt }, update: Object.keys($unset).length > 0 ? { $set, $unset } : { $set } } };
  });
  await model.collection(db).bulkWrite(operations, { ordered: false });
}

/** The index of the doc an ordered bulk write stopped at. */
export function firstWriteErrorIndex(err: MongoBulkWriteError): number {
  const first = Array.isArray(err.writeErrors) ? err.writeErrors[0] : err.writeErrors;
  return first?.index ?? 0;
}

/** A failed insertMany/bulkWrite as an API error naming the doc (`docs[3].phone`). */
export function bulkError(err: unknown, path: FieldPath): ApiError {
  if (err instanceof MongoBulkWriteError && isDuplicateKeyError(err)) return toApiError(err, path(firstWriteErrorIndex(err), ''));
  return toApiError(err);
}

/** The 409 of a `mark_*` whose record is in another state. */
export function transitionConflict(field: string, current: unknown, from: readonly unknown[]): ApiError {
  const needed = from.map((v) => JSON.stringify(v)).join(' or ');
  return apiError(
    'transition_refused',
    { field, current: JSON.stringify(current), needed },
    { fields: [{ field, messages: [`is ${JSON.stringify(current)}`] }] },
  );
}
