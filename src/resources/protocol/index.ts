import type { Document } from 'mongodb';
import { defineAction, type IndexOf } from '../../core/declared-types.js';
import type { ActionDefinition, ResourceDefinition } from '../../core/dispatch.js';
import { ApiError, isDuplicateKeyError } from '../../core/errors.js';
import { compileFilters } from '../../core/filters.js';
import type { Model } from '../../core/model.js';
import { META_PARAM, findPage, pageOf, sortParam } from '../../core/paging.js';
import type { ParamsDeclaration } from '../../core/params.js';
import { defineResource } from '../../core/resource.js';
import type { PublishingConfig } from '../../publishing/config.js';
import { INTERNAL_ID, containsText, dateSortOf, passports, requireEan13 } from '../passport/fields.js';
import { approveAction } from './approve.js';
import { APPROVED, FIRST_STAGE, PROTOCOL_COLLECTION, PROTOCOL_STATUS, SECOND_STAGE } from './names.js';
import { loadProtocol, protocolNotFound } from './lookup.js';

const ROW_FIELDS = {
  name: { type: 'M string(1,256)', note: 'what is checked' },
  value: { type: 'O string(0,1000)', note: 'measured value' },
  expected: { type: 'O string(0,1000)', note: 'required value or range' },
  passed: 'O bool',
  note: 'O string(0,1000)',
} as const satisfies ParamsDeclaration;
const STATUS_TYPE = `enum<str>(${PROTOCOL_STATUS.join(',')})` as const;

const FIELDS = {
  internal_id: INTERNAL_ID,
  passport_id: 'M object_id',
  protocol_name: 'O string(1,256)',
  rows: { type: 'M list<dict>(0,500)', fields: ROW_FIELDS },
  status: `M ${STATUS_TYPE}`,
  date: 'M datetime',
} as const satisfies ParamsDeclaration;
// save may move a protocol forward (or keep it); approval is only mark_approve
const SAVE_FROM: Record<typeof FIRST_STAGE | typeof SECOND_STAGE, string[]> = {
  [FIRST_STAGE]: [FIRST_STAGE],
  [SECOND_STAGE]: [FIRST_STAGE, SECOND_STAGE],
};

/**
 * Index use: get/save/approve/delete by `internal_id_1`; find's default and date-range walk `date_-1__id_-1`,
 * `status` uses `status_1_date_-1__id_-1`; pending uses `status_1_date_-1__id_-1` too (a range of dates per status).
 */
const INDEXES: IndexOf<typeof FIELDS>[] = [
  { key: { internal_id: 1 }, name: 'internal_id_1', unique: true },
  { key: { date: -1, _id: -1 }, name: 'date_-1__id_-1' },
  { key: { status: 1, date: -1, _id: -1 }, name: 'status_1_date_-1__id_-1' },
];

/** ОТК — quality-control protocols of seed 000 (one per unit), approved before the passport is published. */
export function protocolResource(config: Pick<PublishingConfig, 'pendingAfterMs'>): ResourceDefinition {
  return defineResource({
    name: 'protocol',
    summary: 'quality-control (ОТК) protocols of units, seed 000 (Feecc)',
    titleZh: '质检记录',
    collection: PROTOCOL_COLLECTION,
    fields: FIELDS,
    indexes: INDEXES,
    actions: (std) => ({
      save: saveAction(std.model),
      get: defineAction({
        summary: 'Get the protocol of a unit by its internal_id',
        params: { internal_id: INTERNAL_ID },
        result: 'protocol_detail',
        envelope: 'object_result',
        handler: async ({ internal_id }, ctx) => await loadProtocol(ctx.db, std.model, requireEan13(internal_id)),
      }),
      find: findAction(std.model),
      types: {
        summary: 'The protocol statuses, in order',
        titleZh: '质检记录状态',
        params: {},
        result: 'protocol_types',
        envelope: 'object_result',
        handler: async () => ({ data: [...PROTOCOL_STATUS] }),
      },
      pending: {
        titleZh: '质检记录待审',
        summary:
          'Protocols created longer ago than PROTOCOL_PENDING_AFTER_MS (default 2 days) and not approved: {count, pending: [_id]}, oldest first',
        params: {},
        result: 'protocol_pending',
        envelope: 'object_result',
        handler: async (_params, ctx) => {
          const before = new Date(Date.now() - config.pendingAfterMs);
          const rows = await std.model
            .collection(ctx.db)
            .find({ status: { $in: [FIRST_STAGE, SECOND_STAGE] }, date: { $lt: before } }, { projection: { _id: 1 } })
            .sort({ date: 1, _id: 1 })
            .toArray();
          return { count: rows.length, pending: rows.map((row) => row._id) };
        },
      },
      mark_approve: approveAction(std.model),
      delete: defineAction({
        titleZh: '质检记录删除',
        summary: 'Delete the protocol of a unit (an approved protocol can only be changed by deleting it and saving a new one)',
        params: { internal_id: INTERNAL_ID },
        result: 'ok_result',
        envelope: 'ok_result',
        handler: async ({ internal_id }, ctx) => {
          const result = await std.model.collection(ctx.db).deleteOne({ internal_id: requireEan13(internal_id) });
          if (result.deletedCount === 0) throw protocolNotFound(internal_id);
          return {};
        },
      }),
    }),
  });
}

