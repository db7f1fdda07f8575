import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser, type DiaryUser } from '../helpers/diary.js';
import { startTestService, type TestService } from '../helpers/service.js';

let t: TestService;
let me: DiaryUser;

beforeAll(async () => {
  t = await startTestService({ monitorCommands: true });
  me = await registerUser(t);
});
afterAll(async () => {
  await t.close();
});

const ID = expect.stringMatching(/^[0-9a-f]{24}$/);

describe('dream', () => {
  it('creates a dream whose created_date reads in Unix seconds', async () => {
    const before = Math.floor(Date.now() / 1000);
    const created = await me.call('/dream/create', {
      name: 'Увидеть море',
      additional_data: 'Поехать летом в Крым',
      attachments: [{ kind: 'image', url: 'https://example.com/sea.jpg' }],
    });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({ _id: ID });
    const res = await me.call('/dream/get', { _id: created.body._id });
    expect(res.body).toEqual({
      _id: created.body._id,
      name: 'Увидеть море',
      additional_data: 'Поехать летом в Крым',
      attachments: [{ kind: 'image', url: 'https://example.com/sea.jpg' }],
      created_date: expect.any(Number),
    });
    expect(res.body.created_date).toBeGreaterThanOrEqual(before - 1);
    expect(res.body.created_date).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
  });

  it('refuses an attachment URL that is not http(s)', async () => {
    const res = await me.call('/dream/create', { name: 'x', attachments: [{ kind: 'link', url: 'javascript:alert(1)' }] });
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual([{ field: 'attachments[0].url', messages: ['must be an http(s) URL'] }]);
  });

  it('finds dreams by name__icontains, a page at a time', async () => {
    for (const name of ['Выучить японский', 'Выучить испанский', 'Пробежать марафон']) await me.call('/dream/create', { name });
    const res = await me.call('/dream/find', { name__icontains: 'выучить', _meta: { page: 1, limit: 1 } });
    expect(res.status).toBe(200);
    expect(res.body._meta).toEqual({ has_more: true, page: 1, page_size: 1, result_count: 2 });
    expect(res.body.data.map((d: { name: string }) => d.name)).toEqual(['Выучить испанский']);
  });

  it('updates only the given fields', async () => {
    const { body } = await me.call('/dream/create', { name: 'Old', additional_data: 'keep' });
    expect((await me.call('/dream/update', { _id: body._id, name: 'New' })).body).toEqual({ _id: body._id });
    const res = await me.call('/dream/get', { _id: body._id });
    expect([res.body.name, res.body.additional_data]).toEqual(['New', 'keep']);
  });

  it('deletes a dream for good', async () => {
    const { body } = await me.call('/dream/create', { name: 'Gone' });
    expect((await me.call('/dream/delete', { _id: body._id })).body).toEqual({ ok: true });
    expect((await me.call('/dream/get', { _id: body._id })).status).toBe(404);
    expect((await me.call('/dream/delete', { _id: body._id })).status).toBe(404);
  });
});

describe('the cost of a user caller', () => {
  it('is two commands per request besides the action’s own: the token lookup, the rate-limit counter', async () => {
    const { body } = await me.call('/dream/create', { name: 'Counted' });
    t.commands.length = 0;
    expect((await me.call('/dream/get', { _id: body._id })).status).toBe(200);
    expect(t.commands.map((c) => `${c.commandName} ${String(c.command[c.commandName])}`)).toEqual([
      'find user_tokens',
      'findAndModify rate_limits',
      'find dream',
    ]);
  });
});

describe('dream/make_goal and goal', () => {
  it('makes a goal from a dream: the name copied, the dream kept as dream_id', async () => {
    const dream = await me.call('/dream/create', { name: 'Построить дом' });
    const made = await me.call('/dream/make_goal', { _id: dream.body._id, due_date: '2027-06-01T00:00:00Z' });
    expect(made.status).toBe(200);
    const res = await me.call('/goal/get', { _id: made.body._id });
    expect(res.body).toEqual({
      _id: made.body._id,
      name: 'Построить дом',
      due_date: '2027-06-01T00:00:00.000Z',
      dream_id: dream.body._id,
      created_date: expect.any(Number),
      tasks: [],
    });
  });

  it('answers a goal with its tasks, oldest first, from one query for the tasks', async () => {
    const goal = await me.call('/goal/create', { name: 'Марафон' });
    for (const text of ['Купить кроссовки', 'Бегать 3 раза в неделю']) await me.call('/task/create', { goal_id: goal.body._id, text });
    t.commands.length = 0;
    const res = await me.call('/goal/get', { _id: goal.body._id });
    expect(res.body.tasks.map((task: { text: string; done: boolean }) => [task.text, task.done])).toEqual([
      ['Купить кроссовки', false],
      ['Бегать 3 раза в неделю', false],
    ]);
    expect(Object.keys(res.body.tasks[0]).sort()).toEqual(['_id', 'attachments', 'created_date', 'done', 'due_date', 'goal_id', 'text']);
    const taskReads = t.commands.filter((c) => c.commandName === 'find' && c.command.find === 'task');
    expect(taskReads).toHaveLength(1);
  });

  it('deletes a goal with its tasks', async () => {
    const goal = await me.call('/goal/create', { name: 'Temporary' });
    await me.call('/task/create', { goal_id: goal.body._id, text: 'a' });
    expect((await me.call('/goal/delete', { _id: goal.body._id })).body).toEqual({ ok: true });
    expect(await t.db.collection('task').countDocuments({ text: 'a' })).toBe(0);
  });
});

describe('task', () => {
  /** The _id of a new task, marked done. */
  async function doneTask(): Promise<string> {
    const goal = await me.call('/goal/create', { name: 'G' });
    const task = await me.call('/task/create', { goal_id: goal.body._id, text: 'T', due_date: '2027-01-01 10:00:00' });
    expect((await me.call('/task/mark_done', { _id: task.body._id })).body).toEqual({ ok: true });
    return task.body._id as string;
  }

  it('marks a task done, 409 when it already is', async () => {
    const again = await me.call('/task/mark_done', { _id: await doneTask() });
    expect(again.status).toBe(409);
  });

  it('marks a done task undone', async () => {
    expect((await me.call('/task/mark_undone', { _id: await doneTask() })).body).toEqual({ ok: true });
  });

  it('finds the tasks of one goal, a page at a time', async () => {
    const goal = await me.call('/goal/create', { name: 'Paged' });
    for (const text of ['1', '2', '3']) await me.call('/task/create', { goal_id: goal.body._id, text });
    const res = await me.call('/task/find', { goal_id: goal.body._id, _meta: { page: 2, limit: 2 } });
    expect(res.body._meta).toEqual({ has_more: false, page: 2, page_size: 2, result_count: 3 });
    expect(res.body.data.map((task: { text: string }) => task.text)).toEqual(['1']);
  });

  it('returns not_found for a task on a goal that does not exist', async () => {
    const res = await me.call('/task/create', { goal_id: '5da57976ce6d2a647d539af0', text: 'x' });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('refuses to move a task to another goal', async () => {
    const goal = await me.call('/goal/create', { name: 'G2' });
    const task = await me.call('/task/create', { goal_id: goal.body._id, text: 'T' });
    const res = await me.call('/task/update', { _id: task.body._id, goal_id: goal.body._id });
    expect(res.status).toBe(400);
  });
});
