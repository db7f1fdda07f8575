import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** A process of ours under test, with everything it printed. */
export interface Spawned {
  child: ChildProcess;
  output(): string;
  /** Resolves with the first line matching `pattern` (rejects if the process exits first or time runs out). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Environment for a child: ours minus the database URL and keys, plus `extra`. */
export function childEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'development', LOG_PRETTY: 'false', LOG_LEVEL: 'info' };
  delete env.MONGODB_URL;
  delete env.API_KEYS;
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

const running = new Set<ChildProcess>();

/** Kills every process a test started that is still running (call in afterAll; also runs when the worker exits). */
export function killSpawned(): void {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}
process.on('exit', killSpawned);

/**
 * Runs `command args` in the project folder and collects its output. `detached` puts it in a process group of
 * its own (as a shell does with a job), so a test can signal the whole group as a terminal's Ctrl-C does.
 */
export function spawnProcess(command: string, args: string[], env: NodeJS.ProcessEnv, options: { detached?: boolean } = {}): Spawned {
  const child = spawn(command, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached ?? false });
  running.add(child);
  child.on('close', () => running.delete(child));
  let text = '';
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  const onData = (chunk: Buffer) => {
    text += chunk.toString();
    for (const waiter of [...waiters]) {
      const line = text.split('\n').find((l) => waiter.pattern.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  // 'close', not 'exit': 'exit' can come before the last of the output has been read, and a process that prints
  // a line and crashes a millisecond later would look as if it never printed it
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    output: () => text,
    exited,
    waitFor(pattern, timeoutMs = 120_000) {
      const line = text.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) return Promise.resolve(line);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; output:\n${text}`)), timeoutMs);
        waiters.push({
          pattern,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
        void exited.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(new Error(`exited (code ${code}, signal ${signal}) before ${pattern}; output:\n${text}`));
        });
      });
    },
  };
}

/** The service from source (node + tsx), as `npm start` runs it after the build. */
export function spawnService(env: NodeJS.ProcessEnv): Spawned {
  return spawnProcess(process.execPath, ['--import', 'tsx', 'src/main.ts'], env);
}

/** The startup line of the service, parsed: url, database mode and the pid of a database it started. */
export async function waitListening(proc: Spawned): Promise<{ url: string; database: string; db_pid?: number; pid: number }> {
  const line = await proc.waitFor(/"msg":"listening on/);
  return JSON.parse(line) as { url: string; database: string; db_pid?: number; pid: number };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until `pid` no longer exists; false if it is still there after `timeoutMs`. */
export async function waitGone(pid: number, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !isAlive(pid);
}
