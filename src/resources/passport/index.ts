import type { Document } from 'mongodb';
import { defineAction, omitParams, optionalParams, paramNames, type IndexOf } from '../../core/declared-types.js';
import type { ActionDefinition } from '../../core/dispatch.js';
import { invalidParams } from '../../core/errors.js';
import { compileFilters } from '../../core/filters.js';
import type { Model } from '../../core/model.js';
import { META_PARAM, findPage, pageOf, sortParam } from '../../core/paging.js';
import { defineResource } from '../../core/resource.js';
import { PROTOCOL_COLLECTION } from '../protocol/names.js';
import {
  EDITABLE_STATUSES,
  INTERNAL_ID,
  PASSPORT_COLLECTION,
  PASSPORT_FIELDS,
  PASSPORT_STATUS,
  containsText,
  dateSortOf,
  ean13Errors,
  loadPassport,
  requireEan13,
  statusConflict,
} from './fields.js';
import { addStageAction, newStages, updateSerialAction } from './stages.js';
import { cancelRevisionAction, markRevisionAction } from './revisions.js';

/** Fields no caller writes: the status moves through actions, the CID and ledger hash come from publishing. */
const MANAGED = ['status', 'passport_ipfs_cid', 'txn_hash', 'biography'] as const;
/** Fields update may not change (issue 12; the real Feecc PATCH refuses them too). */
const IMMUTABLE = ['uuid', 'internal_id', 'is_in_db', 'featured_in_int_id'] as const;

/**
 * Index use of passport/find (every query also carries `deleted_at: null`, checked on the fetched rows):
 * the default sort and a date range walk `date_-1__id_-1` (either direction); `status` uses `status_1_date_-1__id_-1`
 * and `type__in` `type_1_date_-1__id_-1` (one sorted run per type, merged); `name` is an unanchored
 * case-insensitive substring, which no b-tree index can seek, so it filters rows along the sort index.
 */
const INDEXES: IndexOf<typeof PASSPORT_FIELDS>[] = [
  { key: { internal_id: 1 }, name: 'internal_id_1', unique: true },
  { key: { uuid: 1 }, name: 'uuid_1', unique: true },
  // unique among passports that have one: sparse (update removes the field for null, so null is never stored)
  { key: { serial_number: 1 }, name: 'serial_number_1', unique: true, sparse: true },
  { key: { date: -1, _id: -1 }, name: 'date_-1__id_-1' },
  { key: { status: 1, date: -1, _id: -1 }, name: 'status_1_date_-1__id_-1' },
  { key: { type: 1, date: -1, _id: -1 }, name: 'type_1_date_-1__id_-1' },
];

/** 产品护照 — product passports (certificates) of seed 000 (Feecc Analytics). */
export default defineResource({
  name: 'passport',
  collection: PASSPORT_COLLECTION,
  summary: 'product passports (certificates) of built units, seed 000 (Feecc)',
  titleZh: '产品护照',
  softDelete: true,
  fields: PASSPORT_FIELDS,
  indexes: INDEXES,
  actions: (std) => ({
    create: createAction(std.model),
    get: defineAction({
      summary: 'Get one passport by internal_id (every seed field; absent ones are null)',
      params: { internal_id: INTERNAL_ID },
      result: 'passport_detail',
      envelope: 'object_result',
      handler: async ({ internal_id }, ctx) => await loadPassport(ctx.db, requireEan13(internal_id), ctx.resultProjection),
    }),
    find: findAction(std.model),
    types: {
      summary: 'Every distinct type of the live passports, sorted',
      titleZh: '产品护照类型',
      params: {},
      result: 'passport_types',
      envelope: 'object_result',
      handler: async (_params, ctx) => {
        const types = await std.model.collection(ctx.db).distinct('type', std.model.live({ type: { $type: 'string' } }));
        return { data: (types as string[]).sort() };
      },
    },
    update: updateAction(std.model),
    add_stage: addStageAction(std.model),
    update_serial: updateSerialAction(std.model),
    mark_revision: markRevisionAction(std.model),
    cancel_revision: cancelRevisionAction(std.model),
    mark_delete: defineAction({
      summary: 'Delete a passport (soft: it and its protocol disappear from every read)',
      params: { internal_id: INTERNAL_ID },
      result: 'ok_result',
      envelope: 'ok_result',
      handler: async ({ internal_id }, ctx) => {
        const passport = await loadPassport(ctx.db, requireEan13(internal_id), { _id: 1 });
        await std.model.updateChecked(ctx.db, { _id: passport._id }, { $set: { deleted_at: new Date() } });
        await ctx.db.collection(PROTOCOL_COLLECTION).deleteMany({ internal_id });
        return {};
      },
    }),
  }),
});

