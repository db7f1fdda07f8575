import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompiledAction, ResourceDefinition } from '../../src/core/dispatch.js';
import { actionTitle } from '../../src/core/docs-model.js';
import { renderOpenApi } from '../../src/core/openapi.js';
import { AUTH, startTestService, type TestService } from '../helpers/service.js';

// The served reference (GET /openapi.json, GET /docs) and the 405 answer of a known path with another method.
let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.close();
});

/** A 405 body, whole. */
function notAllowed(message: string, zh: string, requestId: string) {
  return { error: { code: 'method_not_allowed', message, zh_message: zh, request_id: requestId } };
}

describe('GET /openapi.json', () => {
  it('serves the OpenAPI document of the action table without a key', async () => {
    const res = await supertest(t.app).get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual(renderOpenApi(t.service.actions));
  });

  it('answers another method with 405, Allow: GET, HEAD', async () => {
    const res = await supertest(t.app).post('/openapi.json').send({});
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.body).toEqual(
      notAllowed(
        'POST is not allowed on /openapi.json; it takes GET, HEAD',
        '/openapi.json 不支持 POST，请使用 GET, HEAD',
        res.headers['x-request-id'] as string,
      ),
    );
  });
});

describe('GET /docs', () => {
  it('serves the reference page, which loads only our own copy of the renderer with the document', async () => {
    const res = await supertest(t.app).get('/docs');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('<script src="docs/scalar.js"></script>');
    expect(res.text).toContain("url: 'openapi.json'");
    expect(res.text).not.toMatch(/https?:\/\//);
  });

  it('serves the renderer bundle from the installed package', async () => {
    const res = await supertest(t.app).get('/docs/scalar.js');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/javascript/);
    expect(res.text).toContain('createApiReference');
  });
});

describe('another method on a known path', () => {
  it('answers GET on an action path with 405 method_not_allowed, Allow: POST', async () => {
    const res = await supertest(t.app).get('/account/get').set(AUTH);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(res.body).toEqual(
      notAllowed(
        'GET is not allowed on /account/get; it takes POST',
        '/account/get 不支持 GET，请使用 POST',
        res.headers['x-request-id'] as string,
      ),
    );
  });

  it('answers TRACE on an action path with 405 too', async () => {
    const res = await supertest(t.app).trace('/account/batch_create').set(AUTH);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
  });

  it('answers 401 before 405 without a key, so a caller without one learns nothing about actions', async () => {
    const res = await supertest(t.app).get('/account/get');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
    expect(res.headers.allow).toBeUndefined();
  });

  it('keeps 404 unknown_action for a path that is no action', async () => {
    const res = await supertest(t.app).get('/account/nothing').set(AUTH);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('unknown_action');
    expect(res.headers.allow).toBeUndefined();
  });

  it('answers DELETE /healthz with 405, Allow: GET, HEAD', async () => {
    const res = await supertest(t.app).delete('/healthz');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
  });
});

// Debian's chromium (`.ci/run` installs it); CI must have it, a developer machine may not
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((file) => existsSync(file));
const REQUIRE_BROWSER = process.env.CI === 'true';

/** The page's DOM after its scripts ran; Scalar puts `<wbr>` after each `/` of a path, dropped here. */
async function renderedDom(url: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    CHROMIUM as string,
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--virtual-time-budget=20000', '--dump-dom', url],
    { maxBuffer: 64 * 1024 * 1024, timeout: 100_000 },
  );
  return stdout.replace(/<wbr>/g, '');
}

describe.skipIf(!CHROMIUM && !REQUIRE_BROWSER)('the /docs page in a headless browser', () => {
  let base = '';
  let server: ReturnType<TestService['app']['listen']>;
  beforeAll(async () => {
    expect(CHROMIUM, 'chromium is not installed (apt-get install -y chromium)').toBeDefined();
    server = t.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('lists every operation by its SEP-12 title', { timeout: 120_000 }, async () => {
    const dom = await renderedDom(`${base}/docs`);
    const missing = [
      '/healthz 健康检查',
      ...t.service.actions.list().map((action) => actionTitle(action, resourceOf(action.resource))),
    ].filter((title) => !dom.includes(title));
    expect(missing).toEqual([]);
  });

  it('renders an operation’s description with its params when its link is opened', { timeout: 120_000 }, async () => {
    const action = t.service.actions.list().at(-1) as CompiledAction;
    const link = new RegExp(`href="(#tag/[^"]+/POST/${action.resource}/${action.name})"`).exec(await renderedDom(`${base}/docs`))?.[1];
    expect(link, 'the sidebar links the operation').toBeDefined();
    const dom = await renderedDom(`${base}/docs${link}`);
    expect(dom).toContain(action.definition.summary);
    for (const param of action.validator.params) expect(dom).toContain(param.name);
  });
});

function resourceOf(name: string): ResourceDefinition {
  return t.service.actions.resources.find((r) => r.name === name) as ResourceDefinition;
}
