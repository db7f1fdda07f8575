import type { AnyBulkWriteOperation, Collection, Db, Document, ObjectId } from 'mongodb';
import { ATOMIC_PARAM, DOC_ID_PARAM, createItemwise, requireFreeIds } from './batch-partial.js';
import type { ActionDefinition } from './dispatch.js';
import { apiError, invalidParams, toApiError, type FieldError } from './errors.js';
import { deleteUnreferenced, missingReferences } from './reference-guard.js';
import { updatableParams, type MarkOptions, type ResourceCore, type ResultOption } from './resource.js';
import type { Logger } from './logger.js';
import { bulkError, requireUnique, splitChanges, undoWrites, type Change, type FieldPath, type Write } from './write-checks.js';

/** The most ids or docs one batch action takes. */
export const MAX_BATCH = 1000;
const BATCH_RESULT = 'batch_result';
const BATCH_CREATE_RESULT = 'batch_create_result';
const docPath: FieldPath = (i, field) => `docs[${i}].${field}`;

async function requireReferences(db: Db, core: ResourceCore, docs: Document[]): Promise<void> {
  const errors = await missingReferences(db, core.model, docs, docPath);
  if (errors.length > 0) throw invalidParams(errors);
}

/** `batch_<verb>` over `_ids`: one updateMany of those in a `from` state. */
export function batchMarkAction(core: ResourceCore, { field = 'state', from, to, result, summary }: MarkOptions): ActionDefinition {
  core.requireField(field);
  return {
    summary: summary ?? `Set ${field} to ${String(to)} on every listed ${core.spec.name} whose ${field} is ${from.join(' or ')}`,
    params: { _ids: `M list<object_id>(1,${MAX_BATCH})` },
    result: result ?? BATCH_RESULT,
    envelope: 'ok_result',
    handler: async ({ _ids }, ctx) => {
      const outcome = await core.model
        .collection(ctx.db)
        .updateMany(core.model.live({ _id: { $in: _ids as ObjectId[] }, [field]: { $in: from } }), {
          $set: { [field]: to, updated_at: new Date() },
        });
      return { matched_count: outcome.matchedCount, modified_count: outcome.modifiedCount };
    },
  };
}

/** `batch_delete`: all listed records or none (409 when one is referenced); constant commands per batch. */
export function batchDeleteAction(core: ResourceCore, { result, summary }: ResultOption): ActionDefinition {
  core.requireSoftDelete('batch_delete');
  return {
    summary: summary ?? `Delete every listed ${core.spec.name} (soft); refused as a whole if one is still referenced`,
    params: { _ids: `M list<object_id>(1,${MAX_BATCH})` },
    result: result ?? BATCH_RESULT,
    envelope: 'ok_result',
    handler: async ({ _ids }, ctx) => {
      const outcome = await deleteUnreferenced(ctx.db, core.model, _ids as ObjectId[], (i) => `_ids[${i}]`);
      return { matched_count: outcome.matched, modified_count: outcome.modified };
    },
  };
}

