import { ObjectId } from 'mongodb';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderOpenApi, renderSep12 } from '../../src/core/docs.js';
import { CALLER_RESOURCES, callerSchemaDir } from '../helpers/caller-probe.js';
import { startTestService, type TestService } from '../helpers/service.js';

let t: TestService;
let http: supertest.Agent;
const userId = new ObjectId();
let token: string;

beforeAll(async () => {
  t = await startTestService({ resources: CALLER_RESOURCES, schemaDir: callerSchemaDir() });
  http = supertest.agent(t.app);
  token = (await t.service.services.userTokens.issue(t.db, userId)).token;
});
afterAll(async () => {
  await t.close();
});

const bearer = (value: string) => ({ Authorization: `Bearer ${value}` });
const errorOf = (res: supertest.Response, code: string, message: string, zh: string) => ({
  error: { code, message, zh_message: zh, request_id: res.headers['x-request-id'] },
});

describe('the caller on the handler context', () => {
  it('is the service caller named by the API key', async () => {
    const res = await t.call('/caller_probe/whoami');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ caller: { kind: 'service', id: 'test-suite', keyName: 'test-suite' } });
  });

  it('is anonymous on a public action called without credentials', async () => {
    const res = await http.post('/caller_probe/whoami_public').send({});
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ caller: { kind: 'anonymous', id: null, keyName: null } });
  });

  it('is the user a token belongs to', async () => {
    const res = await http.post('/caller_probe/whoami_user').set(bearer(token)).send({});
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      caller: { kind: 'user', id: userId.toHexString(), keyName: null, tokenId: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
  });
});

describe('declared callers', () => {
  it('refuses a user token on a service action with forbidden', async () => {
    const res = await http.post('/caller_probe/whoami').set(bearer(token)).send({});
    expect(res.status).toBe(403);
    expect(res.body).toEqual(
      errorOf(
        res,
        'forbidden',
        'caller_probe/whoami is not for user callers (it takes: service)',
        'caller_probe/whoami 不允许 user 调用方调用（允许：service）',
      ),
    );
  });

  it('refuses an API key on a user action with forbidden', async () => {
    const res = await t.call('/caller_probe/whoami_user');
    expect(res.status).toBe(403);
    expect(res.body).toEqual(
      errorOf(
        res,
        'forbidden',
        'caller_probe/whoami_user is not for service callers (it takes: user)',
        'caller_probe/whoami_user 不允许 service 调用方调用（允许：user）',
      ),
    );
  });

  it('lets both kinds call an action that declares both', async () => {
    expect((await t.call('/caller_probe/whoami_any')).body.caller.kind).toBe('service');
    expect((await http.post('/caller_probe/whoami_any').set(bearer(token)).send({})).body.caller.kind).toBe('user');
  });
});

describe('user tokens', () => {
  it('returns unauthorized for an expired token', async () => {
    const old = await t.service.services.userTokens.issue(t.db, userId, new Date(Date.now() - 31 * 24 * 3600 * 1000));
    const res = await http.post('/caller_probe/whoami_user').set(bearer(old.token)).send({});
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
  });

  it('returns unauthorized for a revoked token', async () => {
    const issued = await t.service.services.userTokens.issue(t.db, userId);
    await t.service.services.userTokens.revoke(t.db, issued.token);
    const res = await http.post('/caller_probe/whoami_user').set(bearer(issued.token)).send({});
    expect(res.status).toBe(401);
  });

  it('returns unauthorized for a token of the right shape that was never issued', async () => {
    const res = await http
      .post('/caller_probe/whoami_user')
      .set(bearer(`ut_${'A'.repeat(43)}`))
      .send({});
    expect(res.status).toBe(401);
  });

  it('stores only the SHA-256 of a token, never the token', async () => {
    const stored = await t.db.collection('user_tokens').find({}).toArray();
    expect(stored.length).toBeGreaterThan(0);
    const text = JSON.stringify(stored);
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.slice(3));
    expect(stored.every((doc) => /^[0-9a-f]{64}$/.test(String(doc._id)))).toBe(true);
  });
});

describe('Retry-After', () => {
  it('is sent with an error that says when to try again', async () => {
    const res = await t.call('/caller_probe/busy');
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.body).toEqual(
      errorOf(res, 'rate_limited', 'Too many requests; try again after the Retry-After seconds', '请求过于频繁，请在 Retry-After 秒后重试'),
    );
  });
});

describe('the callers in the generated reference', () => {
  it('states each action’s callers as its OpenAPI security, with x-callers', async () => {
    const paths = (renderOpenApi(t.service.actions) as { paths: Record<string, { post: Record<string, unknown> }> }).paths;
    const of = (name: string) => ({
      security: paths[`/caller_probe/${name}`]?.post.security,
      callers: paths[`/caller_probe/${name}`]?.post['x-callers'],
    });
    expect(of('whoami')).toEqual({ security: [{ bearer: [] }], callers: ['service'] });
    expect(of('whoami_user')).toEqual({ security: [{ userToken: [] }], callers: ['user'] });
    expect(of('whoami_any')).toEqual({ security: [{ userToken: [] }, { bearer: [] }], callers: ['user', 'service'] });
    expect(of('whoami_public')).toEqual({ security: [], callers: ['public'] });
  });

  it('names the callers with their credential in the SEP-12 reference', async () => {
    const text = renderSep12(t.service.actions);
    const block = text.slice(text.indexOf('### /caller_probe/whoami_user'), text.indexOf('### /caller_probe/busy'));
    expect(block).toContain('    调用方 (callers)\n        user\n    请求');
    expect(block).toContain('Authorization M string Bearer <user token>');
  });
});
