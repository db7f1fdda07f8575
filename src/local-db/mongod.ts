import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { MongoClient } from 'mongodb';
import { OutputTail, exited, freePort, stopChild } from './processes.js';
import type { LocalServer, ProvisionLog } from './types.js';

const START_TIMEOUT_MS = 60_000;

export interface MongodOptions {
  mongodPath: string;
  dbPath: string;
  /** Remove dbPath when stopped (test runs). */
  removeOnStop: boolean;
  /** The port to listen on (default: a free one). */
  port?: number;
  log: ProvisionLog;
}

/**
 * mongod does not watch its stdin, so it runs under a small sh guard that does: when our end of the pipe closes
 * (we exited or were killed), the guard sends mongod SIGTERM and waits for its clean shutdown.
 */
const GUARD =
  'mongod_bin="$1"; shift; "$mongod_bin" "$@" & child=$!; ' +
  'trap \'kill -TERM "$child" 2>/dev/null\' TERM INT; ' +
  'cat >/dev/null; kill -TERM "$child" 2>/dev/null; wait "$child"';

/** Starts the mongod found on PATH on a free loopback port with its data under dbPath. */
export async function startMongod(options: MongodOptions): Promise<LocalServer> {
  mkdirSync(options.dbPath, { recursive: true });
  const port = options.port ?? (await freePort());
  const args = ['--dbpath', options.dbPath, '--port', String(port), '--bind_ip', '127.0.0.1', '--quiet'];
  // its own process group, as for the embedded server: Ctrl-C is ours to handle, the guard stops mongod after us
  const child = spawn('sh', ['-c', GUARD, 'mongod-guard', options.mongodPath, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const output = new OutputTail();
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
  let stopping = false;
  child.on('exit', (code, signal) => {
    if (!stopping) options.log('error', `mongod exited unexpectedly (code ${code}, signal ${signal}): ${output}`);
  });

  const url = `mongodb://127.0.0.1:${port}/`;
  try {
    await waitUntilReachable(url, () => child.exitCode !== null, output);
  } catch (err) {
    stopping = true;
    await stopChild(child);
    throw err;
  }
  return {
    url,
    pid: child.pid,
    exited: exited(child),
    async stop() {
      stopping = true;
      await stopChild(child, 15_000);
      if (options.removeOnStop) rmSync(options.dbPath, { recursive: true, force: true });
    },
  };
}

async function waitUntilReachable(url: string, hasExited: () => boolean, output: OutputTail): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (hasExited()) throw new Error(`mongod exited before accepting connections:\n${output}`);
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 500, directConnection: true });
    try {
      await client.db('admin').command({ ping: 1 });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      await client.close().catch(() => undefined);
    }
  }
  throw new Error(`mongod did not accept connections within ${START_TIMEOUT_MS / 1000}s:\n${output}`);
}
