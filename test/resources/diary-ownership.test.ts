import { ObjectId, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser, type DiaryUser } from '../helpers/diary.js';
import { startTestService, type TestService } from '../helpers/service.js';

// Issue 13's ownership suite: user B tries every action of every owned resource on user A's ids and learns
// nothing — 404 for every id (existence not revealed), nothing of A's in a find — and A's data stays as it was.
let t: TestService;
let alice: DiaryUser;
let bob: DiaryUser;
const ids = { dream: '', goal: '', task: '' };
let aliceId: ObjectId;

beforeAll(async () => {
  t = await startTestService();
  alice = await registerUser(t, 'alice');
  bob = await registerUser(t, 'bob');
  aliceId = (await t.db.collection('user').findOne({ username: 'alice' }))?._id as ObjectId;
  ids.dream = (
    await alice.call('/dream/create', { name: 'Alice secret dream', attachments: [{ kind: 'link', url: 'https://example.com/a' }] })
  ).body._id;
  ids.goal = (await alice.call('/dream/make_goal', { _id: ids.dream, due_date: '2027-01-01T00:00:00Z' })).body._id;
  ids.task = (await alice.call('/task/create', { goal_id: ids.goal, text: 'Alice secret task' })).body._id;
  await bob.call('/dream/create', { name: 'Bob own dream' });
});
afterAll(async () => {
  await t.close();
});

/** Everything of Alice's as stored. */
async function aliceData(): Promise<Record<string, Document[]>> {
  const data: Record<string, Document[]> = {};
  for (const name of ['dream', 'goal', 'task'])
    data[name] = await t.db.collection(name).find({ user_id: aliceId }).sort({ _id: 1 }).toArray();
  return data;
}

const BY_ID: Array<[string, () => object]> = [
  ['/dream/get', () => ({ _id: ids.dream })],
  ['/dream/update', () => ({ _id: ids.dream, name: 'Bob was here' })],
  ['/dream/delete', () => ({ _id: ids.dream })],
  ['/dream/make_goal', () => ({ _id: ids.dream })],
  ['/goal/get', () => ({ _id: ids.goal })],
  ['/goal/update', () => ({ _id: ids.goal, name: 'Bob was here' })],
  ['/goal/delete', () => ({ _id: ids.goal })],
  ['/task/create', () => ({ goal_id: ids.goal, text: 'Bob on Alice’s goal' })],
  ['/task/update', () => ({ _id: ids.task, text: 'Bob was here' })],
  ['/task/mark_done', () => ({ _id: ids.task })],
  ['/task/mark_undone', () => ({ _id: ids.task })],
  ['/task/delete', () => ({ _id: ids.task })],
];

describe("user B on user A's records", () => {
  it.each(BY_ID)('%s answers not_found', async (path, body) => {
    const before = await aliceData();
    const res = await bob.call(path, body());
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    expect(await aliceData()).toEqual(before);
  });

  it('answers the same not_found as for an id that does not exist', async () => {
    const missing = new ObjectId().toHexString();
    const theirs = await bob.call('/dream/get', { _id: ids.dream });
    const none = await bob.call('/dream/get', { _id: missing });
    expect(theirs.body.error.message.replace(ids.dream, 'ID')).toBe(none.body.error.message.replace(missing, 'ID'));
  });

  it.each([
    ['/dream/find', () => ({ name__icontains: 'alice' })],
    ['/goal/find', () => ({ dream_id: ids.dream })],
    ['/task/find', () => ({ goal_id: ids.goal })],
  ])('%s with filters on A’s values finds nothing', async (path, body) => {
    const res = await bob.call(path, body());
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ _meta: { has_more: false, page: 1, page_size: 30, result_count: 0 }, data: [] });
  });

  it('finds only B’s own dreams without filters', async () => {
    const res = await bob.call('/dream/find');
    expect(res.body.data.map((d: { name: string }) => d.name)).toEqual(['Bob own dream']);
  });

  it('leaves A with exactly what A made', async () => {
    const data = await aliceData();
    expect(data.dream?.map((d) => d.name)).toEqual(['Alice secret dream']);
    expect(data.goal?.map((g) => g.name)).toEqual(['Alice secret dream']);
    expect(data.task?.map((task) => [task.text, task.done])).toEqual([['Alice secret task', false]]);
    expect(await t.db.collection('goal').countDocuments({})).toBe(1);
    expect(await t.db.collection('task').countDocuments({})).toBe(1);
  });

  it('still lets A reach every record', async () => {
    expect((await alice.call('/dream/get', { _id: ids.dream })).status).toBe(200);
    const goal = await alice.call('/goal/get', { _id: ids.goal });
    expect(goal.body.tasks.map((task: { _id: string }) => task._id)).toEqual([ids.task]);
  });

  it('lets an internal service see both users’ dreams', async () => {
    const res = await t.call('/dream/find');
    expect(res.body._meta.result_count).toBe(2);
  });
});
