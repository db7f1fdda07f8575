import { defineAction } from '../../core/declared-types.js';
import type { ActionDefinition } from '../../core/dispatch.js';
import { ApiError } from '../../core/errors.js';
import type { Model } from '../../core/model.js';
import { INTERNAL_ID, loadPassport, passports, requireEan13 } from '../passport/fields.js';
import { loadProtocol } from './lookup.js';
import { APPROVED, SECOND_STAGE } from './names.js';

const ZH = '当前状态不允许此操作';

/**
 * protocol/mark_approve: the protocol (second stage) → approved and its passport built → approved, which queues it
 * for publishing. The passport moves first: the publish job only takes an approved passport whose protocol is
 * approved too, so a crash between the two steps publishes nothing, and a retry of mark_approve (the protocol is
 * still at the second stage, the passport already approved) finishes the approval.
 */
export function approveAction(model: Model): ActionDefinition {
  return defineAction({
    titleZh: '质检记录批准',
    summary:
      'Approve the protocol (only from the second stage); the passport becomes approved and the worker publishes it (IPFS CID, ledger record, finalized)',
    params: { internal_id: INTERNAL_ID },
    result: 'ok_result',
    envelope: 'ok_result',
    handler: async ({ internal_id }, ctx) => {
      const protocol = await loadProtocol(ctx.db, model, requireEan13(internal_id), { status: 1 });
      if (protocol.status !== SECOND_STAGE) throw notAtSecondStage(protocol.status as string);
      const passport = await loadPassport(ctx.db, internal_id, { status: 1 });
      const collection = passports(ctx.db);
      let approvedNow = false;
      if (passport.status === 'built') {
        const moved = await collection.updateOne(
          { _id: passport._id, status: 'built', deleted_at: null },
          // a fresh approval starts publishing afresh: no backoff left over from an earlier one
          {
            $set: { status: 'approved', updated_at: new Date() },
            $unset: { publish_attempts: '', publish_next_at: '', publish_error: '' },
          },
        );
        if (moved.matchedCount === 0) throw passportConflict((await collection.findOne({ _id: passport._id }))?.status);
        approvedNow = true;
      } else if (passport.status !== 'approved' && passport.status !== 'finalized') {
        // approved/finalized: an interrupted approval, or a protocol saved anew for a published unit
        throw passportConflict(passport.status);
      }
      const result = await model
        .collection(ctx.db)
        .updateOne({ _id: protocol._id, status: SECOND_STAGE }, { $set: { status: APPROVED, updated_at: new Date() } });
      if (result.matchedCount === 0) {
        // the protocol changed or was deleted meanwhile: give the passport back unless publishing has begun
        if (approvedNow)
          await collection.updateOne(
            { _id: passport._id, status: 'approved', passport_ipfs_cid: null },
            { $set: { status: 'built', updated_at: new Date() } },
          );
        const now = await model.collection(ctx.db).findOne({ _id: protocol._id }, { projection: { status: 1 } });
        throw now
          ? notAtSecondStage(now.status as string)
          : new ApiError('not_found', { message: `the protocol for ${String(internal_id)} was deleted meanwhile` });
      }
      return {};
    },
  });
}

function notAtSecondStage(current: string): ApiError {
  return new ApiError('conflict', {
    message:
      current === APPROVED ? 'the protocol is already approved' : `the protocol is at "${current}"; approval needs "${SECOND_STAGE}"`,
    zhMessage: ZH,
    fields: [{ field: 'status', messages: [`is "${current}"`] }],
  });
}

function passportConflict(current: unknown): ApiError {
  return new ApiError('conflict', {
    message: `the passport is ${JSON.stringify(current)}; approval needs a built passport`,
    zhMessage: ZH,
    fields: [{ field: 'passport.status', messages: [`is ${JSON.stringify(current)}`] }],
  });
}
