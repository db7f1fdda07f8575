import type { ObjectId } from 'mongodb';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asUser, registerUser } from '../helpers/diary.js';
import { startTestService, type TestService } from '../helpers/service.js';

let t: TestService;
let http: supertest.Agent;

beforeAll(async () => {
  t = await startTestService();
  http = supertest.agent(t.app);
});
afterAll(async () => {
  await t.close();
});

const errorOf = (res: supertest.Response, code: string, message: string, zh: string, fields?: unknown) => ({
  error: { code, message, zh_message: zh, ...(fields ? { fields } : {}), request_id: res.headers['x-request-id'] },
});

describe('user/create', () => {
  it('registers a user, answering a Bearer token that works for them', async () => {
    const res = await http.post('/user/create').send({ username: 'marina', password: 'sea-and-sun-2025' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ access_token: expect.stringMatching(/^ut_[A-Za-z0-9_-]{43}$/), token_type: 'Bearer' });
    expect((await asUser(t, 'marina', res.body.access_token).call('/user/profile')).status).toBe(200);
  });

  it('stores an scrypt hash, never the password', async () => {
    const stored = await t.db.collection('user').findOne({ username: 'marina' });
    expect(String(stored?.password_hash)).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(stored)).not.toContain('sea-and-sun-2025');
  });

  it('returns conflict for a taken username', async () => {
    const res = await http.post('/user/create').send({ username: 'marina', password: 'another-password' });
    expect(res.status).toBe(409);
    expect(res.body).toEqual(
      errorOf(res, 'conflict', 'Duplicate value for username', 'username 的值已被占用，违反唯一约束', [
        { field: 'username', messages: ['is already taken'] },
      ]),
    );
  });

  it('refuses a password shorter than 8 characters', async () => {
    const res = await http.post('/user/create').send({ username: 'shorty', password: 'seven77' });
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual([{ field: 'password', messages: ['must be at least 8 characters'] }]);
  });
});

describe('user/login', () => {
  it('answers a new token for the right password', async () => {
    await registerUser(t, 'login_ok', 'right-password-1');
    const res = await http.post('/user/login').send({ username: 'login_ok', password: 'right-password-1' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ access_token: expect.stringMatching(/^ut_/), token_type: 'Bearer' });
  });

  it('returns the same unauthorized for a wrong password or an unknown username', async () => {
    await registerUser(t, 'login_bad', 'right-password-2');
    const wrong = await http.post('/user/login').send({ username: 'login_bad', password: 'wrong-password' });
    const nobody = await http.post('/user/login').send({ username: 'no_such_user', password: 'wrong-password' });
    for (const res of [wrong, nobody]) {
      expect(res.status).toBe(401);
      expect(res.body).toEqual(errorOf(res, 'unauthorized', 'Wrong username or password', '用户名或密码错误'));
    }
  });

  it('answers rate_limited with Retry-After after 10 failed logins of one username, even with the right password', async () => {
    await registerUser(t, 'login_locked', 'right-password-3');
    for (let i = 0; i < 10; i++) {
      expect((await http.post('/user/login').send({ username: 'login_locked', password: `guess-${i}-xx` })).status).toBe(401);
    }
    const res = await http.post('/user/login').send({ username: 'login_locked', password: 'right-password-3' });
    expect(res.status).toBe(429);
    const wait = Number(res.headers['retry-after']);
    expect(wait).toBeGreaterThan(14 * 60);
    expect(wait).toBeLessThanOrEqual(15 * 60);
    expect(res.body).toEqual(
      errorOf(
        res,
        'rate_limited',
        `Too many failed logins for this username; try again in ${wait} s`,
        `该用户名登录失败次数过多，请在 ${wait} 秒后重试`,
      ),
    );
  });

  it('lets the user in again once the 15 minutes have passed', async () => {
    await registerUser(t, 'login_later', 'right-password-4');
    for (let i = 0; i < 10; i++) await http.post('/user/login').send({ username: 'login_later', password: `guess-${i}-xx` });
    expect((await http.post('/user/login').send({ username: 'login_later', password: 'right-password-4' })).status).toBe(429);
    // the window's end is stored in the counter: move it into the past, as 15 minutes would
    await t.db.collection('rate_limits').updateOne({ _id: 'login:login_later' as never }, { $set: { reset_at: new Date(Date.now() - 1) } });
    expect((await http.post('/user/login').send({ username: 'login_later', password: 'right-password-4' })).status).toBe(200);
  });
});

