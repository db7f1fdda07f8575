import { execSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureLauncherBuilt } from '../../src/local-db/embedded.js';
import { PROJECT_ROOT, childEnv, isAlive, killSpawned, spawnProcess, spawnService, waitGone, waitListening } from '../helpers/processes.js';

const tmpDirs: string[] = [];
function tempDir(label: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `rpc-${label}-`));
  tmpDirs.push(dir);
  return dir;
}
afterAll(() => {
  killSpawned();
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
});

describe('npm start without API_KEYS', () => {
  // one service for the three tests, in order: the last one stops it
  let proc: ReturnType<typeof spawnProcess>;
  let started: Awaited<ReturnType<typeof waitListening>>;
  let keyFile: string;
  beforeAll(async () => {
    const dataDir = tempDir('start');
    proc = spawnProcess('npm', ['start'], childEnv({ PORT: '0', DATA_DIR: dataDir }));
    started = await waitListening(proc);
    keyFile = path.join(dataDir, 'dev-api-key');
    await proc.waitFor(/no API_KEYS set: the development key .+ is in .+dev-api-key/);
  }, 90_000); // npm start builds first

  it('serves on the embedded database, to the development key', async () => {
    expect(started.database).toBe('embedded');
    expect(isAlive(started.db_pid as number)).toBe(true);
    const res = await fetch(`${started.url}/group/find`, {
      method: 'POST',
      headers: { authorization: `Bearer ${readFileSync(keyFile, 'utf8').trim()}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ _meta: { has_more: false, page: 1, page_size: 30, result_count: 0 }, data: [] });
  });

  it('names the key file, only its owner may read, without printing the key to a pipe', () => {
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    // stdout is a pipe here, as when it is redirected to a log file: the secret must not be in it
    expect(proc.output()).not.toContain(readFileSync(keyFile, 'utf8').trim());
  });

  it('exits 0 on SIGTERM, leaving no Java behind', async () => {
    proc.child.kill('SIGTERM');
    const { code } = await proc.exited;
    expect(code).toBe(0);
    expect(await waitGone(started.db_pid as number)).toBe(true);
    expect(isAlive(started.pid)).toBe(false);
  });
});

describe('npm start', () => {
  it('leaves neither the service nor Java behind when npm itself is killed with SIGKILL', async () => {
    const proc = spawnProcess('npm', ['start'], childEnv({ PORT: '0', DATA_DIR: tempDir('start-kill') }));
    const started = await waitListening(proc);
    const dbPid = started.db_pid as number;
    proc.child.kill('SIGKILL');
    expect(await waitGone(started.pid)).toBe(true);
    expect(await waitGone(dbPid)).toBe(true);
  });
});

describe('the service process', () => {
  it('takes the embedded database down with it when killed with SIGKILL', async () => {
    const proc = spawnService(childEnv({ PORT: '0', DATA_DIR: tempDir('kill') }));
    const started = await waitListening(proc);
    const dbPid = started.db_pid as number;
    expect(isAlive(dbPid)).toBe(true);
    proc.child.kill('SIGKILL');
    await proc.exited;
    expect(await waitGone(dbPid)).toBe(true);
  });

  it('keeps data in the H2 file across a restart', async () => {
    const dataDir = tempDir('restart');
    const env = childEnv({ PORT: '0', DATA_DIR: dataDir, API_KEYS: 'ops:restart-secret-0123456789' });
    const call = (url: string, action: string, body: object) =>
      fetch(`${url}/group/${action}`, {
        method: 'POST',
        headers: { authorization: 'Bearer restart-secret-0123456789', 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const first = spawnService(env);
    const a = await waitListening(first);
    expect((await call(a.url, 'create', { name: 'survivor' })).status).toBe(200);
    first.child.kill('SIGTERM');
    await first.exited;

    const second = spawnService(env);
    const b = await waitListening(second);
    const found = (await (await call(b.url, 'find', { name: 'survivor' })).json()) as { data: Array<{ name: string }> };
    expect(found.data.map((g) => g.name)).toEqual(['survivor']);
    second.child.kill('SIGTERM');
    await second.exited;
  }, 60_000); // two starts of the embedded server

  it('keeps the generated development key across a restart', async () => {
    const dataDir = tempDir('dev-key');
    const env = childEnv({ PORT: '0', DATA_DIR: dataDir, MONGODB_URL: inject('mongoUrl'), MONGODB_DB: 'dev_key_check', WORKER: 'off' });
    const first = spawnService(env);
    await waitListening(first);
    const secret = readFileSync(path.join(dataDir, 'dev-api-key'), 'utf8').trim();
    first.child.kill('SIGTERM');
    await first.exited;

    const second = spawnService(env);
    const { url } = await waitListening(second);
    const res = await fetch(`${url}/group/find`, { method: 'POST', headers: { authorization: `Bearer ${secret}` } });
    expect(res.status).toBe(200);
    second.child.kill('SIGTERM');
    await second.exited;
  });

  it('prints the development key when stdout is a terminal', async () => {
    const dataDir = tempDir('dev-key-tty');
    // script(1) gives the service a pseudo-terminal as stdout
    const command = `${process.execPath} --import tsx src/main.ts`;
    const proc = spawnProcess(
      'script',
      ['-qfec', command, '/dev/null'],
      childEnv({ PORT: '0', DATA_DIR: dataDir, MONGODB_URL: inject('mongoUrl'), MONGODB_DB: 'dev_key_tty', WORKER: 'off' }),
    );
    const line = await proc.waitFor(/Authorization: Bearer /);
    expect(line.trim()).toBe(`Authorization: Bearer ${readFileSync(path.join(dataDir, 'dev-api-key'), 'utf8').trim()}`);
    proc.child.kill('SIGTERM');
    await proc.exited;
  });

  it('exits with code 2 naming the variable when the config is bad', async () => {
    const proc = spawnService(childEnv({ PORT: 'eighty' }));
    const { code } = await proc.exited;
    expect(code).toBe(2);
    expect(proc.output()).toContain('Configuration error: PORT: must be an integer (got "eighty")');
  });

  it('says so in one line when its port is taken, stopping the database it started', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const dataDir = tempDir('busy-port');
      const proc = spawnService(childEnv({ PORT: String(port), DATA_DIR: dataDir }));
      const { code } = await proc.exited;
      expect(code).toBe(1);
      // the embedded server it had started for that data folder is gone too
      expect(() => execSync(`pgrep -f "[E]mbeddedMongo.*${dataDir}"`)).toThrow();
      expect(proc.output()).toContain(
        `cannot listen on 127.0.0.1:${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port} (set PORT or HOST)`,
      );
      expect(proc.output()).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  });

  it('refuses to start in production without API_KEYS', async () => {
    const proc = spawnService(childEnv({ NODE_ENV: 'production' }));
    const { code } = await proc.exited;
    expect(code).toBe(2);
    expect(proc.output()).toContain('Configuration error: API_KEYS: is required when NODE_ENV=production');
  });

  it('says what to install or set when no database can be had', async () => {
    // a PATH with neither mongod nor java nor mvn
    const proc = spawnProcess(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts'],
      childEnv({ PATH: '/nonexistent', PORT: '0', DATA_DIR: tempDir('nodb') }),
    );
    const { code } = await proc.exited;
    expect(code).toBe(1);
    expect(proc.output()).toContain(
      'No MongoDB available. Set MONGODB_URL to a MongoDB >= 6 (mongodb://host:27017), or put mongod on PATH, or install Java 17 (java, javac) and Maven (mvn) for the embedded mongo-java-server.',
    );
  });
});

describe('a mongod on PATH', () => {
  it('is preferred to the embedded server, started on a free port with its data under DATA_DIR, stopped with the service', async () => {
    // A stand-in `mongod`: it accepts mongod's arguments and serves the wire protocol (mongo-java-server) but,
    // like the real one, ignores its stdin, so only our guard can stop it.
    const classpath = await ensureLauncherBuilt(PROJECT_ROOT, path.join(PROJECT_ROOT, '.cache', 'embedded-mongo'), () => undefined);
    const bin = tempDir('fake-mongod-bin');
    const argsFile = path.join(bin, 'args.txt');
    writeFileSync(
      path.join(bin, 'mongod'),
      [
        '#!/bin/sh',
        `echo "$@" > '${argsFile}'`,
        'while [ $# -gt 0 ]; do case "$1" in --port) port="$2"; shift 2;; *) shift;; esac; done',
        `exec java -cp '${classpath}' EmbeddedMongo --backend memory --port "$port" --watch-stdin false`,
        '',
      ].join('\n'),
    );
    chmodSync(path.join(bin, 'mongod'), 0o755);
    const dataDir = tempDir('mongod-data');
    const proc = spawnService(childEnv({ PATH: `${bin}${path.delimiter}${process.env.PATH}`, PORT: '0', DATA_DIR: dataDir }));
    const started = await waitListening(proc);
    expect(started.database).toBe('mongod');

    const args = readFileSync(argsFile, 'utf8').trim();
    expect(args).toMatch(new RegExp(`^--dbpath ${path.join(dataDir, 'mongod')} --port \\d+ --bind_ip 127\\.0\\.0\\.1 --quiet$`));

    // [E] keeps pgrep from matching the shell that runs it
    const port = args.split(' ')[3];
    const javaPids = execSync(`pgrep -f "[E]mbeddedMongo --backend memory --port ${port} "`).toString().trim().split('\n').map(Number);
    expect(javaPids).toHaveLength(1);
    proc.child.kill('SIGKILL');
    await proc.exited;
    expect(await waitGone(javaPids[0] as number)).toBe(true);
  });
});

describe('shutdown and logs', () => {
  it('finishes a request in flight when told to stop with SIGTERM, then exits cleanly', async () => {
    const env = childEnv({
      PORT: '0',
      DATA_DIR: tempDir('inflight'),
      MONGODB_URL: inject('mongoUrl'),
      MONGODB_DB: 'inflight_check',
      API_KEYS: 'ops:inflight-secret-0123456789',
      WORKER: 'off',
      FAULT_INJECTION: 'enabled',
      STALL_AT: 'transfer.before_apply_transfer_source',
      STALL_MS: '1500',
    });
    const proc = spawnService(env);
    const { url } = await waitListening(proc);
    const call = (action: string, body: object) =>
      fetch(`${url}/${action}`, {
        method: 'POST',
        headers: { authorization: 'Bearer inflight-secret-0123456789', 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }));
    const wallets: string[] = [];
    for (const phone of [`1710000${Date.now() % 10000}`, `1720000${Date.now() % 10000}`]) {
      const account = await call('account/create', { name: 'inflight', phone, state: 100 });
      wallets.push((await call('wallet/create', { account_id: account.body._id })).body._id as string);
    }
    // the transfer stalls (its event loop frozen) while SIGTERM arrives; it is refused for want of money, quickly
    const transfer = call('wallet/transfer', {
      from_wallet_id: wallets[0],
      to_wallet_id: wallets[1],
      money: 1,
      out_trade_no: `inflight-${Date.now()}`,
    });
    await proc.waitFor(/fault injection: stalling/);
    proc.child.kill('SIGTERM');
    expect(await transfer).toMatchObject({ status: 409, body: { error: { code: 'insufficient_funds' } } });
    const answeredAt = Date.now();
    expect((await proc.exited).code).toBe(0);
    // regression: the client's keep-alive connection, idle after the answer, held the close for 5 s
    expect(Date.now() - answeredAt).toBeLessThan(2_000);
    expect(proc.output()).toMatch(/"reason":"SIGTERM","msg":"shutting down"/);
  });

  it('logs for people when LOG_PRETTY is on', async () => {
    const proc = spawnService(
      childEnv({ PORT: '0', DATA_DIR: tempDir('pretty'), MONGODB_URL: inject('mongoUrl'), MONGODB_DB: 'pretty_check', LOG_PRETTY: 'true' }),
    );
    const line = await proc.waitFor(/listening on http/);
    expect(line.trimStart().startsWith('{')).toBe(false);
    expect(line).toMatch(/INFO/);
    proc.child.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
  });

  it('writes one pretty line per request', async () => {
    const proc = spawnService(
      childEnv({
        PORT: '0',
        DATA_DIR: tempDir('pretty-request'),
        MONGODB_URL: inject('mongoUrl'),
        MONGODB_DB: 'pretty_request',
        LOG_PRETTY: 'true',
        API_KEYS: 'ops:pretty-secret-0123456789',
      }),
    );
    const listening = await proc.waitFor(/listening on http/);
    const url = /listening on (http:\/\/\S+)/.exec(listening)?.[1] as string;
    await fetch(`${url}/group/find`, {
      method: 'POST',
      headers: { authorization: 'Bearer pretty-secret-0123456789', 'x-request-id': 'pretty-1' },
    });
    const line = await proc.waitFor(/pretty-1/);
    expect(line).toMatch(/INFO.*request.*"status":200/);
    proc.child.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
  });
});

describe('a dead parent', () => {
  it("takes the service down even when the parent took the service's stdout with it", async () => {
    // regression: shutdown logged first, the write to the broken pipe threw, and the process never exited
    const parent = spawnProcess(
      process.execPath,
      ['test/fixtures/parent-that-dies.mjs'],
      childEnv({ PORT: '0', DATA_DIR: tempDir('orphan'), MONGODB_URL: inject('mongoUrl'), MONGODB_DB: 'orphan_check' }),
    );
    const line = await parent.waitFor(/^service pid \d+$/);
    const pid = Number(line.split(' ').pop());
    await parent.exited;
    expect(await waitGone(pid, 15_000)).toBe(true);
  });
});
