import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer } from '../../src/boot/http-server.js';
import { PROBE_SCHEMA_DIR, probeResource } from '../helpers/probe-resource.js';
import { TEST_KEY, startTestService, type TestService } from '../helpers/service.js';

let t: TestService;
let server: Server;
let port: number;

beforeAll(async () => {
  t = await startTestService({ resources: [probeResource], schemaDir: PROBE_SCHEMA_DIR });
  server = createHttpServer(t.app, { headersTimeoutMs: 600, requestTimeoutMs: 1_000, keepAliveTimeoutMs: 500 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

/** A raw connection: what it received, and when the server closed it (ms after opening). */
async function open(): Promise<{ socket: Socket; received: () => string; closedAfter: Promise<number> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const openedAt = Date.now();
  let text = '';
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const closedAfter = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - openedAt)));
  socket.on('error', () => undefined);
  return { socket, received: () => text, closedAfter };
}

const POST_HEAD = (length: number, auth = true) =>
  `POST /probe/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${auth ? `Authorization: Bearer ${TEST_KEY.secret}\r\n` : ''}\r\n`;

describe('slow clients', () => {
  it('answers 408, closing the socket, to a client that trickles its body past REQUEST_TIMEOUT_MS', async () => {
    const conn = await open();
    conn.socket.write(POST_HEAD(100));
    const trickle = setInterval(() => conn.socket.write(' '), 200);
    try {
      expect(await conn.closedAfter).toBeLessThan(4_000);
    } finally {
      clearInterval(trickle);
    }
    expect(conn.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes the socket of a client that trickles its headers past HEADERS_TIMEOUT_MS', async () => {
    const conn = await open();
    conn.socket.write('POST /probe/echo HTTP/1.1\r\n');
    const trickle = setInterval(() => conn.socket.write('X-Slow: 1\r\n'), 100);
    try {
      expect(await conn.closedAfter).toBeLessThan(4_000);
    } finally {
      clearInterval(trickle);
    }
    expect(conn.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes an idle keep-alive socket after KEEP_ALIVE_TIMEOUT_MS', async () => {
    const conn = await open();
    conn.socket.write(`${POST_HEAD(2)}{}`);
    expect(await conn.closedAfter).toBeLessThan(4_000);
    expect(conn.received()).toMatch(/^HTTP\/1\.1 200 [\s\S]*Connection: keep-alive/);
  });

  it('closes the socket after answering 401, instead of keeping it alive for a caller without a key', async () => {
    const conn = await open();
    conn.socket.write(`${POST_HEAD(2, false)}{}`);
    const closedAfter = await conn.closedAfter;
    expect(conn.received()).toMatch(/^HTTP\/1\.1 401 [\s\S]*Connection: close/);
    // well before the keep-alive timeout would have closed it
    expect(closedAfter).toBeLessThan(400);
  });
});
