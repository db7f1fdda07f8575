import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { childEnv, killSpawned, spawnService, waitListening, type Spawned } from '../helpers/processes.js';

// The limits are counted in MongoDB: two really spawned API processes on one database share them (issue 13, 16).
const KEY = 'rate-limit-processes-secret-0123456789';
const dbName = `t_rate_limit_processes_${randomBytes(4).toString('hex')}`;
const procs: Spawned[] = [];
const urls: string[] = [];

beforeAll(async () => {
  const env = childEnv({
    MONGODB_URL: inject('mongoUrl'),
    MONGODB_DB: dbName,
    API_KEYS: `limited:${KEY}`,
    PORT: '0',
    WORKER: 'off',
    RATE_LIMIT_KEY: '6',
    RATE_LIMIT_WINDOW: '10m',
  });
  for (let i = 0; i < 2; i++) {
    const proc = spawnService(env);
    procs.push(proc);
  }
  for (const proc of procs) urls.push((await waitListening(proc)).url);
}, 180_000);
afterAll(() => {
  killSpawned();
});

async function post(
  url: string,
  path: string,
  body: object,
  key = true,
): Promise<{ status: number; retryAfter: string | null; body: any }> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${KEY}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
}

describe('limits across two processes', () => {
  it('locks a username after 10 failed logins spread over both processes', async () => {
    const [one, two] = urls as [string, string];
    expect((await post(one, '/user/create', { username: 'shared_user', password: 'the-right-password' }, false)).status).toBe(200);
    for (let i = 0; i < 10; i++) {
      const res = await post(i % 2 === 0 ? one : two, '/user/login', { username: 'shared_user', password: `wrong-${i}-guess` }, false);
      expect(res.status).toBe(401);
    }
    for (const url of [one, two]) {
      const res = await post(url, '/user/login', { username: 'shared_user', password: 'the-right-password' }, false);
      expect(res.status).toBe(429);
      expect(res.body.error.code).toBe('rate_limited');
      expect(Number(res.retryAfter)).toBeGreaterThan(0);
    }
  });

  it('counts one API key’s requests in both processes against one limit', async () => {
    const [one, two] = urls as [string, string];
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await post(i % 2 === 0 ? one : two, '/user/find', {})).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    const over = await post(two, '/user/find', {});
    expect(over.status).toBe(429);
    expect(Number(over.retryAfter)).toBeGreaterThan(500);
    expect((await post(one, '/user/find', {})).status).toBe(429);
  });
});