/** `batch_create {docs}`: every doc checked first, then all written or none. */
export function batchCreateAction(core: ResourceCore, { result, summary }: ResultOption): ActionDefinition {
  return {
    summary:
      summary ??
      `Create up to ${MAX_BATCH} ${core.spec.name} records; all are checked first and either all are written or none (atomic: false creates the valid ones)`,
    params: { docs: { type: `M list<dict>(1,${MAX_BATCH})`, fields: { _id: DOC_ID_PARAM, ...core.spec.fields } }, atomic: ATOMIC_PARAM },
    itemwise: true,
    result: result ?? BATCH_CREATE_RESULT,
    envelope: 'ok_result',
    handler: async (params, ctx) => {
      if (params.atomic === false) {
        return await createItemwise(params, {
          model: core.model,
          db: ctx.db,
          uniqueFields: core.uniqueFields,
          defaults: core.spec.defaults,
          plan: ctx.write,
        });
      }
      const docs = (params.docs as Document[]).map((doc) => ({ ...core.spec.defaults, ...doc }));
      // ids and clock from the request's plan: the same on every attempt of one Idempotency-Key
      const { now } = ctx.write;
      const ids = docs.map((doc) => (doc._id as ObjectId | undefined) ?? ctx.write.newId());
      const collection = core.model.collection(ctx.db);
      // created_at: only what this call wrote, never a record that already had one of the given ids
      const ours = { _id: { $in: ids }, created_at: now };
      // an attempt resumed after a crash in the insert finishes it: the checks passed then, and would refuse our own docs now
      const written = ctx.write.resumed ? await writtenIds(collection, ours) : new Set<string>();
      if (written.size === 0) {
        await requireReferences(ctx.db, core, docs);
        await requireUnique(ctx.db, core.model, core.uniqueFields, docs, docPath, []);
        if (docs.some((doc) => doc._id !== undefined)) await requireFreeIds(core.model, ctx.db, docs, docPath);
      }
      const rows = docs
        .map((doc, i) => core.model.stamped({ ...doc, _id: ids[i] as ObjectId, created_at: now, updated_at: now }))
        .filter((row) => !written.has(row._id.toHexString()));
      const takeBack = () =>
        undoOrReport(ctx.log, { resource: core.spec.name, action: 'batch_create', ids, writtenAt: now, left: 'may be left created' }, () =>
          collection.deleteMany(ours),
        );
      try {
        if (rows.length > 0) await collection.insertMany(rows, { ordered: true });
      } catch (err) {
        await takeBack();
        throw bulkError(err, docPath);
      }
      const vanished = await missingReferences(ctx.db, core.model, docs, docPath);
      if (vanished.length > 0) {
        await takeBack();
        throw invalidParams(vanished);
      }
      return { created_count: ids.length, failed_count: 0, _ids: ids, errors: [] };
    },
  };
}

async function writtenIds(collection: Collection, ours: Document): Promise<Set<string>> {
  const found = await collection.find(ours, { projection: { _id: 1 } }).toArray();
  return new Set(found.map((doc) => (doc._id as ObjectId).toHexString()));
}

