import type { IndexDescription } from 'mongodb';
import { describe, expect, it } from 'vitest';
import type { ResourceDefinition } from '../../src/core/dispatch.js';
import { planFind, planFinds, type FindQueries } from '../../src/core/find-indexes.js';
import { AUDIT_COLLECTION, AUDIT_INDEXES } from '../../src/payments/audit.js';
import { TX_COLLECTION, TX_INDEXES } from '../../src/payments/collections.js';
import { createResources } from '../../src/resources/index.js';

// Every find and its sort backed by a declared index on MongoDB (issue 10 item 4; docs/counts.md). Each find's
// queries — every sort alone, every filter alone with the default sort — and the declared index that serves it.
// A new find, filter or sort changes this list; one no index serves shows null and fails the second test.

/** The indexes the payment engine makes for the collections it owns. */
const ENGINE_INDEXES: Record<string, IndexDescription[]> = { [TX_COLLECTION]: TX_INDEXES, [AUDIT_COLLECTION]: AUDIT_INDEXES };

/** The indexes declared for a resource's collection: its own, and the payment engine's. */
function declaredIndexes(resource: ResourceDefinition): IndexDescription[] {
  return [...resource.indexes, ...(ENGINE_INDEXES[resource.model.collectionName] ?? [])];
}

function planByFind(): Record<string, Record<string, string | null>> {
  const plan: Record<string, Record<string, string | null>> = {};
  for (const line of planFinds(createResources(), declaredIndexes)) {
    plan[line.find] = { ...plan[line.find], [line.query]: line.index };
  }
  return plan;
}

const EXPECTED: Record<string, Record<string, string>> = {
  'group/find': {
    'sort -_id': '_id_',
    'sort name,_id': 'name_1__id_1',
    'sort created_at,_id': 'created_at_-1__id_-1',
    'name = value, sort -_id': 'name_1__id_1',
    'state = value, sort -_id': 'state_1__id_-1',
  },
  'account/find': {
    'sort -_id': '_id_',
    'sort name,_id': 'name_1__id_1',
    'sort created_at,_id': 'created_at_-1__id_-1',
    'name = value, sort -_id': 'name_1__id_1',
    'state = value, sort -_id': 'state_1__id_-1',
    'group_id = value, sort -_id': 'group_id_1__id_-1',
  },
  'account/find_detail': {
    'sort -_id': '_id_',
    'sort name,_id': 'name_1__id_1',
    'sort created_at,_id': 'created_at_-1__id_-1',
    'name = value, sort -_id': 'name_1__id_1',
    'state = value, sort -_id': 'state_1__id_-1',
    'group_id = value, sort -_id': 'group_id_1__id_-1',
  },
  'wallet/find': {
    'sort -_id': '_id_',
    'sort created_at,_id': 'created_at_-1__id_-1',
    'sort balance_money,_id': 'balance_money_1__id_1',
    'account_id = value, sort -_id': 'account_id_1',
    'state = value, sort -_id': 'state_1__id_-1',
  },
  'wallet_transaction/find': {
    'sort -_id': '_id_',
    'sort created_at,_id': 'created_at_-1__id_-1',
    'wallet_id = value, sort -_id': 'wallet_id_1__id_-1',
    'to_wallet_id = value, sort -_id': 'to_wallet_id_1__id_-1',
    'type = value, sort -_id': 'type_1__id_-1',
    'state = value, sort -_id': 'state_1__id_-1',
    'out_trade_no = value, sort -_id': 'out_trade_no_1',
    'refund_of = value, sort -_id': 'refund_of_1__id_-1',
    'created_at range/text, sort -_id': 'created_at_-1__id_-1',
  },
  'wallet_audit/find': {
    'sort -_id': '_id_',
    'sort seq,_id': 'seq_1__id_1',
    'sort at,_id': 'at_-1__id_-1',
    'wallet_id = value, sort -_id': 'wallet_id_1__id_-1',
    'tx_id = value, sort -_id': 'tx_id_1__id_-1',
    'action = value, sort -_id': 'action_1__id_-1',
    'who = value, sort -_id': 'who_1__id_-1',
    'at range/text, sort -_id': 'at_-1__id_-1',
  },
  'passport/find': {
    'sort -date,-_id': 'date_-1__id_-1',
    'status = value, sort -date,-_id': 'status_1_date_-1__id_-1',
    'type = value, sort -date,-_id': 'type_1_date_-1__id_-1',
    'date range/text, sort -date,-_id': 'date_-1__id_-1',
    'name (scanned in sort order)': 'date_-1__id_-1',
  },
  'protocol/find': {
    'sort -date,-_id': 'date_-1__id_-1',
    'status = value, sort -date,-_id': 'status_1_date_-1__id_-1',
    'date range/text, sort -date,-_id': 'date_-1__id_-1',
    'name (scanned in sort order)': 'date_-1__id_-1',
  },
  'stock_in/find': {
    'sort -operate_date,-_id': 'operate_date_-1__id_-1',
    'batch_id = value, sort -operate_date,-_id': 'batch_id_1_operate_date_-1__id_-1',
    'creator_id = value, sort -operate_date,-_id': 'creator_id_1_operate_date_-1__id_-1',
    'operate_date range/text, sort -operate_date,-_id': 'operate_date_-1__id_-1',
  },
  'firm/find': {
    'sort -_id': '_id_',
    'sort name,_id': 'name_1__id_1',
    'sort created_at,_id': 'created_at_-1__id_-1',
    'name = value, sort -_id': 'name_1__id_1',
    'nip = value, sort -_id': 'nip_1__id_-1',
    'state = value, sort -_id': 'state_1__id_-1',
    'created_at range/text, sort -_id': 'created_at_-1__id_-1',
  },
  'merchandise/find': {
    'sort -_id': '_id_',
    'sort display_name,_id': 'display_name_1__id_1',
    'sort created_at,_id': 'created_at_-1__id_-1',
    'display_name = value, sort -_id': 'display_name_1__id_1',
    'firm_id = value, sort -_id': 'firm_id_1__id_-1',
    'supplier_id = value, sort -_id': 'supplier_id_1__id_-1',
    'default_address_postalcode = value, sort -_id': 'default_address_postalcode_1__id_-1',
    'created_at range/text, sort -_id': 'created_at_-1__id_-1',
  },
  'user/find': {
    'sort -_id': '_id_',
    'sort created_at,_id': 'created_at_1__id_1',
    'username = value, sort -_id': 'username_1',
    'email = value, sort -_id': 'email_1__id_-1',
  },
  'dream/find': {
    'sort -_id': '_id_',
    'sort created_at,_id': 'created_at_1__id_1',
    'name range/text, sort -_id': 'name_1',
  },
  'goal/find': {
    'sort -_id': '_id_',
    'sort due_date,_id': 'due_date_1__id_1',
    'dream_id = value, sort -_id': 'dream_id_1__id_-1',
    'name range/text, sort -_id': 'name_1',
  },
  'task/find': {
    'sort -_id': '_id_',
    'sort due_date,_id': 'due_date_1__id_1',
    'goal_id = value, sort -_id': 'goal_id_1__id_-1',
    'done = value, sort -_id': 'done_1__id_-1',
  },
};

