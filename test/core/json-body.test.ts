import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { createServer, type Server } from 'node:http';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, TEST_KEY, startTestService, type TestService } from '../helpers/service.js';
import { PROBE_SCHEMA_DIR, probeResource } from '../helpers/probe-resource.js';

// The action route reads plain UTF-8 JSON itself (src/core/json-body.ts) and leaves the rest to express.json:
// these are the cases where the two could part ways. Raw sockets where supertest cannot send the request.
const LIMIT = 2048;
let t: TestService;
let server: Server;
let port: number;

beforeAll(async () => {
  t = await startTestService({ resources: [probeResource], schemaDir: PROBE_SCHEMA_DIR, bodyLimitBytes: LIMIT });
  server = createServer(t.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

/** Sends `head` then each chunk (a pause between them), and reads the whole answer of a `Connection: close` request. */
async function raw(head: string, chunks: Array<string | Buffer>): Promise<{ status: number; body: unknown }> {
  const socket = connect(port, '127.0.0.1');
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(`${head}\r\nAuthorization: Bearer ${TEST_KEY.secret}\r\nConnection: close\r\n\r\n`);
  for (const chunk of chunks) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    socket.write(chunk);
  }
  await ended;
  const text = Buffer.concat(received).toString('utf8');
  const [statusLine = '', ...rest] = text.split('\r\n');
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  expect(rest.length).toBeGreaterThan(0);
  return { status: Number(statusLine.split(' ')[1]), body: body ? JSON.parse(body) : undefined };
}

function chunked(...parts: string[]): string[] {
  return [...parts.map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`), '0\r\n\r\n'];
}

describe('the action route’s JSON body reader', () => {
  it('reads a body that arrives in several pieces', async () => {
    const body = JSON.stringify({ text: `张三 ${'y'.repeat(300)}` });
    const bytes = Buffer.from(body);
    const res = await raw(`POST /probe/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${bytes.length}`, [
      bytes.subarray(0, 2), // inside the first multi-byte character's neighbourhood
      bytes.subarray(2, 10),
      bytes.subarray(10),
    ]);
    expect(res).toEqual({ status: 200, body: { received: { text: `张三 ${'y'.repeat(300)}` } } });
  });

  it('reads a chunked body without Content-Length', async () => {
    const res = await raw(
      'POST /probe/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked',
      chunked('{"n"', ': 5}'),
    );
    expect(res).toEqual({ status: 200, body: { received: { n: 5 } } });
  });

  it('drops a leading byte order mark, as express.json does', async () => {
    const res = await supertest(t.app).post('/probe/echo').set(AUTH).set('Content-Type', 'application/json').send('\ufeff{"n": 6}');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ received: { n: 6 } });
  });

  it('treats an empty body with Content-Length: 0 as {}', async () => {
    const res = await raw('POST /probe/echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 0', []);
    expect(res).toEqual({ status: 200, body: { received: {} } });
  });

  it('answers payload_too_large for a chunked body that passes the limit, after reading it off', async () => {
    const res = await raw(
      'POST /probe/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked',
      chunked(`{"text": "${'x'.repeat(LIMIT)}`, '"}'),
    );
    expect(res.status).toBe(413);
    expect((res.body as { error: { code: string } }).error.code).toBe('payload_too_large');
  });

  it('answers payload_too_large for a declared length past the limit', async () => {
    const body = `{"text": "${'x'.repeat(LIMIT)}"}`;
    const res = await raw(`POST /probe/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}`, [
      body,
    ]);
    expect(res.status).toBe(413);
    expect((res.body as { error: { code: string } }).error.code).toBe('payload_too_large');
  });

  it('leaves another charset to express.json, which refuses it with 415', async () => {
    const res = await supertest(t.app)
      .post('/probe/echo')
      .set(AUTH)
      .set('Content-Type', 'application/json; charset=latin1')
      .send('{"n": 7}');
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('unsupported_media_type');
  });

  it('answers invalid_json for bytes that are not JSON', async () => {
    const bad = await supertest(t.app).post('/probe/echo').set(AUTH).set('Content-Type', 'application/json').send('{"n": 8,}');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_json');
  });

  it('reads a JSON body sent as UTF-8 with a quoted charset', async () => {
    const good = await supertest(t.app)
      .post('/probe/echo')
      .set(AUTH)
      .set('Content-Type', 'Application/JSON; charset="UTF-8"')
      .send('{"n": 8}');
    expect(good.status).toBe(200);
    expect(good.body).toEqual({ received: { n: 8 } });
  });
});
