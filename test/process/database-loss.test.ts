import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { childEnv, isAlive, killSpawned, spawnService, type Spawned, waitListening } from '../helpers/processes.js';

const KEY = 'ops:db-loss-secret-0123456789';
const AUTH = 'Bearer db-loss-secret-0123456789';
const tmpDirs: string[] = [];
afterAll(() => {
  killSpawned();
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
});

function envFor(label: string) {
  const dataDir = mkdtempSync(path.join(tmpdir(), `rpc-${label}-`));
  tmpDirs.push(dataDir);
  return childEnv({ PORT: '0', DATA_DIR: dataDir, API_KEYS: KEY, WORKER: 'off' });
}

async function call(url: string, action: string, body: object): Promise<{ status: number; body: { data: Array<{ name: string }> } }> {
  const res = await fetch(`${url}/group/${action}`, {
    method: 'POST',
    headers: { authorization: AUTH, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { data: Array<{ name: string }> } };
}

/** The pid of the database the owner started again, from its log line. */
async function restartedPid(owner: Spawned): Promise<number> {
  const line = await owner.waitFor(/restarted the local database/, 60_000);
  return Number(/\(pid (\d+)\)/.exec(line)?.[1]);
}

describe('a local database that dies', () => {
  it('is started again on the same port with the data of its H2 file, the service answering from it', async () => {
    const owner = spawnService(envFor('db-restart'));
    const { url, db_pid } = await waitListening(owner);
    expect((await call(url, 'create', { name: 'survivor' })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // H2 commits in the background: let it reach the file
    process.kill(db_pid as number, 'SIGKILL');

    const pid = await restartedPid(owner);
    expect(pid).not.toBe(db_pid);
    expect(isAlive(pid)).toBe(true);
    const found = await call(url, 'find', { name: 'survivor' });
    expect(found.status).toBe(200);
    expect(found.body.data.map((g: { name: string }) => g.name)).toEqual(['survivor']);
    owner.child.kill('SIGTERM');
    expect((await owner.exited).code).toBe(0);
  }, 120_000);

  it('is followed by a process that borrowed it, which exits non-zero once the owner has stopped', async () => {
    const env = envFor('db-borrow');
    const owner = spawnService(env);
    const first = await waitListening(owner);
    const borrower = spawnService(env);
    const second = await waitListening(borrower);
    expect(second.database).toBe('shared');

    process.kill(first.db_pid as number, 'SIGKILL');
    await restartedPid(owner);
    // same port, so the borrower's driver reconnects by itself
    expect((await call(second.url, 'create', { name: 'after restart' })).status).toBe(200);

    owner.child.kill('SIGTERM');
    await owner.exited;
    const { code } = await borrower.exited;
    expect(code).toBe(1);
    // the owner takes local-db.json away before its database process has exited: the borrower may see either first
    expect(borrower.output()).toMatch(
      /the local database this process borrowed is gone: (its process \(pid \d+\) has stopped|local-db\.json no longer names it)/,
    );
  }, 120_000);
});