function createAction(model: Model): ActionDefinition {
  const params = {
    ...omitParams(PASSPORT_FIELDS, ['passport_ipfs_cid', 'txn_hash', 'status']),
    date: { type: 'O datetime', note: 'issue date (default: now)' },
    status: { type: 'O enum<str>(production,built)', note: 'a new passport starts in production unless built is given' },
  } as const;
  return defineAction({
    summary: 'Create a passport (the seed passport object); starts in production unless status built is given',
    params,
    result: 'generic_summary',
    envelope: 'object_result',
    handler: async (given, ctx) => {
      const components = given.components_internal_ids ?? [];
      const errors = ean13Errors({
        internal_id: given.internal_id,
        featured_in_int_id: given.featured_in_int_id,
        ...Object.fromEntries(components.map((id, i) => [`components_internal_ids[${i}]`, id])),
      });
      if (errors.length > 0) throw invalidParams(errors);
      const doc: Document = { ...given, status: given.status ?? 'production', date: given.date ?? new Date() };
      doc.biography = newStages(given.biography ?? [], [], 'biography');
      return { _id: await model.insert(ctx.db, doc) };
    },
  });
}

function findAction(model: Model): ActionDefinition {
  const filters = compileFilters(
    { status: ['eq'], date: ['gte', 'lt'], type: ['in'] },
    { status: `enum<str>(${PASSPORT_STATUS.join(',')})`, date: 'datetime', type: 'string(1,128)' },
  );
  const sortable = ['date'];
  return defineAction({
    summary:
      'Find passports a page at a time: status, name (model, short url or uuid), date range, types; sort by date (default newest first)',
    params: {
      _meta: META_PARAM,
      _sort: sortParam(sortable),
      name: { type: 'O string(1,200)', note: 'case-insensitive substring of the model name, passport_short_url or uuid' },
      ...filters.params,
    },
    result: 'passport_find_item',
    envelope: 'result_set_with_meta',
    // name is a substring of one of three fields: no index finds it, the records are read in date order
    queries: { equality: ['status', 'type'], ranges: ['date'], sorts: [{ date: -1, _id: -1 }], scanned: ['name'] },
    handler: async (params, ctx) => {
      const sort = dateSortOf(params._sort);
      const query: Document = model.live(filters.toQuery(params));
      if (params.name !== undefined) {
        const regex = containsText(params.name);
        query.$or = [{ model: regex }, { passport_short_url: regex }, { uuid: regex }];
      }
      return await findPage(model.collection(ctx.db), query, {
        ...pageOf(params),
        sort,
        ...(ctx.resultProjection ? { projection: ctx.resultProjection } : {}),
      });
    },
  });
}

function updateAction(model: Model): ActionDefinition {
  const editable = optionalParams(omitParams(PASSPORT_FIELDS, [...MANAGED, ...IMMUTABLE]));
  const params = { internal_id: INTERNAL_ID, ...editable };
  return defineAction({
    summary: `Change the given fields of a passport (${IMMUTABLE.join(', ')} never change; status only through actions; null removes an optional field)`,
    params,
    rules: [{ atLeastOne: paramNames(editable) }],
    result: 'generic_summary',
    envelope: 'object_result',
    handler: async ({ internal_id, ...changes }, ctx) => {
      const components = changes.components_internal_ids ?? [];
      const errors = ean13Errors({ internal_id, ...Object.fromEntries(components.map((id, i) => [`components_internal_ids[${i}]`, id])) });
      if (errors.length > 0) throw invalidParams(errors);
      const $set: Document = {};
      const $unset: Document = {};
      for (const [field, value] of Object.entries(changes)) {
        if (value === null) $unset[field] = '';
        else $set[field] = value;
      }
      const passport = await loadPassport(ctx.db, internal_id, { _id: 1 });
      const update: Document = Object.keys($unset).length > 0 ? { $set, $unset } : { $set };
      await model.updateChecked(ctx.db, { _id: passport._id, status: { $in: EDITABLE_STATUSES } }, update, (record) =>
        statusConflict(record.status, EDITABLE_STATUSES, 'update'),
      );
      return { _id: passport._id };
    },
  });
}