function saveAction(model: Model): ActionDefinition {
  return defineAction({
    titleZh: '质检记录保存',
    summary: 'Create the protocol of a unit or change it; an approved protocol cannot change (409) until deleted',
    params: {
      internal_id: INTERNAL_ID,
      protocol_name: 'O string(1,256)',
      rows: { type: 'M list<dict>(0,500)', fields: ROW_FIELDS, note: 'the checks' },
      status: { type: `M enum<str>(${FIRST_STAGE},${SECOND_STAGE})`, note: 'approval is mark_approve' },
    },
    result: 'generic_summary',
    envelope: 'object_result',
    handler: async ({ internal_id, protocol_name, rows, status }, ctx) => {
      const passport = await passports(ctx.db).findOne(
        { internal_id: requireEan13(internal_id), deleted_at: null },
        { projection: { _id: 1 } },
      );
      if (!passport)
        throw new ApiError('not_found', {
          message: `no passport with internal_id ${String(internal_id)}`,
          fields: [{ field: 'internal_id', messages: ['no passport with this internal_id'] }],
        });
      const fields: Document = { rows, status, ...(protocol_name === undefined ? {} : { protocol_name }) };
      const collection = model.collection(ctx.db);
      // a save racing another first save of the same unit loses the insert and edits what the other created
      for (let attempt = 0; attempt < 2; attempt++) {
        const existing = await collection.findOne({ internal_id }, { projection: { _id: 1, status: 1 } });
        if (existing) {
          const from = SAVE_FROM[status];
          await model.updateChecked(ctx.db, { _id: existing._id, status: { $in: from } }, { $set: fields }, (record) =>
            saveConflict(record.status as string, status),
          );
          return { _id: existing._id };
        }
        try {
          const _id = await model.insert(ctx.db, { internal_id, passport_id: passport._id, date: new Date(), ...fields });
          // the passport deleted while we wrote: take the protocol back
          if (!(await passports(ctx.db).findOne({ _id: passport._id, deleted_at: null }, { projection: { _id: 1 } }))) {
            await collection.deleteOne({ _id });
            throw new ApiError('not_found', {
              message: `no passport with internal_id ${String(internal_id)}`,
              fields: [{ field: 'internal_id', messages: ['no passport with this internal_id'] }],
            });
          }
          return { _id };
        } catch (err) {
          if (!isDuplicateKeyError(err) || attempt > 0) throw err;
        }
      }
      throw new ApiError('conflict');
    },
  });
}

function saveConflict(current: string, wanted: string): ApiError {
  const approved = current === APPROVED;
  return new ApiError('conflict', {
    message: approved
      ? 'the protocol is approved and cannot change; delete it and save a new one'
      : `the protocol is at "${current}"; it cannot go back to "${wanted}"`,
    zhMessage: '当前状态不允许此操作',
    fields: [{ field: 'status', messages: [`is "${current}"`] }],
  });
}

function findAction(model: Model): ActionDefinition {
  const filters = compileFilters({ status: ['eq'], date: ['gte', 'lt'] }, { status: STATUS_TYPE, date: 'datetime' });
  return defineAction({
    summary:
      'Find protocols a page at a time: status, name (protocol name or the unit serial number), date range; sort by date (default newest first)',
    params: {
      _meta: META_PARAM,
      _sort: sortParam(['date']),
      name: { type: 'O string(1,200)', note: "case-insensitive substring of the protocol name or of the unit's serial number" },
      ...filters.params,
    },
    result: 'protocol_find_item',
    envelope: 'result_set_with_meta',
    // name is a substring of the protocol name or of a unit's serial number: read in date order
    queries: { equality: ['status'], ranges: ['date'], sorts: [{ date: -1, _id: -1 }], scanned: ['name'] },
    handler: async (params, ctx) => {
      const sort = dateSortOf(params._sort);
      const query: Document = filters.toQuery(params);
      if (params.name !== undefined) {
        const regex = containsText(params.name);
        // the serial number lives on the passport: the matching units first, then their protocols
        const units = await passports(ctx.db)
          .find({ serial_number: regex, deleted_at: null }, { projection: { _id: 1 } })
          .toArray();
        query.$or = [{ protocol_name: regex }, { passport_id: { $in: units.map((u) => u._id) } }];
      }
      return await findPage(model.collection(ctx.db), query, {
        ...pageOf(params),
        sort,
        ...(ctx.resultProjection ? { projection: ctx.resultProjection } : {}),
      });
    },
  });
}
