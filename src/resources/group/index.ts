import { defineResource } from '../../core/resource.js';

/** Group states (enum<int>). */
export const GROUP_STATE = { active: 100, disabled: 200 } as const;

/** 组 — groups that accounts belong to (seed 004's `group_info`). */
export default defineResource({
  name: 'group',
  summary: '组：账号所属的组 (groups of accounts)',
  softDelete: true,
  fields: {
    name: { type: 'M string(1,64)', note: '组名称, unique' },
    state: { type: 'O enum<int>(100,200)', note: '100 active (default), 200 disabled' },
  },
  defaults: { state: GROUP_STATE.active },
  indexes: [
    { key: { name: 1 }, name: 'name_1', unique: true },
    { key: { state: 1, _id: -1 }, name: 'state_1__id_-1' },
    // _sort name / -name: the unique index alone leaves the _id tie-breaker to an in-memory sort
    { key: { name: 1, _id: 1 }, name: 'name_1__id_1' },
    { key: { created_at: -1, _id: -1 }, name: 'created_at_-1__id_-1' },
  ],
  actions: (std) => ({
    get: std.get({ result: 'group_detail' }),
    find: std.find({
      result: 'group_detail',
      filters: { name: ['eq', 'icontains'], state: ['eq', 'in'] },
      sortable: ['name', '_id', 'created_at'],
    }),
    select: std.select({ result: 'group_brief', filters: { state: ['eq'] } }),
    create: std.create(),
    update: std.update(),
    mark_delete: std.markDelete({ summary: 'Delete a group (soft); 409 while accounts that are not deleted still belong to it' }),
    mark_restore: std.markRestore(),
    batch_create: std.batchCreate(),
    batch_update: std.batchUpdate(),
    batch_delete: std.batchMarkDelete(),
  }),
});