describe('the declared index behind each query of each find', () => {
  it('lists every find’s filters, sorts, with the index serving each', () => {
    expect(planByFind()).toEqual(EXPECTED);
  });

  it('leaves no query of a find without an index', () => {
    const unserved = Object.entries(planByFind()).flatMap(([find, queries]) =>
      Object.entries(queries)
        .filter(([, index]) => index === null)
        .map(([query]) => `${find}: ${query}`),
    );
    expect(unserved).toEqual([]);
  });
});

describe('planFind', () => {
  const queries: FindQueries = { equality: ['group_id'], ranges: ['created_at'], sorts: [{ _id: -1 }, { name: 1, _id: 1 }] };

  it('finds no index for a sort whose tie-breaker runs against the index, nor for a filter without one', () => {
    const indexes: IndexDescription[] = [
      { key: { name: 1, _id: -1 }, name: 'name_1__id_-1' },
      { key: { group_id: 1 }, name: 'group_id_1' },
    ];
    expect(planFind('x/find', queries, indexes)).toEqual([
      { find: 'x/find', query: 'sort -_id', index: '_id_' },
      { find: 'x/find', query: 'sort name,_id', index: null },
      { find: 'x/find', query: 'group_id = value, sort -_id', index: null },
      { find: 'x/find', query: 'created_at range/text, sort -_id', index: null },
    ]);
  });

  it('takes an index in either direction, the equality field first, a range field as its first key', () => {
    const indexes: IndexDescription[] = [
      { key: { name: -1, _id: -1 }, name: 'name_-1__id_-1' },
      { key: { group_id: 1, _id: 1 }, name: 'group_id_1__id_1' },
      { key: { created_at: 1 }, name: 'created_at_1' },
    ];
    expect(planFind('x/find', queries, indexes).map((line) => line.index)).toEqual([
      '_id_',
      'name_-1__id_-1',
      'group_id_1__id_1',
      'created_at_1',
    ]);
  });

  it('takes the unique index of a field for a value of it, which matches one record at most', () => {
    const indexes: IndexDescription[] = [{ key: { group_id: 1 }, name: 'group_id_1', unique: true }];
    expect(planFind('x/find', { ...queries, sorts: [{ _id: -1 }] }, indexes)[1]).toEqual({
      find: 'x/find',
      query: 'group_id = value, sort -_id',
      index: 'group_id_1',
    });
  });

  it('says which find states no queries', () => {
    const [resource] = createResources();
    const find = { ...Object.values(resource!.actions).find((action) => action.envelope === 'result_set_with_meta')! };
    delete find.queries;
    expect(planFinds([{ ...resource!, name: 'bare', actions: { find } }], () => [])).toEqual([
      { find: 'bare/find', query: 'queries not declared', index: null },
    ]);
  });
});
