import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asUser } from '../helpers/diary.js';
import { startTestService, type TestService } from '../helpers/service.js';

// Issue 13: password hashes and tokens never appear in an answer (but the one that issues a token) or a log line.
let t: TestService;
const PASSWORD = 'my-very-secret-password';
const tokens: string[] = [];
const answers: string[] = [];

beforeAll(async () => {
  t = await startTestService();
  const http = supertest(t.app);
  const keep = (res: supertest.Response) => {
    answers.push(JSON.stringify({ headers: res.headers, body: res.body }));
    return res;
  };
  const created = await http.post('/user/create').send({ username: 'secretive', password: PASSWORD });
  tokens.push(created.body.access_token);
  const login = await http.post('/user/login').send({ username: 'secretive', password: PASSWORD });
  tokens.push(login.body.access_token);
  keep(await http.post('/user/login').send({ username: 'secretive', password: `${PASSWORD}-wrong` }));
  const me = asUser(t, 'secretive', login.body.access_token);
  keep(await me.call('/user/profile'));
  keep(await me.call('/user/update', { fio: 'Тайный Пользователь' }));
  keep(await me.call('/dream/create', { name: 'Secret dream' }));
  keep(await me.call('/user/find'));
  const rotated = await me.call('/user/token');
  tokens.push(rotated.body.access_token);
  keep(await asUser(t, 'secretive', rotated.body.access_token).call('/user/profile'));
  keep(await t.call('/user/find', { username: 'secretive' }));
  keep(await t.call('/user/get', { _id: (await t.db.collection('user').findOne({ username: 'secretive' }))?._id.toHexString() }));
});
afterAll(async () => {
  await t.close();
});

describe('secrets of users', () => {
  it('never appear in a log line: no password, no hash, no token', async () => {
    const stored = await t.db.collection('user').findOne({ username: 'secretive' });
    const hash = String(stored?.password_hash);
    const tokenHashes = (await t.db.collection('user_tokens').find({}).toArray()).map((doc) => String(doc._id));
    const log = JSON.stringify(t.logs);
    expect(t.logs.length).toBeGreaterThan(10);
    expect(log).not.toContain(PASSWORD);
    expect(log).not.toContain(hash.split('$').pop());
    for (const token of tokens) expect(log).not.toContain(token.slice(3));
    for (const id of tokenHashes) expect(log).not.toContain(id);
    expect(log).not.toMatch(/ut_[A-Za-z0-9_-]{20}/);
  });

  it('never appear in an answer other than the one that issues a token', async () => {
    const stored = await t.db.collection('user').findOne({ username: 'secretive' });
    const text = answers.join('\n');
    expect(answers.length).toBe(8);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(String(stored?.password_hash).split('$').pop());
    expect(text).not.toMatch(/ut_[A-Za-z0-9_-]{20}/);
    expect(text).not.toContain('password_hash');
  });

  it('logs a user caller by id, never by token', async () => {
    const stored = await t.db.collection('user').findOne({ username: 'secretive' });
    const profileLines = t.logs.filter((line) => line.action === 'profile');
    expect(profileLines.map((line) => line.user)).toEqual([stored?._id.toHexString(), stored?._id.toHexString()]);
  });
});
