import type { Db, Document, ObjectId } from 'mongodb';
import type { ActionDefinition } from './dispatch.js';
import { type ApiError, apiError, invalidParams } from './errors.js';
import { DELETED_AT } from './model.js';
import type { ParamsDeclaration } from './params.js';
import { deleteUnreferenced, missingReferences } from './reference-guard.js';
import { updatableParams, type MarkOptions, type ResourceCore, type ResultOption } from './resource.js';
import { explainWriteError, splitChanges, transitionConflict, undoWrites, type FieldPath } from './write-checks.js';

const OK_RESULT = 'ok_result';
const SUMMARY_RESULT = 'generic_summary';
const ownField: FieldPath = (_, field) => field;

async function requireReferences(db: Db, core: ResourceCore, docs: Document[], path: FieldPath): Promise<void> {
  const errors = await missingReferences(db, core.model, docs, path);
  if (errors.length > 0) throw invalidParams(errors);
}

/** `create`: the declared fields (defaults fill the rest); references checked before and after the insert. */
export function createAction(core: ResourceCore, { result, summary, fields }: ResultOption & { fields?: string[] }): ActionDefinition {
  const params: ParamsDeclaration = {};
  for (const field of fields ?? Object.keys(core.spec.fields)) {
    core.requireField(field);
    params[field] = core.spec.fields[field] as ParamsDeclaration[string];
  }
  return {
    summary: summary ?? `Create a ${core.spec.name}`,
    params,
    result: result ?? SUMMARY_RESULT,
    envelope: 'object_result',
    handler: async (params, ctx) => {
      const doc: Document = { ...core.spec.defaults, ...params };
      // the id and the clock are the request's plan: an attempt resumed after a crash finds the record it wrote
      const _id = ctx.write.newId();
      const { now } = ctx.write;
      const written = ctx.write.resumed && (await core.model.collection(ctx.db).countDocuments({ _id, created_at: now }, { limit: 1 })) > 0;
      if (!written) {
        await requireReferences(ctx.db, core, [doc], ownField);
        try {
          await core.model.insert(ctx.db, doc, now, _id);
        } catch (err) {
          throw await explainWriteError(ctx.db, core.model, err, doc);
        }
      }
      // a referenced record deleted meanwhile: take the insert back (see reference-guard.ts for why this agrees)
      const vanished = await missingReferences(ctx.db, core.model, [doc], ownField);
      if (vanished.length > 0) {
        await core.model.collection(ctx.db).deleteOne({ _id });
        throw invalidParams(vanished);
      }
      return { _id };
    },
  };
}

/** `update`: only the given fields; null removes an optional field; transition-owned fields are refused. */
export function updateAction(core: ResourceCore, { result, summary }: ResultOption): ActionDefinition {
  const definition: ActionDefinition = {
    summary: summary ?? `Change the given fields of a ${core.spec.name} (null removes an optional field)`,
    params: {},
    result: result ?? SUMMARY_RESULT,
    envelope: 'object_result',
    handler: async ({ _id, ...changes }, ctx) => {
      const id = _id as ObjectId;
      const change = splitChanges(changes);
      await requireReferences(ctx.db, core, [change.$set], ownField);
      const update: Document = { $set: change.$set };
      if (Object.keys(change.$unset).length > 0) update.$unset = change.$unset;
      const now = new Date();
      const referencing = core.model.references.some((ref) => ref.field in change.$set);
      let before: Document | undefined;
      try {
        if (referencing) before = await core.model.updateCheckedBefore(ctx.db, { _id: id }, update, now);
        else await core.model.updateChecked(ctx.db, { _id: id }, update);
      } catch (err) {
        throw await explainWriteError(ctx.db, core.model, err, change.$set);
      }
      if (!before) return { _id };
      // a referenced record deleted between our check and our write: put the record back as it was and refuse
      const vanished = await missingReferences(ctx.db, core.model, [change.$set], ownField);
      if (vanished.length > 0) {
        await undoWrites(ctx.db, core.model, [{ _id: id, change, before }], now);
        throw invalidParams(vanished);
      }
      return { _id };
    },
  };
  core.whenDeclared(() => {
    const { params, refused } = updatableParams(core);
    const fields = Object.keys(params);
    definition.params = { _id: 'M object_id', ...params };
    definition.rules =
      fields.length > 1 ? [{ atLeastOne: fields, none: { reason: 'no_field_to_change', args: { fields: fields.join(', ') } } }] : [];
    if (fields.length === 1) {
      // with a single changeable field there is nothing to choose: it is required
      const only = fields[0] as string;
      const spec = params[only] as { type: string };
      definition.params[only] = { ...spec, type: spec.type.replace(/^O /, 'M ') };
    }
    definition.unknownParams = { refused };
  });
  return definition;
}

