import { execSync } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from 'node:net';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { childEnv, killSpawned, spawnProcess, spawnService, waitGone, waitListening } from '../helpers/processes.js';

const KEY = 'ops:graceful-secret-0123456789';
const AUTH = 'Bearer graceful-secret-0123456789';
const tmpDirs: string[] = [];
afterAll(() => {
  killSpawned();
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
});

/** Starts a POST whose body is sent in two parts; `rest()` sends the second one and resolves with the answer. */
function postInTwoParts(url: string, path: string, body: string) {
  const half = Math.floor(body.length / 2);
  let answer!: Promise<{ status: number; body: unknown }>;
  const req = request(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: AUTH, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  answer = new Promise((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  req.write(body.slice(0, half));
  return {
    rest: () => {
      req.end(body.slice(half));
      return answer;
    },
  };
}

describe('Ctrl-C in a terminal', () => {
  it('lets a large batch_create in flight finish whole when SIGINT reaches the whole process group, leaving nothing running', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'rpc-ctrl-c-'));
    tmpDirs.push(dataDir);
    // a 1000-row insert into H2 on a loaded machine can outlast the default database bound; that is not the point here
    const env = childEnv({ PORT: '0', DATA_DIR: dataDir, API_KEYS: KEY, WORKER: 'off', DB_TIMEOUT_MS: '60000' });
    // npm start in a process group of its own, as a terminal runs a foreground job
    const proc = spawnProcess('npm', ['start'], env, { detached: true });
    const started = await waitListening(proc);
    const dbPid = started.db_pid as number;
    const stamp = Date.now() % 1_000_000;
    const docs = Array.from({ length: 1000 }, (_, i) => ({
      name: `batch ${i}`,
      phone: `139${String(stamp).padStart(6, '0')}${String(i).padStart(4, '0')}`,
      state: 100,
    }));
    const batch = postInTwoParts(started.url, '/account/batch_create', JSON.stringify({ docs }));
    await new Promise((resolve) => setTimeout(resolve, 500)); // the headers are in: the request is in flight
    process.kill(-(proc.child.pid as number), 'SIGINT'); // what Ctrl-C does: every process of the group
    await new Promise((resolve) => setTimeout(resolve, 200));
    const answer = await batch.rest();
    expect(answer).toEqual({ status: 200, body: { ok: true, created_count: 1000, failed_count: 0, errors: [], _ids: expect.any(Array) } });
    expect((answer.body as { _ids: string[] })._ids).toHaveLength(1000);
    await proc.exited;
    expect(proc.output()).toMatch(/"msg":"stopped"/);
    expect(await waitGone(started.pid)).toBe(true);
    expect(await waitGone(dbPid)).toBe(true);
    expect(() => execSync(`pgrep -f "[E]mbeddedMongo.*${dataDir}"`)).toThrow();

    // the batch is whole in the H2 file
    const again = spawnService(env);
    const { url } = await waitListening(again);
    const res = await fetch(`${url}/account/find`, {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      body: '{"_meta": {"limit": 1}}',
    });
    expect(((await res.json()) as { _meta: { result_count: number } })._meta.result_count).toBe(1000);
    again.child.kill('SIGTERM');
    await again.exited;
  }, 120_000);
});

describe('SIGTERM', () => {
  it('does not wait SHUTDOWN_TIMEOUT_MS for a client that trickles its body', async () => {
    const proc = spawnService(
      childEnv({
        PORT: '0',
        MONGODB_URL: inject('mongoUrl'),
        MONGODB_DB: 'trickle_stop',
        API_KEYS: KEY,
        WORKER: 'off',
        SHUTDOWN_TIMEOUT_MS: '30000',
      }),
    );
    const { url } = await waitListening(proc);
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      `POST /group/find HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nAuthorization: ${AUTH}\r\n\r\n{`,
    );
    const trickle = setInterval(() => socket.write(' '), 3_000); // 1 byte every 3 s
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const signalledAt = Date.now();
      proc.child.kill('SIGTERM');
      expect((await proc.exited).code).toBe(0);
      expect(Date.now() - signalledAt).toBeLessThan(10_000);
      expect(proc.output()).toMatch(/"msg":"stopped"/);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  }, 60_000);
});
