import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, TEST_KEY, startTestService, type TestService } from '../helpers/service.js';
import { PROBE_SCHEMA_DIR, probeResource } from '../helpers/probe-resource.js';

let t: TestService;
let http: supertest.Agent;

beforeAll(async () => {
  t = await startTestService({ resources: [probeResource], schemaDir: PROBE_SCHEMA_DIR, bodyLimitBytes: 2048 });
  http = supertest.agent(t.app);
});
afterAll(async () => {
  await t.close();
});

/** The error body of DESIGN.md §3, with the request id taken from the response header. */
function errorBody(res: supertest.Response, code: string, message: string, zh: string, fields?: unknown) {
  return { error: { code, message, zh_message: zh, ...(fields ? { fields } : {}), request_id: res.headers['x-request-id'] } };
}

describe('GET /healthz', () => {
  it('answers {ok: true} without a key while the database is up', async () => {
    const res = await http.get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
  });
});

describe('auth', () => {
  it('returns unauthorized without an Authorization header', async () => {
    const res = await http.post('/probe/echo').send({});
    expect(res.status).toBe(401);
    expect(res.body).toEqual(errorBody(res, 'unauthorized', 'Missing or invalid API key', '未授权：缺少或错误的 API 密钥'));
  });

  it('returns unauthorized for a wrong key, a key of another length, a non-Bearer scheme or none', async () => {
    for (const header of [`Bearer ${TEST_KEY.secret.slice(0, -1)}x`, 'Bearer short', `Basic ${TEST_KEY.secret}`, TEST_KEY.secret]) {
      const res = await http.post('/probe/echo').set('Authorization', header).send({});
      expect(res.status, header).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
    }
  });

  it('accepts the configured key', async () => {
    const res = await http.post('/probe/echo').set(AUTH).send({ text: 'hi' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ received: { text: 'hi' } });
  });

  it('returns unauthorized, not unknown_action, for an unknown action called without a key', async () => {
    const res = await http.post('/probe/nope').send({});
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
    const other = await http.get('/no/such/path');
    expect(other.status).toBe(401);
  });

  it('lets a public action through without a key', async () => {
    const res = await http.post('/probe/ping').send({});
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ pong: true });
  });
});

describe('dispatch', () => {
  it('returns unknown_action for an unknown resource or action with a valid key', async () => {
    for (const path of ['/probe/nope', '/nothing/get', '/Probe/echo', '/probe/echo-x']) {
      const res = await http.post(path).set(AUTH).send({});
      expect(res.status, path).toBe(404);
      expect(res.body.error.code, path).toBe('unknown_action');
    }
    const res = await http.post('/probe/nope').set(AUTH).send({});
    expect(res.body).toEqual(errorBody(res, 'unknown_action', 'Unknown action probe/nope', '接口 probe/nope 不存在'));
  });

  it('returns unknown_action for a path that is no action, whatever the method', async () => {
    const res = await http.get('/probe/nothing').set(AUTH);
    expect(res.status).toBe(404);
    expect(res.body).toEqual(errorBody(res, 'unknown_action', 'Unknown action GET /probe/nothing', '接口 GET /probe/nothing 不存在'));
  });

  it('returns method_not_allowed for a public action called with another method, without a key', async () => {
    const res = await http.get('/probe/ping');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(res.body).toEqual(
      errorBody(res, 'method_not_allowed', 'GET is not allowed on /probe/ping; it takes POST', '/probe/ping 不支持 GET，请使用 POST'),
    );
  });

  it('returns method_not_allowed with Allow: POST for an action called with another method', async () => {
    const res = await http.get('/probe/echo').set(AUTH);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(res.body).toEqual(
      errorBody(res, 'method_not_allowed', 'GET is not allowed on /probe/echo; it takes POST', '/probe/echo 不支持 GET，请使用 POST'),
    );
  });
});

/** Posts raw bytes as they are (superagent would serialize a Buffer as JSON). */
function sendEncoded(encoding: string, body: Buffer) {
  return http
    .post('/probe/echo')
    .set(AUTH)
    .set('Content-Type', 'application/json')
    .set('Content-Encoding', encoding)
    .serialize((raw: unknown) => raw as string)
    .send(body as never);
}

