import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';

// Issue 10's target: the database commands of a read stay fixed, whatever the page size — `get` = 1 + one per
// ref field, `find` = 2 (page, count) + one per ref field. The expected number is read from the action's result
// schema (its object_ref fields), the sent commands from the driver's command monitoring. Every stored record
// has each ref filled, with distinct targets per row, so a loader that asked per row would show.
const ROWS = 101;

let t: TestService;
const firstOf = new Map<string, string>();

beforeAll(async () => {
  t = await startTestService({ monitorCommands: true });
  const now = new Date();
  const stamp = { created_at: now, updated_at: now };
  const groups = Array.from({ length: ROWS }, (_, i) => ({ _id: new ObjectId(), name: `g${i}`, state: 100, ...stamp }));
  const firms = Array.from({ length: 2 * ROWS }, (_, i) => ({ _id: new ObjectId(), name: `firm ${i}`, ...stamp }));
  const accounts = groups.map((group, i) => ({
    _id: new ObjectId(),
    name: `a${i}`,
    phone: `151${String(i).padStart(8, '0')}`,
    state: 100,
    group_id: group._id,
    ...stamp,
  }));
  const merchandise = Array.from({ length: ROWS }, (_, i) => ({
    _id: new ObjectId(),
    display_name: `towar ${i}`,
    firm_id: firms[2 * i]!._id,
    supplier_id: firms[2 * i + 1]!._id,
    ...stamp,
  }));
  const wallets = accounts.map((account) => ({
    _id: new ObjectId(),
    account_id: account._id,
    state: 100,
    balance_money: 0,
    frozen_money: 0,
    pending_transactions: [],
    ...stamp,
  }));
  await t.db.collection('group').insertMany(groups);
  await t.db.collection('firm').insertMany(firms);
  await t.db.collection('account').insertMany(accounts);
  await t.db.collection('merchandise').insertMany(merchandise);
  await t.db.collection('wallet').insertMany(wallets);
  const transactions = wallets.map((wallet, i) => ({
    wallet_id: wallet._id,
    out_trade_no: `tx-${i}`,
    type: 'recharge',
    state: 'done',
    money: i + 1,
    ...stamp,
  }));
  await t.db.collection('wallet_transaction').insertMany(transactions);
  firstOf.set('account', accounts[3]!._id.toHexString());
  firstOf.set('merchandise', merchandise[3]!._id.toHexString());
  firstOf.set('wallet', wallets[3]!._id.toHexString());
});
afterAll(async () => {
  await t.close();
});

/** The object_ref fields of an action's result schema; their targets carry none themselves (one level). */
function refFieldsOf(resource: string, action: string): string[] {
  const schema = t.service.actions.lookup(resource, action)?.schema;
  if (!schema) throw new Error(`${resource}/${action} is not in the action table`);
  const refs = schema.fields.filter((f) => f.type === 'object_ref');
  for (const ref of refs) {
    const target = t.service.actions.schemas.get(ref.schema as string);
    expect(
      target?.fields.some((f) => f.type === 'object_ref'),
      `${ref.schema} has refs of its own`,
    ).toBe(false);
  }
  return refs.map((f) => f.name);
}

async function commandsOf(path: string, body: object): Promise<{ body: Record<string, unknown>; commands: string[] }> {
  t.commands.length = 0;
  const res = await t.call(path, body);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { body: res.body, commands: t.commands.map((c) => `${c.commandName}:${String(c.command[c.commandName])}`) };
}

const GETS = [
  ['account', 'get', 'group'],
  ['merchandise', 'get', 'firm'],
  ['wallet', 'get', 'account'],
] as const;

const FINDS = [
  ['account', 'find', []],
  ['account', 'find_detail', ['group']],
  ['merchandise', 'find', ['firm', 'firm']],
  ['wallet', 'find', ['account']],
] as const;

describe('database commands per get: 1 + one per ref field', () => {
  it.each(GETS)('%s/%s sends one find for the record plus one per ref field', async (resource, action, target) => {
    const refs = refFieldsOf(resource, action);
    expect(refs.length).toBeGreaterThan(0);
    const { body, commands } = await commandsOf(`/${resource}/${action}`, { _id: firstOf.get(resource) });
    for (const ref of refs) expect(body[ref], ref).toEqual(expect.objectContaining({ _id: expect.any(String) }));
    expect(commands).toEqual([`find:${resource}`, ...refs.map(() => `find:${target}`)]);
  });
});

describe('database commands per find: 2 + one per ref field, whatever the page size', () => {
  for (const [resource, action, targets] of FINDS) {
    it.each([1, 30, 100])(`${resource}/${action} with limit %i sends the page, its count, one $in per ref field`, async (limit) => {
      const refs = refFieldsOf(resource, action);
      expect(refs).toHaveLength(targets.length);
      const { body, commands } = await commandsOf(`/${resource}/${action}`, { _meta: { limit } });
      const rows = body.data as Array<Record<string, unknown>>;
      expect(rows).toHaveLength(limit);
      for (const ref of refs) expect(rows.every((row) => row[ref] !== null)).toBe(true);
      const expected = [`find:${resource}`, `aggregate:${resource}`, ...targets.map((target) => `find:${target}`)];
      expect(commands.sort()).toEqual(expected.sort());
    });
  }
});

describe('database commands per find under a count policy, whatever the page size', () => {
  it.each([1, 30, 100])(
    'wallet_transaction/find (count up to 10 000) with limit %i sends the page plus one capped count',
    async (limit) => {
      expect(refFieldsOf('wallet_transaction', 'find')).toEqual([]);
      const { body, commands } = await commandsOf('/wallet_transaction/find', { _meta: { limit } });
      expect(body._meta).toEqual({ has_more: true, page: 1, page_size: limit, result_count: ROWS, result_count_is: 'exact' });
      expect(commands.sort()).toEqual(['aggregate:wallet_transaction', 'find:wallet_transaction']);
    },
  );
});