/** `batch_update {docs: [{_id, ...}]}`: every doc checked first, then all written or none. */
export function batchUpdateAction(core: ResourceCore, { result, summary }: ResultOption): ActionDefinition {
  const definition: ActionDefinition = {
    summary:
      summary ?? `Change up to ${MAX_BATCH} ${core.spec.name} records by _id; all are checked first and either all are written or none`,
    params: {},
    result: result ?? BATCH_RESULT,
    envelope: 'ok_result',
    handler: async (params, ctx) => {
      const docs = params.docs as Array<Document & { _id: ObjectId }>;
      const changes = docs.map(({ _id, ...rest }) => splitChanges(rest));
      refuseRepeatsAndEmpty(docs, changes);
      const ids = docs.map((doc) => doc._id);
      const collection = core.model.collection(ctx.db);
      const before = await collection.find(core.model.live({ _id: { $in: ids } })).toArray();
      const byId = new Map(before.map((doc) => [(doc._id as ObjectId).toHexString(), doc]));
      const missing = absent(core, docs, byId);
      if (missing.length > 0) throw apiError('records_missing', { count: missing.length }, { fields: missing });
      const sets = changes.map((c) => c.$set);
      await requireReferences(ctx.db, core, sets);
      await requireUnique(ctx.db, core.model, core.uniqueFields, sets, docPath, ids);

      const now = new Date();
      const operations: AnyBulkWriteOperation[] = docs.map((doc, i) => {
        const change = changes[i] as Change;
        const update: Document = { $set: { ...change.$set, updated_at: now } };
        if (Object.keys(change.$unset).length > 0) update.$unset = change.$unset;
        return { updateOne: { filter: core.model.live({ _id: doc._id }), update } };
      });
      const writes: Write[] = docs.map((doc, i) => ({
        _id: doc._id,
        change: changes[i] as Change,
        before: byId.get(doc._id.toHexString()) as Document,
      }));
      const takeBack = () =>
        undoOrReport(ctx.log, { resource: core.spec.name, action: 'batch_update', ids, writtenAt: now, left: 'may keep its change' }, () =>
          undoWrites(ctx.db, core.model, writes, now),
        );
      let outcome: { matchedCount: number; modifiedCount: number };
      try {
        outcome = await collection.bulkWrite(operations, { ordered: true });
      } catch (err) {
        // every write, not only those before a refused doc: a lost connection or a timeout says nothing of how far
        // the server got, and the embedded server goes on past a refused update although the command is ordered
        await takeBack();
        throw bulkError(err, docPath);
      }
      if (outcome.matchedCount < docs.length) {
        await takeBack();
        const live = await collection.find(core.model.live({ _id: { $in: ids } }), { projection: { _id: 1 } }).toArray();
        const gone = absent(core, docs, new Map(live.map((doc) => [(doc._id as ObjectId).toHexString(), doc])));
        throw apiError('records_deleted_meanwhile', { count: gone.length }, { fields: gone });
      }
      const vanished = await missingReferences(ctx.db, core.model, sets, docPath);
      if (vanished.length > 0) {
        await takeBack();
        throw invalidParams(vanished);
      }
      return { matched_count: outcome.matchedCount, modified_count: outcome.modifiedCount };
    },
  };
  core.whenDeclared(() => {
    const { params, refused } = updatableParams(core);
    // the handler refuses a doc that changes nothing: the schema says it as "_id and at least one more field"
    definition.params = {
      docs: { type: `M list<dict>(1,${MAX_BATCH})`, fields: { _id: 'M object_id', ...params }, stated: { items: { minProperties: 2 } } },
    };
    definition.paramChecks = ['every docs[]._id at most once'];
    definition.unknownParams = { refused: Object.fromEntries(Object.entries(refused).map(([field, why]) => [`docs[].${field}`, why])) };
  });
  return definition;
}

/**
 * Takes back a batch that cannot stand (`undo`). When the database refuses that too (still unreachable), the caller
 * gets that failure, not the first one (a 409 would say nothing was written), and the log names every record that
 * may be left as the batch made it: nothing else knows which they are.
 */
async function undoOrReport(
  log: Logger,
  batch: { resource: string; action: string; ids: readonly ObjectId[]; writtenAt: Date; left: string },
  undo: () => Promise<unknown>,
): Promise<void> {
  try {
    await undo();
  } catch (err) {
    log.error(
      { err, resource: batch.resource, ids: batch.ids.map((id) => id.toHexString()), written_at: batch.writtenAt },
      `${batch.action} could not be undone: these records ${batch.left}`,
    );
    throw toApiError(err);
  }
}

function refuseRepeatsAndEmpty(docs: Array<Document & { _id: ObjectId }>, changes: Change[]): void {
  const problems: FieldError[] = [];
  const seen = new Map<string, number>();
  docs.forEach((doc, i) => {
    const key = doc._id.toHexString();
    if (seen.has(key)) problems.push({ field: docPath(i, '_id'), messages: [`repeats docs[${seen.get(key)}]._id`] });
    seen.set(key, i);
    const change = changes[i] as Change;
    if (Object.keys(change.$set).length + Object.keys(change.$unset).length === 0)
      problems.push({ field: `docs[${i}]`, messages: ['gives no field to change'] });
  });
  if (problems.length > 0) throw invalidParams(problems);
}

function absent(core: ResourceCore, docs: Array<{ _id: ObjectId }>, present: Map<string, unknown>): FieldError[] {
  return docs.flatMap((doc, i) =>
    present.has(doc._id.toHexString()) ? [] : [{ field: docPath(i, '_id'), messages: [`no ${core.spec.name} with this id`] }],
  );
}
