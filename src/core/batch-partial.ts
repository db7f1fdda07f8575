import { MongoBulkWriteError, MongoServerError, ObjectId, type Db, type Document } from 'mongodb';
import { ApiError, apiError, duplicateKeyFields, type FieldError } from './errors.js';
import type { Model } from './model.js';
import { missingReferences } from './reference-guard.js';
import type { WritePlan } from './idempotency-key.js';
import type { Params, ParamsValidator, ParamSpec } from './params.js';

/** `atomic` of batch_create: false creates the valid docs and reports the others, one entry per field. */
export const ATOMIC_PARAM: ParamSpec = {
  type: 'O bool',
  note: 'default true: all docs or none; false: the valid docs are created, the others listed in errors (index, field, messages)',
};

/** `_id` of a batch_create doc: an importer that chooses ids can re-send a batch without creating it twice. */
export const DOC_ID_PARAM: ParamSpec = {
  type: 'O object_id',
  note: 'optional id chosen by the caller (unique): makes a re-sent doc a conflict, not a copy',
};

/** One refused doc of a partial batch: its index in `docs`, the field (path inside the doc) and why. */
export interface ItemError {
  index: number;
  field: string;
  code: 'invalid_params' | 'conflict';
  messages: string[];
}

/** The answer of batch_create in both modes: `_ids` of the created docs in the order of `docs` (the refused ones are in `errors`). */
export interface BatchCreateAnswer {
  created_count: number;
  failed_count: number;
  _ids: ObjectId[];
  errors: ItemError[];
}

interface Itemwise {
  /** How many docs the request held. */
  total: number;
  /** For each remaining doc, its index in the request. */
  index: number[];
  errors: ItemError[];
}

const ITEMWISE = new WeakMap<Params, Itemwise>();
const ITEM_FIELD = /^docs\[(\d+)\](?:\.(.+))?$/;

/** The docs a partial batch set aside while validating (undefined for any other params), for the Idempotency-Key fingerprint. */
export function setAsideItems(params: Params): Itemwise | undefined {
  return ITEMWISE.get(params);
}

/**
 * Validates a batch body. With `atomic: false`, docs that fail their params are set aside (and remembered for the
 * answer) instead of failing the call; anything wrong outside `docs[i]` still fails the whole call.
 */
export function validateItemwise(validator: ParamsValidator, body: unknown): Params {
  const raw = body as { atomic?: unknown; docs?: unknown } | null;
  if (raw === null || typeof raw !== 'object' || raw.atomic !== false || !Array.isArray(raw.docs) || raw.docs.length === 0) {
    return validator.validate(body);
  }
  let docs = (raw.docs as unknown[]).map((doc, index) => ({ doc, index }));
  const errors: ItemError[] = [];
  // the validator names at most 100 fields per run, so a batch of many bad docs may take a few rounds
  for (;;) {
    if (docs.length === 0) {
      const params: Params = { atomic: false, docs: [] };
      ITEMWISE.set(params, { total: raw.docs.length, index: [], errors });
      return params;
    }
    try {
      const params = validator.validate({ ...raw, docs: docs.map((d) => d.doc) });
      ITEMWISE.set(params, { total: (raw.docs as unknown[]).length, index: docs.map((d) => d.index), errors });
      return params;
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== 'invalid_params' || !err.fields) throw err;
      const refused = new Set<number>();
      for (const field of err.fields) {
        const match = ITEM_FIELD.exec(field.field);
        if (!match) throw err;
        const position = Number(match[1]);
        refused.add(position);
        errors.push({
          index: (docs[position] as { index: number }).index,
          field: match[2] ?? '',
          code: 'invalid_params',
          messages: field.messages,
        });
      }
      docs = docs.filter((_, position) => !refused.has(position));
    }
  }
}

export interface PartialCreateOptions {
  model: Model;
  db: Db;
  /** Fields with a single-field unique index. */
  uniqueFields: readonly string[];
  defaults: Document | undefined;
  /** The ids and clock of the request (Idempotency-Key): a resumed attempt counts the docs it wrote before as created. */
  plan: WritePlan;
}

