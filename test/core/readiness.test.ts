import { request, type Server } from 'node:http';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer, stopServing } from '../../src/boot/http-server.js';
import { PROBE_SCHEMA_DIR, probeResource } from '../helpers/probe-resource.js';
import { AUTH, startTestService, type TestService } from '../helpers/service.js';

let t: TestService;
let server: Server;
let base: string;

beforeAll(async () => {
  t = await startTestService({ resources: [probeResource], schemaDir: PROBE_SCHEMA_DIR });
  server = createHttpServer(t.app, { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  if (server.listening) await new Promise((resolve) => server.close(resolve));
  await t.close();
});

/** GET on a connection of its own (a load balancer's probe), answered with the status, or 0 when refused. */
function probe(path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${base}${path}`, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

describe('GET /readyz', () => {
  it('answers {ok: true} without a key while the database answers, the service not stopping', async () => {
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('goes 503 at the start of a graceful shutdown, while a slow request in flight still gets its answer', async () => {
    const slow = fetch(`${base}/probe/slow`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: '{"ms": 1500}',
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await probe('/readyz')).toBe(200);

    const stopped = stopServing(server, t.service.readiness, 1_000);
    const during: Array<{ ready: number; alive: number }> = [];
    while (during.length < 5) {
      during.push({ ready: await probe('/readyz'), alive: await probe('/healthz') });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const answer = await slow;
    await stopped;
    // not ready from the first probe on, alive all along: a load balancer stops sending before connections close
    expect(during).toEqual(Array.from({ length: 5 }, () => ({ ready: 503, alive: 200 })));
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ slept_ms: 1500 });
  });

  it('says in its 503 body that the service is shutting down', async () => {
    // the service of this file is stopping since the test above
    const res = await supertest(t.app).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      error: {
        code: 'unavailable',
        message: 'The service is shutting down',
        zh_message: '服务正在停止',
        request_id: res.headers['x-request-id'],
      },
    });
  });
});
