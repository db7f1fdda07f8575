import { randomUUID } from 'node:crypto';
import type { Document } from 'mongodb';
import { defineAction } from '../../core/declared-types.js';
import type { ActionDefinition } from '../../core/dispatch.js';
import { ApiError, invalidParams, type FieldError } from '../../core/errors.js';
import type { Model } from '../../core/model.js';
import { EDITABLE_STATUSES, INTERNAL_ID, STAGE_FIELDS, loadPassport, requireEan13, statusConflict } from './fields.js';

/** A stage id as Feecc makes them (uuid4 hex). */
export function newStageId(): string {
  return randomUUID().replaceAll('-', '');
}

/**
 * Stages as stored: each with an id (generated when absent); an id that repeats one in the list or in `taken` is
 * refused, naming `<path>[i].id`.
 */
export function newStages(stages: Document[], taken: readonly string[], path: string): Document[] {
  const seen = new Map(taken.map((id) => [id, -1]));
  const errors: FieldError[] = [];
  const stored = stages.map((stage, i) => {
    const id = (stage.id as string | undefined) ?? newStageId();
    const first = seen.get(id);
    if (first !== undefined)
      errors.push({
        field: `${path}[${i}].id`,
        messages: [first < 0 ? 'is already a stage of this passport' : `repeats ${path}[${first}].id`],
      });
    seen.set(id, i);
    return { ...stage, id };
  });
  if (errors.length > 0) throw invalidParams(errors);
  return stored;
}

/** passport/add_stage: appends one production stage to the biography; a repeated stage id is 409. */
export function addStageAction(model: Model): ActionDefinition {
  return defineAction({
    titleZh: '产品护照添加工序',
    summary: 'Append a production stage to the biography (id generated when absent; a repeated id is 409)',
    params: { internal_id: INTERNAL_ID, stage: { type: 'M dict', fields: STAGE_FIELDS } },
    result: 'passport_stage_summary',
    envelope: 'object_result',
    handler: async ({ internal_id, stage }, ctx) => {
      const passport = await loadPassport(ctx.db, requireEan13(internal_id), { _id: 1 });
      const [stored] = newStages([stage], [], 'stage') as [Document];
      const guard = { _id: passport._id, status: { $in: EDITABLE_STATUSES }, 'biography.id': { $ne: stored.id } };
      await model.updateChecked(ctx.db, guard, { $push: { biography: stored } } as Document, (record) => {
        if (!EDITABLE_STATUSES.includes(record.status)) return statusConflict(record.status, EDITABLE_STATUSES, 'add_stage');
        return new ApiError('conflict', {
          message: `passport ${String(internal_id)} already has a stage ${String(stored.id)}`,
          zhMessage: '阶段ID重复',
          fields: [{ field: 'stage.id', messages: ['is already a stage of this passport'] }],
        });
      });
      return { _id: passport._id, stage_id: stored.id };
    },
  });
}

/** passport/update_serial: sets the serial number; a passport in production becomes built (seed 000). */
export function updateSerialAction(model: Model): ActionDefinition {
  return defineAction({
    titleZh: '产品护照设置序列号',
    summary: 'Set the serial number (unique); a passport in production becomes built',
    params: { internal_id: INTERNAL_ID, serial_number: 'M string(1,64)' },
    result: 'generic_summary',
    envelope: 'object_result',
    handler: async ({ internal_id, serial_number }, ctx) => {
      const passport = await loadPassport(ctx.db, requireEan13(internal_id), { _id: 1 });
      const collection = model.collection(ctx.db);
      const now = new Date();
      // two conditional updates, each atomic: whichever matches the status the passport has at that moment
      const promoted = await collection.updateOne(model.live({ _id: passport._id, status: 'production' }), {
        $set: { serial_number, status: 'built', updated_at: now },
      });
      if (promoted.matchedCount === 0) {
        const kept = ['built', 'revision'];
        await model.updateChecked(ctx.db, { _id: passport._id, status: { $in: kept } }, { $set: { serial_number } }, (record) =>
          statusConflict(record.status, EDITABLE_STATUSES, 'update_serial'),
        );
      }
      return { _id: passport._id };
    },
  });
}