/**
 * Creates what can be created of a validated partial batch: references and unique values (and given `_id`s) are
 * checked per doc against the batch and the database, the rest is inserted unordered; a doc the database still
 * refuses (a concurrent write) is reported, and one whose reference vanished meanwhile is taken back and reported.
 */
export async function createItemwise(params: Params, options: PartialCreateOptions): Promise<BatchCreateAnswer> {
  const docs = params.docs as Document[];
  const info = ITEMWISE.get(params) ?? { total: docs.length, index: docs.map((_, i) => i), errors: [] };
  const { model, db } = options;
  const errors = [...info.errors];
  const { now } = options.plan;
  let items = docs.map((doc, i) => ({
    doc: { ...options.defaults, ...doc } as Document,
    index: info.index[i] as number,
    // taken before any doc is dropped, so every attempt of one key gives each doc the same id
    id: (doc._id as ObjectId | undefined) ?? options.plan.newId(),
  }));
  const kept = options.plan.resumed ? await keepWritten(model, db, items, now) : [];
  items = items.filter((item) => !kept.includes(item));
  const drop = (failed: Map<number, FieldError[]>, code: ItemError['code']) => {
    if (failed.size === 0) return;
    for (const [position, fields] of failed) {
      const index = (items[position] as { index: number }).index;
      for (const f of fields) errors.push({ index, field: f.field, code, messages: f.messages });
    }
    items = items.filter((_, position) => !failed.has(position));
  };

  drop(
    byPosition(
      await missingReferences(
        db,
        model,
        items.map((i) => i.doc),
        positionPath,
      ),
    ),
    'invalid_params',
  );
  // repeats within the batch here; values already stored are refused by the unique indexes during the insert, which
  // costs nothing extra (a pre-check query per unique field took ~13% of a batch on the embedded server)
  drop(await uniqueConflicts(model, db, items, ['_id', ...options.uniqueFields], false), 'conflict');
  for (const item of items) item.doc = model.stamped({ ...item.doc, _id: item.id, created_at: now, updated_at: now });
  if (items.length > 0)
    drop(
      await insertUnordered(
        model,
        db,
        items.map((i) => i.doc),
      ),
      'conflict',
    );
  if (model.references.length > 0 && items.length > 0) {
    const vanished = byPosition(
      await missingReferences(
        db,
        model,
        items.map((i) => i.doc),
        positionPath,
      ),
    );
    if (vanished.size > 0) {
      const ids = [...vanished.keys()].map((position) => (items[position] as { doc: Document }).doc._id as ObjectId);
      await model.collection(db).deleteMany({ _id: { $in: ids }, created_at: now });
      drop(vanished, 'invalid_params');
    }
  }
  const created = [...kept, ...items];
  const ids = created.sort((a, b) => a.index - b.index).map((item) => item.id);
  return { created_count: created.length, failed_count: info.total - created.length, _ids: ids, errors: sortErrors(errors) };
}

/** The docs an earlier attempt of this request wrote (its ids, its clock): created already, not to be checked again. */
async function keepWritten<T extends { id: ObjectId }>(model: Model, db: Db, items: T[], now: Date): Promise<T[]> {
  const found = await model
    .collection(db)
    .find({ _id: { $in: items.map((item) => item.id) }, created_at: now }, { projection: { _id: 1 } })
    .toArray();
  const written = new Set(found.map((doc) => (doc._id as ObjectId).toHexString()));
  return items.filter((item) => written.has(item.id.toHexString()));
}

