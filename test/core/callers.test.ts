import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import supertest from 'supertest';
import { CALLER_SCHEMA_DIR, callerProbe } from '../helpers/caller-probe.js';
import { startTestService, type TestService } from '../helpers/service.js';

let t: TestService;

beforeAll(async () => {
  t = await startTestService({ resources: [callerProbe], schemaDir: CALLER_SCHEMA_DIR });
});
afterAll(async () => {
  await t.close();
});

describe('the caller on the handler context', () => {
  it('is the service caller named by the API key', async () => {
    const res = await t.call('/caller_probe/whoami');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ caller: { kind: 'service', id: 'test-suite', keyName: 'test-suite' } });
  });

  it('is anonymous on a public action called without credentials', async () => {
    const res = await supertest(t.app).post('/caller_probe/whoami_public').send({});
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ caller: { kind: 'anonymous', id: null, keyName: null } });
  });
});

describe('Retry-After', () => {
  it('is sent with an error that says when to try again', async () => {
    const res = await t.call('/caller_probe/busy');
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.body).toEqual({
      error: {
        code: 'rate_limited',
        message: 'Too many requests; try again after the Retry-After seconds',
        zh_message: '请求过于频繁，请在 Retry-After 秒后重试',
        request_id: res.headers['x-request-id'],
      },
    });
  });
});
