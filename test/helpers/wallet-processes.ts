import { inject } from 'vitest';
import { childEnv, spawnProcess, spawnService, waitListening, type Spawned } from './processes.js';

export const PROCESS_KEY = 'wallet-tests-secret-0123456789';

/** Environment of API/worker processes on one test database, with short timings so recovery is quick. */
export function walletEnv(dbName: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return childEnv({
    MONGODB_URL: inject('mongoUrl'),
    MONGODB_DB: dbName,
    API_KEYS: `tests:${PROCESS_KEY}`,
    PORT: '0',
    LOG_LEVEL: 'info',
    WALLET_LOCK_TTL_MS: '800',
    WALLET_RETRY_WAIT_MS: '2000',
    WORKER_POLL_MS: '50',
    WORKER_LEASE_TTL_MS: '800',
    WORKER_SWEEP_INTERVAL_MS: '200',
    GATEWAY_SIM_DECLINE: '^decline-',
    FAULT_INJECTION: 'enabled',
    ...extra,
  });
}

export interface ApiProcess {
  proc: Spawned;
  url: string;
  call(path: string, body: object): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

/** Starts `src/main.ts` and waits until it listens. */
export async function startApi(env: NodeJS.ProcessEnv): Promise<ApiProcess> {
  const proc = spawnService(env);
  const { url } = await waitListening(proc);
  return {
    proc,
    url,
    async call(path, body) {
      const res = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PROCESS_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    },
    async stop() {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGTERM');
      await proc.exited;
    },
  };
}

/** Starts `src/worker-main.ts` (the worker alone) and waits until it runs. */
export async function startWorker(env: NodeJS.ProcessEnv): Promise<Spawned> {
  const proc = spawnProcess(process.execPath, ['--import', 'tsx', 'src/worker-main.ts'], env);
  await proc.waitFor(/payment worker running/);
  return proc;
}

/** `npm run cli -- <args>` as a process: its exit code and output. */
export async function runCli(env: NodeJS.ProcessEnv, args: string[]): Promise<{ code: number | null; output: string }> {
  const proc = spawnProcess(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], env);
  const { code } = await proc.exited;
  return { code, output: proc.output() };
}

/** `npm run cli -- wallet verify --require-settled` as a process: its exit code and output. */
export function runVerify(env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return runCli(env, ['wallet', 'verify', '--require-settled']);
}