/** `mark_<verb>`: one conditional update `from → to`; 409 from another state. */
export function markAction(core: ResourceCore, { field = 'state', from, to, result, summary }: MarkOptions): ActionDefinition {
  core.requireField(field);
  return {
    summary: summary ?? `Set ${field} to ${String(to)} when it is ${from.join(' or ')}`,
    params: { _id: 'M object_id' },
    result: result ?? OK_RESULT,
    envelope: 'ok_result',
    handler: async ({ _id }, ctx) => {
      // resumed after a crash that may have come after the update: the record in the target state is this request's answer
      if (
        ctx.write.resumed &&
        (await core.model.collection(ctx.db).countDocuments(core.model.live({ _id: _id as ObjectId, [field]: to }), { limit: 1 })) > 0
      )
        return {};
      await core.model.updateChecked(ctx.db, { _id: _id as ObjectId, [field]: { $in: from } }, { $set: { [field]: to } }, (record) =>
        transitionConflict(field, record[field], from),
      );
      return {};
    },
  };
}

/** `mark_delete`: soft delete, refused (409) while a live record references this one. */
export function markDeleteAction(core: ResourceCore, { result, summary }: ResultOption): ActionDefinition {
  core.requireSoftDelete('mark_delete');
  return {
    summary: summary ?? `Delete a ${core.spec.name} (soft: it disappears from every read)`,
    params: { _id: 'M object_id' },
    result: result ?? OK_RESULT,
    envelope: 'ok_result',
    handler: async ({ _id }, ctx) => {
      const id = _id as ObjectId;
      const outcome = await deleteUnreferenced(ctx.db, core.model, [id], () => '_id');
      // resumed after a crash that came after the delete: the record is deleted, which is what was asked
      const deletedBefore =
        ctx.write.resumed &&
        (await core.model.collection(ctx.db).countDocuments({ _id: id, [DELETED_AT]: { $ne: null } }, { limit: 1 })) > 0;
      if (outcome.modified === 0 && !deletedBefore) throw apiError('record_not_found', { resource: core.spec.name, id: id.toHexString() });
      return {};
    },
  };
}

/** `mark_restore`: a soft-deleted record comes back, unless its unique values or references no longer allow it. */
export function markRestoreAction(core: ResourceCore, { result, summary }: ResultOption): ActionDefinition {
  core.requireSoftDelete('mark_restore');
  return {
    summary:
      summary ??
      `Bring back a deleted ${core.spec.name}; 409 when a live record took one of its unique values or a record it references is gone`,
    params: { _id: 'M object_id' },
    result: result ?? OK_RESULT,
    envelope: 'ok_result',
    handler: async ({ _id }, ctx) => {
      const id = _id as ObjectId;
      const collection = core.model.collection(ctx.db);
      const record = await collection.findOne(core.model.scoped({ _id: id }));
      const named = { resource: core.spec.name, id: id.toHexString() };
      if (!record) throw apiError('record_not_found', named);
      // resumed after a crash that came after the restore: the record this request restored (its updated_at is
      // the request's clock, the same on every attempt of the key) is what was asked
      if (record[DELETED_AT] == null && ctx.write.resumed && record.updated_at?.getTime?.() === ctx.write.now.getTime()) return {};
      if (record[DELETED_AT] == null) throw apiError('not_deleted', named);
      await refuseTakenValues(ctx.db, core, record);
      const gone = await missingReferences(ctx.db, core.model, [record], ownField);
      if (gone.length > 0) throw restoreConflict(core, gone);
      const now = ctx.write.now;
      let restored: number;
      try {
        const outcome = await collection.updateOne(
          { _id: id, [DELETED_AT]: record[DELETED_AT] },
          { $unset: { [DELETED_AT]: '' }, $set: { updated_at: now } },
        );
        restored = outcome.modifiedCount;
      } catch (err) {
        throw await explainWriteError(ctx.db, core.model, err, record);
      }
      if (restored === 0) throw apiError('changed_meanwhile', named);
      const vanished = await missingReferences(ctx.db, core.model, [record], ownField);
      if (vanished.length > 0) {
        await collection.updateOne(
          { _id: id, updated_at: now },
          { $set: { [DELETED_AT]: record[DELETED_AT], updated_at: record.updated_at } },
        );
        throw restoreConflict(core, vanished);
      }
      return {};
    },
  };
}

/** 409 when a live record holds one of the unique values of the record being restored (possible with a partial index). */
async function refuseTakenValues(db: Db, core: ResourceCore, record: Document): Promise<void> {
  const fields = [];
  for (const field of core.uniqueFields) {
    if (record[field] == null) continue;
    const holder = await core.model
      .collection(db)
      .findOne(core.model.live({ [field]: record[field], _id: { $ne: record._id } }), { projection: { _id: 1 } });
    if (holder) fields.push({ field, messages: [`is taken by a live ${core.spec.name} meanwhile`] });
  }
  if (fields.length > 0) {
    throw apiError('restore_value_taken', { fields: fields.map((f) => f.field).join(', '), resource: core.spec.name }, { fields });
  }
}

function restoreConflict(_core: ResourceCore, gone: Array<{ field: string; messages: string[] }>): ApiError {
  return apiError('restore_reference_gone', { fields: gone.map((f) => f.field).join(', ') }, { fields: gone });
}
