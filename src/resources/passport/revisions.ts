import type { Document } from 'mongodb';
import { defineAction } from '../../core/declared-types.js';
import type { ActionDefinition } from '../../core/dispatch.js';
import { ApiError, invalidParams, type FieldError } from '../../core/errors.js';
import type { Model } from '../../core/model.js';
import { INTERNAL_ID, loadPassport, requireEan13, statusConflict } from './fields.js';
import { newStageId } from './stages.js';

/**
 * How many revision copies are still open. Kept beside the biography so that "this was the last one → built" is
 * decided inside the same single-document update that removes the copy: two cancels racing on the last two copies
 * cannot both see one left.
 */
const OPEN = 'open_revisions';
const MAX_CANCEL_TRIES = 20;
// an approved passport may go back to revision only while publishing has not given it a CID
const REVISABLE = [{ status: 'built' }, { status: 'approved', passport_ipfs_cid: null }];

/** passport/mark_revision: empty copies of the named stages are appended; status → revision (seed 000). */
export function markRevisionAction(model: Model): ActionDefinition {
  return defineAction({
    titleZh: '产品护照返修',
    summary:
      'Send the passport back for rework of the named stages: an empty copy of each is appended; status → revision (from built or approved)',
    params: {
      internal_id: INTERNAL_ID,
      stage_ids: { type: 'M list<string(1,64)>(1,50)', note: 'ids of biography stages to redo', stated: { uniqueItems: true } },
    },
    result: 'ok_result',
    envelope: 'ok_result',
    handler: async ({ internal_id, stage_ids: ids }, ctx) => {
      const passport = await loadPassport(ctx.db, requireEan13(internal_id), { biography: 1, status: 1, passport_ipfs_cid: 1 });
      if (!isRevisable(passport)) throw revisionConflict(passport);
      const biography = (passport.biography as Document[] | undefined) ?? [];
      const byId = new Map(biography.map((stage) => [stage.id as string, stage]));
      const errors: FieldError[] = [];
      ids.forEach((id, i) => {
        const first = ids.indexOf(id);
        if (first < i) errors.push({ field: `stage_ids[${i}]`, messages: [`repeats stage_ids[${first}]`] });
        else if (!byId.has(id)) errors.push({ field: `stage_ids[${i}]`, messages: ['is not a stage of this passport'] });
      });
      if (errors.length > 0) throw invalidParams(errors);
      const copies = ids.map((id) => ({ id: newStageId(), name: (byId.get(id) as Document).name, revision_of: id }));
      await model.updateChecked(
        ctx.db,
        { _id: passport._id, $or: REVISABLE, 'biography.id': { $all: ids } },
        { $push: { biography: { $each: copies } }, $set: { status: 'revision', [OPEN]: copies.length } } as Document,
        revisionConflict,
      );
      return {};
    },
  });
}

/** passport/cancel_revision: removes one open revision copy; the last one returns the passport to built. */
export function cancelRevisionAction(model: Model): ActionDefinition {
  return defineAction({
    titleZh: '产品护照取消返修',
    summary:
      'Cancel the rework of one stage (the id of its revision copy or of the original stage); after the last one the passport is built again',
    params: { internal_id: INTERNAL_ID, stage_id: { type: 'M string(1,64)', note: 'the revision copy, or the stage it copies' } },
    result: 'passport_revision_result',
    envelope: 'object_result',
    handler: async ({ internal_id, stage_id }, ctx) => {
      const collection = model.collection(ctx.db);
      for (let attempt = 0; attempt < MAX_CANCEL_TRIES; attempt++) {
        const passport = await loadPassport(ctx.db, requireEan13(internal_id), { biography: 1, status: 1, [OPEN]: 1 });
        if (passport.status !== 'revision') throw statusConflict(passport.status, ['revision'], 'cancel_revision');
        const copy = ((passport.biography as Document[] | undefined) ?? []).find(
          (s) => s.revision_of !== undefined && (s.id === stage_id || s.revision_of === stage_id),
        );
        if (!copy) throw invalidParams([{ field: 'stage_id', messages: ['is not an open revision of this passport'] }]);
        const open = passport[OPEN] as number;
        const last = open <= 1;
        const filter = model.live({ _id: passport._id, status: 'revision', [OPEN]: open, 'biography.id': copy.id });
        const update: Document = { $pull: { biography: { id: copy.id } }, $set: { updated_at: new Date() } };
        if (last) update.$set = { ...update.$set, status: 'built', [OPEN]: 0 };
        else update.$inc = { [OPEN]: -1 };
        const result = await collection.updateOne(filter, update);
        // another cancel (or a stage change) came first: look again at what is left
        if (result.matchedCount === 1) return { status: last ? 'built' : 'revision', open_revisions: last ? 0 : open - 1 };
      }
      throw new ApiError('conflict', {
        message: 'the passport kept changing; try again',
        fields: [{ field: 'stage_id', messages: ['could not be canceled'] }],
      });
    },
  });
}

function isRevisable(passport: Document): boolean {
  return passport.status === 'built' || (passport.status === 'approved' && passport.passport_ipfs_cid == null);
}

function revisionConflict(passport: Document): ApiError {
  if (passport.status === 'approved') {
    return new ApiError('conflict', {
      message: 'the passport is being published (it has a CID); it can no longer go back to revision',
      zhMessage: '当前状态不允许此操作',
      fields: [{ field: 'status', messages: ['is "approved" and already has a passport_ipfs_cid'] }],
    });
  }
  if (passport.status === 'built') {
    return new ApiError('conflict', {
      message: 'a stage to revise is no longer in the biography',
      fields: [{ field: 'stage_ids', messages: ['changed meanwhile'] }],
    });
  }
  return statusConflict(passport.status, ['built', 'approved'], 'mark_revision');
}