/** insertMany that goes on past refused docs; the positions of docs refused as duplicates, anything else thrown. */
async function insertUnordered(model: Model, db: Db, rows: Document[]): Promise<Map<number, FieldError[]>> {
  const refused = new Map<number, FieldError[]>();
  try {
    await model.collection(db).insertMany(rows, { ordered: false });
  } catch (err) {
    if (!(err instanceof MongoBulkWriteError)) throw err;
    // The driver sends a large insertMany as several insert commands (1000 docs as 999 + 1 under the server's
    // maxWriteBatchSize of 1000). A command that fails for want of the server (socket timeout, connection closed)
    // comes back as a MongoBulkWriteError too, but one without writeErrors: which docs are stored is then unknown,
    // and reading it as "no doc refused" answered created_count for docs never sent (the import bench lost the last
    // doc of 1000-doc batches that way under load). Thrown, it is `unavailable`; a retry with the same ids is safe.
    const writeErrors = [err.writeErrors].flat();
    if (writeErrors.length === 0) throw err;
    for (const writeError of writeErrors) {
      if (writeError.code !== 11000) throw err;
      const described = new MongoServerError({ ...(writeError.err as object), message: writeError.errmsg ?? '' } as never);
      const fields = duplicateKeyFields(described).map((f) => (f === '_id_' ? '_id' : f));
      refused.set(
        writeError.index,
        fields.map((field) => ({ field, messages: ['is already taken'] })),
      );
    }
  }
  return refused;
}

/** Repeats within the batch and values already stored (soft-deleted records keep theirs), per position. */
async function uniqueConflicts(
  model: Model,
  db: Db,
  items: Array<{ doc: Document; index: number }>,
  fields: string[],
  againstStored: boolean,
): Promise<Map<number, FieldError[]>> {
  const conflicts = new Map<number, FieldError[]>();
  const add = (position: number, field: string, message: string) => {
    const list = conflicts.get(position) ?? [];
    list.push({ field, messages: [message] });
    conflicts.set(position, list);
  };
  for (const field of fields) {
    const firstAt = new Map<string, number>();
    const values: unknown[] = [];
    items.forEach(({ doc }, position) => {
      const value = doc[field];
      if (value === undefined || value === null) return;
      const key = valueKey(value);
      const first = firstAt.get(key);
      if (first === undefined) {
        firstAt.set(key, position);
        values.push(value);
      } else add(position, field, `repeats docs[${(items[first] as { index: number }).index}].${field}`);
    });
    if (values.length === 0 || !againstStored) continue;
    const taken = await model
      .collection(db)
      .find({ [field]: { $in: values } }, { projection: { [field]: 1 } })
      .toArray();
    for (const doc of taken) {
      const position = firstAt.get(valueKey(doc[field]));
      if (position !== undefined) add(position, field, 'is already taken');
    }
  }
  return conflicts;
}

/** Atomic batch_create with caller-chosen ids: 409 naming each doc whose `_id` is taken or repeated. */
export async function requireFreeIds(model: Model, db: Db, docs: Document[], path: (i: number, field: string) => string): Promise<void> {
  const conflicts = await uniqueConflicts(
    model,
    db,
    docs.map((doc, index) => ({ doc, index })),
    ['_id'],
    true,
  );
  if (conflicts.size === 0) return;
  const fields = [...conflicts].flatMap(([i, list]) => list.map((f) => ({ field: path(i, f.field), messages: f.messages })));
  // the ids clash with stored records, not with each other: say so (issue 8 item 14)
  throw apiError('duplicate_value', { fields: fields.map((f) => f.field).join(', ') }, { fields });
}

function valueKey(value: unknown): string {
  return value instanceof ObjectId ? value.toHexString() : JSON.stringify(value);
}

/** missingReferences names fields `<position>|<field>`; back to a map by position. */
function positionPath(position: number, field: string): string {
  return `${position}|${field}`;
}

function byPosition(fields: FieldError[]): Map<number, FieldError[]> {
  const out = new Map<number, FieldError[]>();
  for (const f of fields) {
    const [position, field] = f.field.split('|') as [string, string];
    const list = out.get(Number(position)) ?? [];
    list.push({ field, messages: f.messages });
    out.set(Number(position), list);
  }
  return out;
}

function sortErrors(errors: ItemError[]): ItemError[] {
  return [...errors].sort((a, b) => a.index - b.index);
}
