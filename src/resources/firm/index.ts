import { defineResource } from '../../core/resource.js';

/** Firm states (enum<int>): 100 active, 200 disabled. */
export const FIRM_STATE = { active: 100, disabled: 200 } as const;

/** Firma — the firms of seed 001's examples (`firms(name_Icontains: "Testowa")`); merchandise belongs to one. */
export default defineResource({
  name: 'firm',
  summary: 'Firmy (firms)',
  titleZh: '公司',
  softDelete: true,
  fields: {
    name: { type: 'M string(1,128)', note: 'nazwa firmy' },
    nip: { type: 'O string(10,10)', note: 'NIP (tax id), 10 digits' },
    address_string: { type: 'O string(0,255)', note: 'adres' },
    state: { type: 'O enum<int>(100,200)', note: '100 active (default), 200 disabled' },
  },
  defaults: { state: FIRM_STATE.active },
  indexes: [
    { key: { name: 1, _id: 1 }, name: 'name_1__id_1' },
    { key: { nip: 1, _id: -1 }, name: 'nip_1__id_-1' },
    { key: { state: 1, _id: -1 }, name: 'state_1__id_-1' },
    { key: { created_at: -1, _id: -1 }, name: 'created_at_-1__id_-1' },
  ],
  actions: (std) => ({
    get: std.get({ result: 'firm' }),
    find: std.find({
      result: 'firm',
      filters: {
        name: ['eq', 'icontains', 'istartswith', 'iendswith'],
        nip: ['eq', 'isnull'],
        state: ['eq', 'in'],
        created_at: ['gte', 'lte'],
      },
      sortable: ['name', '_id', 'created_at'],
    }),
    create: std.create(),
    update: std.update(),
    mark_disable: std.mark({ from: [FIRM_STATE.active], to: FIRM_STATE.disabled }),
    mark_enable: std.mark({ from: [FIRM_STATE.disabled], to: FIRM_STATE.active }),
    mark_delete: std.markDelete({ summary: 'Delete a firm (soft); 409 while merchandise still names it' }),
  }),
});
