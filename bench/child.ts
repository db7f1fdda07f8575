/**
 * What both bench servers share: how they learn their database from the parent, how they report their port, and
 * how they stop. A server child is started by bench/api.ts with a pipe on stdin; it stops when that pipe closes
 * (so it cannot outlive the bench, even if the bench is killed) or on SIGTERM/SIGINT.
 */
import type { Server } from 'node:http';
import type { Express } from 'express';

/** The one API key both servers accept (bench only; never a real secret). */
export const BENCH_KEY = { name: 'bench', secret: 'bench-secret-0123456789' } as const;

/** The environment the parent passes to a server child. */
export function benchEnv(): { url: string; dbName: string } {
  const url = process.env.BENCH_MONGODB_URL;
  const dbName = process.env.BENCH_DB;
  if (!url || !dbName) throw new Error('BENCH_MONGODB_URL and BENCH_DB must be set (this file is started by bench/api.ts)');
  return { url, dbName };
}

/**
 * Listens on 127.0.0.1 on a free port, prints `{"port":N}` as the first stdout line, and installs the shutdown:
 * on stdin end, SIGTERM or SIGINT it closes the server and its connections, runs `close`, and exits 0 (a clean exit,
 * so `--cpu-prof` writes its profile).
 */
export async function serve(app: Express, close: () => Promise<void>): Promise<void> {
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1');
    s.once('listening', () => resolve(s));
    s.once('error', reject);
  });
  let stopping = false;
  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    const hardExit = setTimeout(() => {
      process.stderr.write(`[bench child ${process.pid}] shutdown (${reason}) took too long, exiting\n`);
      process.exit(1);
    }, 5_000);
    hardExit.unref();
    server.close();
    server.closeAllConnections();
    close()
      .catch((err: unknown) => process.stderr.write(`[bench child ${process.pid}] close failed: ${String(err)}\n`))
      .finally(() => process.exit(0));
  };
  process.stdin.on('end', () => stop('stdin closed'));
  process.stdin.on('close', () => stop('stdin closed'));
  process.stdin.resume();
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
}

/** Reports a startup failure on stderr and exits 1 (the parent sees the exit before any port). */
export function failStartup(err: unknown): never {
  process.stderr.write(`[bench child ${process.pid}] cannot start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
}

/** Starts bench/serve-service.ts (through tsx) on `url`/`dbName` in its own process; resolves once it listens. */
export async function startServiceChild(
  root: string,
  url: string,
  dbName: string,
  nodeArgs: string[] = [],
): Promise<{ child: import('node:child_process').ChildProcess; port: number }> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'bench/serve-service.ts'], {
    cwd: root,
    env: { ...process.env, BENCH_MONGODB_URL: url, BENCH_DB: dbName },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (chunk: Buffer) =>
      resolve((JSON.parse(chunk.toString().split('\n')[0] as string) as { port: number }).port),
    );
    child.once('exit', (code) => reject(new Error(`service exited with ${code}`)));
  });
  return { child, port };
}
