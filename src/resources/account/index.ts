import type { FilterDeclarationOf, ReadableOf, StandardActionsOf } from '../../core/declared-types.js';
import type { ActionDefinition } from '../../core/dispatch.js';
import { exportOf } from '../../core/export.js';
import type { ParamsDeclaration } from '../../core/params.js';
import { defineResource } from '../../core/resource.js';

/** Account states (enum<int>): 100 active, 200 disabled. */
export const ACCOUNT_STATE = { active: 100, disabled: 200 } as const;

const FIELDS = {
  name: { type: 'M string(1,64)', note: '用户名称' },
  phone: { type: 'M string(3,32)', note: '手机号, unique' },
  identity_card_id: { type: 'O string(4,32)', note: '身份证号, unique when present' },
  state: { type: 'M enum<int>(100,200)', note: '状态: 100 active, 200 disabled' },
  group_id: { type: 'O object_id', note: '所属组ID (a group that exists)' },
  labels: { type: 'O list<string(1,32)>(0,50)', note: '标签' },
} as const satisfies ParamsDeclaration;

const FIND_FILTERS = { name: ['eq', 'icontains'], state: ['eq', 'in'], group_id: ['eq'] } as const satisfies FilterDeclarationOf<
  ReadableOf<typeof FIELDS>
>;
const FIND_SORTABLE = ['name', '_id', 'created_at'] as const satisfies readonly ReadableOf<typeof FIELDS>[];

/** 账号 — the account resource of seed 004 (sections 1–9). */
export default defineResource({
  name: 'account',
  summary: '账号 (accounts)',
  softDelete: true,
  fields: FIELDS,
  references: { group_id: 'group' },
  indexes: [
    { key: { phone: 1 }, name: 'phone_1', unique: true },
    // unique only among accounts that have one: sparse (update removes the field for null, so null is never stored);
    // a partial index would say the same on MongoDB but the embedded server enforces it as a plain unique index
    { key: { identity_card_id: 1 }, name: 'identity_card_id_1', unique: true, sparse: true },
    { key: { group_id: 1, _id: -1 }, name: 'group_id_1__id_-1' },
    { key: { state: 1, _id: -1 }, name: 'state_1__id_-1' },
    // name = value sorted by _id, and _sort name / -name (the tie-breaker follows the field)
    { key: { name: 1, _id: 1 }, name: 'name_1__id_1' },
    { key: { created_at: -1, _id: -1 }, name: 'created_at_-1__id_-1' },
  ],
  actions: (std) =>
    withExport(std, {
      get: std.get({ result: 'account_detail' }),
      find_one: std.findOne({ result: 'account_detail', keys: ['phone', 'identity_card_id'] }),
      select: std.select({ result: 'account_list_item', filters: { state: ['eq'], group_id: ['eq'] } }),
      create: std.create(),
      update: std.update(),
      mark_disable: std.mark({ from: [ACCOUNT_STATE.active], to: ACCOUNT_STATE.disabled }),
      mark_enable: std.mark({ from: [ACCOUNT_STATE.disabled], to: ACCOUNT_STATE.active }),
      mark_delete: std.markDelete(),
      mark_restore: std.markRestore(),
      batch_create: std.batchCreate(),
      batch_update: std.batchUpdate(),
      batch_delete: std.batchMarkDelete(),
    }),
});

/**
 * account/find (the seed's list items, by name, state and group), account/find_detail (the same query answering
 * account_detail rows: a list whose group_info is loaded with one $in per page) and account/export of those rows.
 */
function withExport(std: StandardActionsOf<typeof FIELDS>, others: Record<string, ActionDefinition>): Record<string, ActionDefinition> {
  const find = std.find({ result: 'account_list_item', filters: FIND_FILTERS, sortable: FIND_SORTABLE });
  const detail = std.find({
    result: 'account_detail',
    filters: FIND_FILTERS,
    sortable: FIND_SORTABLE,
    summary: 'Find accounts like find, each row an account_detail with group_info',
  });
  return { ...others, find, find_detail: detail, export: exportOf(detail) };
}
