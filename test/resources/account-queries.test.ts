import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';

// Counts the database commands one request issues (driver command monitoring): references are loaded in
// batches, never one query per row.
let t: TestService;
let someAccount: string;
beforeAll(async () => {
  t = await startTestService({ monitorCommands: true });
  const now = new Date();
  const groups = Array.from({ length: 5 }, (_, i) => ({
    _id: new ObjectId(),
    name: `g${i}`,
    state: 100,
    created_at: now,
    updated_at: now,
  }));
  await t.db.collection('group').insertMany(groups);
  const accounts = Array.from({ length: 150 }, (_, i) => ({
    _id: new ObjectId(),
    name: `a${i}`,
    phone: `150${String(i).padStart(8, '0')}`,
    state: 100,
    group_id: groups[i % 5]!._id,
    created_at: now,
    updated_at: now,
  }));
  await t.db.collection('account').insertMany(accounts);
  someAccount = accounts[7]!._id.toHexString();
});
afterAll(async () => {
  await t.close();
});

async function commandsOf(path: string, body: object) {
  t.commands.length = 0;
  const res = await t.call(path, body);
  expect(res.status).toBe(200);
  return {
    res,
    commands: t.commands.map((c) => ({ name: c.commandName, collection: c.command[c.commandName] as string, command: c.command })),
  };
}

describe('database commands per request', () => {
  it.each([10, 100])('account/find with limit %i issues exactly 2: find projected to {_id, name}, count', async (limit) => {
    const { res, commands } = await commandsOf('/account/find', { _meta: { limit } });
    expect(res.body.data).toHaveLength(limit);
    expect(Object.keys(res.body.data[0])).toEqual(['_id', 'name']);
    expect(commands.map((c) => `${c.name}:${c.collection}`).sort()).toEqual(['aggregate:account', 'find:account']);
    expect(commands.find((c) => c.name === 'find')!.command).toMatchObject({ limit: limit + 1, projection: { _id: 1, name: 1 } });
  });

  it.each([10, 30, 100])('account/find_detail with limit %i issues exactly 3: find, count, one $in for the groups', async (limit) => {
    const { res, commands } = await commandsOf('/account/find_detail', { _meta: { limit } });
    expect(res.body.data).toHaveLength(limit);
    expect(res.body.data[0].group_info).toEqual({ _id: expect.any(String), name: expect.stringMatching(/^g\d$/) });
    expect(commands.map((c) => `${c.name}:${c.collection}`).sort()).toEqual(['aggregate:account', 'find:account', 'find:group']);
    const accounts = commands.find((c) => c.name === 'find' && c.collection === 'account')!.command;
    // the whole page in the first reply: a batch of the limit, so the server closes the cursor (find-command.ts)
    expect(accounts).toMatchObject({
      limit: limit + 1,
      batchSize: limit + 1,
      projection: { _id: 1, name: 1, group_id: 1 },
      sort: { _id: -1 },
    });
    const groups = commands.find((c) => c.collection === 'group')!.command;
    expect(groups.projection).toEqual({ _id: 1, name: 1 });
    expect((groups.filter as { _id: { $in: unknown[] } })._id.$in).toHaveLength(5);
  });

  it('account/get issues 2: the account, then its group', async () => {
    const { commands } = await commandsOf('/account/get', { _id: someAccount });
    expect(commands.map((c) => `${c.name}:${c.collection}`)).toEqual(['find:account', 'find:group']);
  });

  it('account/select issues 1, reading only {_id, name}', async () => {
    const { res, commands } = await commandsOf('/account/select', {});
    expect(res.body.data).toHaveLength(150);
    expect(commands.map((c) => `${c.name}:${c.collection}`)).toEqual(['find:account']);
    expect(commands[0]!.command.projection).toEqual({ _id: 1, name: 1 });
  });
});

describe('database commands of batch_delete (reference checks batched)', () => {
  async function deleteCommands(count: number): Promise<string[]> {
    const now = new Date();
    const accounts = Array.from({ length: count }, (_, i) => ({
      _id: new ObjectId(),
      name: `del${i}`,
      phone: `del-${count}-${i}`,
      state: 100,
      created_at: now,
      updated_at: now,
    }));
    await t.db.collection('account').insertMany(accounts);
    const { res, commands } = await commandsOf('/account/batch_delete', { _ids: accounts.map((a) => a._id.toHexString()) });
    expect(res.body).toEqual({ ok: true, matched_count: count, modified_count: count });
    return commands.map((c) => `${c.name}:${c.collection}`);
  }

  it('issues the same commands for 1000 ids as for 2: mark, read the marks, one $in per referencing field, delete', async () => {
    const few = await deleteCommands(2);
    const many = await deleteCommands(1000);
    expect(few).toEqual(['update:account', 'find:account', 'distinct:wallet', 'update:account']);
    expect(many).toEqual(few);
  });
});