describe('user/token', () => {
  it('rotates the token: the new one works, the old one gets unauthorized', async () => {
    const user = await registerUser(t);
    const res = await user.call('/user/token');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ access_token: expect.stringMatching(/^ut_/), token_type: 'Bearer' });
    expect(res.body.access_token).not.toBe(user.token);
    const old = await user.call('/user/profile');
    expect(old.status).toBe(401);
    expect(old.body.error.code).toBe('unauthorized');
    expect((await asUser(t, user.username, res.body.access_token).call('/user/profile')).status).toBe(200);
  });

  it('returns unauthorized for a token past its expiry', async () => {
    const user = await registerUser(t);
    await t.db.collection('user_tokens').updateMany({}, { $set: { expires_at: new Date(Date.now() - 1000) } });
    const res = await user.call('/user/profile');
    expect(res.status).toBe(401);
  });

  it('issues tokens that expire after USER_TOKEN_TTL (30 days by default)', async () => {
    const before = Date.now();
    await registerUser(t);
    const [latest] = await t.db.collection('user_tokens').find({}).sort({ created_at: -1 }).limit(1).toArray();
    const ttl = (latest?.expires_at as Date).getTime() - (latest?.created_at as Date).getTime();
    expect(ttl).toBe(30 * 24 * 3600 * 1000);
    expect((latest?.created_at as Date).getTime()).toBeGreaterThanOrEqual(before - 1000);
  });
});

describe('user/profile and user/update', () => {
  it('answers the profile without any token or password hash', async () => {
    const user = await registerUser(t, 'profiled');
    const res = await user.call('/user/profile');
    expect(res.status).toBe(200);
    const stored = await t.db.collection('user').findOne({ username: 'profiled' });
    expect(res.body).toEqual({
      _id: String(stored?._id),
      username: 'profiled',
      fio: null,
      phone_number: null,
      email: null,
      avatar: null,
    });
  });

  it('answers the profile with the given fields changed', async () => {
    const user = await registerUser(t, 'updated');
    const res = await user.call('/user/update', {
      fio: 'Петров Иван Сергеевич',
      phone_number: '+79161234567',
      email: 'ivan@example.com',
      avatar: 'https://example.com/a.jpg',
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      _id: expect.stringMatching(/^[0-9a-f]{24}$/),
      username: 'updated',
      fio: 'Петров Иван Сергеевич',
      phone_number: '+79161234567',
      email: 'ivan@example.com',
      avatar: 'https://example.com/a.jpg',
    });
  });

  it('names every field that is not what it says', async () => {
    const user = await registerUser(t);
    const res = await user.call('/user/update', { phone_number: '12ab-cdefgh', email: 'not-an-email', avatar: 'javascript:alert(1)' });
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual([
      { field: 'email', messages: ['must be an e-mail address such as name@example.com'] },
      { field: 'phone_number', messages: ['must be + and 7-15 digits'] },
      { field: 'avatar', messages: ['must be an http(s) URL'] },
    ]);
  });
});

describe('callers of user actions', () => {
  it('refuses an API key on user/profile with forbidden', async () => {
    const key = await t.call('/user/profile');
    expect(key.status).toBe(403);
  });

  it('refuses a user token on user/find with forbidden', async () => {
    const user = await registerUser(t);
    const token = await user.call('/user/find');
    expect(token.status).toBe(403);
    expect(token.body.error.code).toBe('forbidden');
  });

  it('lets an internal service find users, without secrets', async () => {
    const res = await t.call('/user/find', { username: 'profiled' });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.data[0]).sort()).toEqual(['_id', 'avatar', 'created_at', 'email', 'fio', 'phone_number', 'username']);
  });
});

describe('user/delete', () => {
  it('deletes the user with everything they own, tokens included', async () => {
    const user = await registerUser(t, 'leaving');
    const second = (await http.post('/user/login').send({ username: 'leaving', password: 'correct horse battery' })).body.access_token;
    const dream = await user.call('/dream/create', { name: 'Увидеть море' });
    const goal = await user.call('/dream/make_goal', { _id: dream.body._id });
    await user.call('/task/create', { goal_id: goal.body._id, text: 'Купить билеты' });
    const stored = await t.db.collection('user').findOne({ username: 'leaving' });
    const id = stored?._id as ObjectId;

    const res = await user.call('/user/delete');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
    for (const collection of ['dream', 'goal', 'task']) expect(await t.db.collection(collection).countDocuments({ user_id: id })).toBe(0);
    expect(await t.db.collection('user_tokens').countDocuments({ user_id: id })).toBe(0);
    expect(await t.db.collection('user').countDocuments({ _id: id })).toBe(0);
    expect((await asUser(t, 'leaving', second).call('/user/profile')).status).toBe(401);
  });
});
