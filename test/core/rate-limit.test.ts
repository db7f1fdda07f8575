import supertest from 'supertest';
import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/core/rate-limit.js';
import { CALLER_RESOURCES, callerSchemaDir } from '../helpers/caller-probe.js';
import { startTestService, type TestService } from '../helpers/service.js';

let t: TestService;

beforeAll(async () => {
  t = await startTestService({
    resources: CALLER_RESOURCES,
    schemaDir: callerSchemaDir(),
    callers: { userTokenTtlMs: 3_600_000, limits: { perKey: 3, perUser: 2, windowMs: 60_000 } },
  });
});
afterAll(async () => {
  await t.close();
});

describe('the per-caller rate limit', () => {
  it('answers rate_limited with Retry-After once an API key is over its limit', async () => {
    for (let i = 0; i < 3; i++) expect((await t.call('/caller_probe/whoami')).status).toBe(200);
    const res = await t.call('/caller_probe/whoami');
    expect(res.status).toBe(429);
    const wait = Number(res.headers['retry-after']);
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(60);
    expect(res.body).toEqual({
      error: {
        code: 'rate_limited',
        message: `More than 3 requests in 60 s from this caller; try again in ${wait} s`,
        zh_message: `该调用方在 60 秒内的请求超过 3 次，请在 ${wait} 秒后重试`,
        request_id: res.headers['x-request-id'],
      },
    });
  });

  it('counts each user on their own, apart from the keys', async () => {
    const tokens = t.service.services.userTokens;
    const one = { Authorization: `Bearer ${(await tokens.issue(t.db, new ObjectId())).token}` };
    const two = { Authorization: `Bearer ${(await tokens.issue(t.db, new ObjectId())).token}` };
    const http = supertest(t.app);
    const status = async (auth: Record<string, string>) => (await http.post('/caller_probe/whoami_any').set(auth).send({})).status;
    expect([await status(one), await status(one), await status(one)]).toEqual([200, 200, 429]);
    expect([await status(two), await status(two)]).toEqual([200, 200]);
  });

  it('does not count public actions', async () => {
    const http = supertest(t.app);
    for (let i = 0; i < 5; i++) expect((await http.post('/caller_probe/whoami_public').send({})).status).toBe(200);
  });
});

describe('RateLimiter', () => {
  it('starts a new window once the stored one has ended, although its counter is still there', async () => {
    const limiter = new RateLimiter('rate_limits_unit');
    const start = new Date('2026-01-01T00:00:00Z');
    await limiter.hit(t.db, 'b', 1000, start);
    expect(await limiter.hit(t.db, 'b', 1000, new Date(start.getTime() + 500))).toEqual({ count: 2, retryAfterSeconds: 1 });
    expect(await limiter.hit(t.db, 'b', 1000, new Date(start.getTime() + 1000))).toEqual({ count: 1, retryAfterSeconds: 1 });
    expect(await t.db.collection('rate_limits_unit').countDocuments({ _id: 'b' as never })).toBe(1);
  });

  it('counts every one of concurrent hits, letting no more than the limit through', async () => {
    const limiter = new RateLimiter('rate_limits_unit');
    const results = await Promise.all(Array.from({ length: 40 }, () => limiter.hit(t.db, 'race', 60_000)));
    const stored = await t.db.collection('rate_limits_unit').findOne({ _id: 'race' as never });
    expect(stored?.count).toBe(40);
    // the embedded server reads findOneAndUpdate's answer after the update, so under a race a hit may see a later
    // count than its own (never an earlier one): at most 10 hits can see a count within a limit of 10
    expect(results.filter((r) => r.count <= 10).length).toBeLessThanOrEqual(10);
    expect(Math.max(...results.map((r) => r.count))).toBe(40);
  });

  it('peeks without counting', async () => {
    const limiter = new RateLimiter('rate_limits_unit');
    await limiter.hit(t.db, 'peeked', 60_000);
    expect((await limiter.peek(t.db, 'peeked')).count).toBe(1);
    expect((await limiter.peek(t.db, 'peeked')).count).toBe(1);
    expect(await limiter.peek(t.db, 'never')).toEqual({ count: 0, retryAfterSeconds: 0 });
  });
});