describe('body', () => {
  it('treats a POST without a body as {}', async () => {
    const res = await http.post('/probe/echo').set(AUTH);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ received: {} });
  });

  it('returns invalid_json for malformed JSON', async () => {
    const res = await http.post('/probe/echo').set(AUTH).set('Content-Type', 'application/json').send('{"text": ');
    expect(res.status).toBe(400);
    expect(res.body).toEqual(errorBody(res, 'invalid_json', 'The request body is not a JSON object', '请求体不是合法的 JSON 对象'));
  });

  it('returns invalid_json when the JSON is not an object', async () => {
    for (const raw of ['[1,2]', '"text"', 'null', '42']) {
      const res = await http.post('/probe/echo').set(AUTH).set('Content-Type', 'application/json').send(raw);
      expect(res.status, raw).toBe(400);
      expect(res.body, raw).toEqual(errorBody(res, 'invalid_json', 'The request body must be a JSON object', '请求体必须是 JSON 对象'));
    }
  });

  it('returns unsupported_media_type (415) for a body that is not application/json', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const res = await http.post('/probe/echo').set(AUTH).set('Content-Type', type).send('text=hi');
      expect(res.status, type).toBe(415);
      expect(res.body, type).toEqual(
        errorBody(
          res,
          'unsupported_media_type',
          'The request body must be JSON (Content-Type: application/json)',
          '请求体必须是 JSON（Content-Type: application/json）',
        ),
      );
    }
  });

  it('accepts application/json with a charset', async () => {
    const res = await http.post('/probe/echo').set(AUTH).set('Content-Type', 'application/json; charset=utf-8').send('{"n": 3}');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ received: { n: 3 } });
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ])('accepts a %s body', async (encoding, compress) => {
    const res = await sendEncoded(encoding, compress(Buffer.from('{"n": 4}')));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ received: { n: 4 } });
  });

  it.each([
    ['gzip', Buffer.concat([gzipSync(Buffer.from('{"n": 4}')).subarray(0, 10), Buffer.from('garbage!')])],
    ['deflate', Buffer.from('not deflate at all')],
    ['br', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x01])],
  ])('returns invalid_encoding (400), not internal, for a corrupt %s body', async (encoding, body) => {
    const res = await sendEncoded(encoding, body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual(
      errorBody(
        res,
        'invalid_encoding',
        'The request body cannot be decoded with its Content-Encoding',
        '请求体无法按其 Content-Encoding 解码',
      ),
    );
  });

  it('returns payload_too_large (413) past the body limit', async () => {
    const res = await http
      .post('/probe/echo')
      .set(AUTH)
      .send({ text: 'x'.repeat(4096) });
    expect(res.status).toBe(413);
    expect(res.body).toEqual(errorBody(res, 'payload_too_large', 'Request body is too large', '请求体过大'));
  });
});

describe('request id', () => {
  it('echoes a given X-Request-Id', async () => {
    const res = await http.post('/probe/echo').set(AUTH).set('X-Request-Id', 'abc-123.def').send({});
    expect(res.headers['x-request-id']).toBe('abc-123.def');
  });

  it('generates one when absent', async () => {
    const res = await http.post('/probe/echo').set(AUTH).send({});
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('puts the same id in error bodies', async () => {
    const res = await http.post('/probe/nope').set(AUTH).send({});
    expect(res.body.error.request_id).toBe(res.headers['x-request-id']);
  });

  it('replaces an id that could forge log lines', async () => {
    const res = await http.post('/probe/echo').set(AUTH).set('X-Request-Id', 'a b\tc{"x":1}').send({});
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('errors', () => {
  it('answers internal (500) without the cause', async () => {
    const res = await http.post('/probe/crash').set(AUTH).send({});
    expect(res.status).toBe(500);
    expect(res.body).toEqual(errorBody(res, 'internal', 'Internal server error', '服务器内部错误'));
    expect(JSON.stringify(res.body)).not.toMatch(/hunter2|driver said|\.js/);
  });

  it('logs the cause of an internal error', async () => {
    const res = await http.post('/probe/crash').set(AUTH).send({});
    const line = t.logs.find((l) => l.req_id === res.headers['x-request-id']);
    expect(line).toMatchObject({ level: 50, status: 500, error_code: 'internal', resource: 'probe', action: 'crash' });
    expect((line?.err as { message: string } | undefined)?.message).toContain('driver said');
  });

  it('answers internal when a result does not fit its schema', async () => {
    const res = await http.post('/probe/bad_shape').set(AUTH).send({});
    expect(res.status).toBe(500);
    expect(res.body).toEqual(errorBody(res, 'internal', 'Internal server error', '服务器内部错误'));
  });

  it('logs which field of a result does not fit its schema', async () => {
    const res = await http.post('/probe/bad_shape').set(AUTH).send({});
    const line = t.logs.find((l) => l.req_id === res.headers['x-request-id']);
    expect((line?.err as { message: string } | undefined)?.message).toBe(
      'result does not fit test/fixtures/probe-schemas/probe.yaml: probe_summary._id: expected object_id, got string "not-an-object-id"',
    );
  });

  it('turns a unique index violation made through the driver into 409 conflict', async () => {
    const first = await http.post('/probe/insert').set(AUTH).send({ code: 'A-1' });
    expect(first.status).toBe(200);
    expect(first.body._id).toMatch(/^[0-9a-f]{24}$/);
    const res = await http.post('/probe/insert').set(AUTH).send({ code: 'A-1' });
    expect(res.status).toBe(409);
    expect(res.body).toEqual(
      errorBody(res, 'conflict', 'Duplicate value for code', 'code 的值已被占用，违反唯一约束', [
        { field: 'code', messages: ['is already taken'] },
      ]),
    );
  });
});

describe('request log', () => {
  it('writes one line per request (id, resource, action, status, duration, key name), never the secret', async () => {
    const res = await http.post('/probe/echo').set(AUTH).set('X-Request-Id', 'log-check-1').send({ text: 'x' });
    expect(res.status).toBe(200);
    const lines = t.logs.filter((l) => l.req_id === 'log-check-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: 'request',
      method: 'POST',
      path: '/probe/echo',
      resource: 'probe',
      action: 'echo',
      status: 200,
      key: TEST_KEY.name,
    });
    expect(typeof lines[0]?.duration_ms).toBe('number');
    expect(JSON.stringify(t.logs)).not.toContain(TEST_KEY.secret);
  });

  it('logs the failed auth attempt without the presented secret', async () => {
    await http.post('/probe/echo').set('Authorization', 'Bearer presented-secret-value-xyz').set('X-Request-Id', 'log-check-2').send({});
    const line = t.logs.find((l) => l.req_id === 'log-check-2');
    expect(line).toMatchObject({ status: 401, error_code: 'unauthorized' });
    expect(JSON.stringify(t.logs)).not.toContain('presented-secret-value-xyz');
  });
});
