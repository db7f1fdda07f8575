// What the diary resources (dream, goal, task) share: attachments, created_date, hard delete, service access.
import { defineAction } from '../../core/declared-types.js';
import type { ActionDefinition } from '../../core/dispatch.js';
import { invalidParams, type FieldError } from '../../core/errors.js';
import type { Model } from '../../core/model.js';
import type { Params, ParamSpec } from '../../core/params.js';
import { apiError } from '../../core/errors.js';
import type { ObjectId } from 'mongodb';
import { isWebUrl } from '../user/profile.js';

/** `attachments` of seed 002: pictures, videos and links, each `{kind, url}`. */
export const ATTACHMENTS: ParamSpec = {
  type: 'O list<dict>(0,20)',
  note: 'вложения: up to 20 of {kind: image|video|link, url}',
  fields: {
    kind: { type: 'M enum<str>(image,video,link)', note: 'image, video or link' },
    url: { type: 'M string(1,2048)', note: 'an http(s) URL', stated: { pattern: '^https?://\\S+$' } },
  },
};

/** The check the params schema cannot say (answered 400), for the docs. */
export const ATTACHMENT_CHECK = 'attachments[].url: an http(s) URL';

/** Makes a standard create/update also refuse attachment URLs that are not http(s) (the definition is kept: update fills its params later). */
export function checkingAttachments(action: ActionDefinition): ActionDefinition {
  const inner = action.handler;
  action.handler = async (params, ctx) => {
    const errors: FieldError[] = [];
    const attachments: unknown[] = Array.isArray(params.attachments) ? params.attachments : [];
    attachments.forEach((attachment, i) => {
      const url = attachment !== null && typeof attachment === 'object' && 'url' in attachment ? attachment.url : undefined;
      if (typeof url !== 'string' || !isWebUrl(url)) errors.push({ field: `attachments[${i}].url`, messages: ['must be an http(s) URL'] });
    });
    if (errors.length > 0) throw invalidParams(errors);
    return await inner(params, ctx);
  };
  action.paramChecks = [...(action.paramChecks ?? []), ATTACHMENT_CHECK];
  return action;
}

/** `created_date` as Unix seconds, as the seed's answers show it. */
export function withCreatedDate(record: Params): Params {
  const created = record.created_at;
  return { ...record, created_date: created instanceof Date ? Math.floor(created.getTime() / 1000) : null };
}

/**
 * `delete {_id}`: removes the record for good (the diary keeps no deleted dreams); for a user caller only their
 * own (Model.live carries the owner), else 404. `before` runs first with the id (a goal takes its tasks along).
 */
export function hardDelete(
  model: Model,
  before?: (id: ObjectId, ctx: Parameters<ActionDefinition['handler']>[1]) => Promise<void>,
): ActionDefinition {
  return defineAction({
    summary: `Delete a ${model.name} for good`,
    params: { _id: 'M object_id' },
    errors: ['not_found'],
    result: 'ok_result',
    handler: async ({ _id: id }, ctx) => {
      await model.loadOr404(ctx.db, id, { _id: 1 });
      if (before) await before(id, ctx);
      const deleted = await model.collection(ctx.db).deleteOne(model.live({ _id: id }));
      if (deleted.deletedCount === 0) throw apiError('record_not_found', { resource: model.name, id: id.toHexString() });
      return {};
    },
  });
}

/** The action, callable by internal services too (they see every user's records). */
export function alsoForServices(action: ActionDefinition): ActionDefinition {
  action.callers = ['user', 'service'];
  return action;
}
