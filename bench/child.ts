/**
 * What both bench servers share: how they learn their database from the parent, how they report their port, and
 * how they stop. A server child is started by bench/api.ts with a pipe on stdin; it stops when that pipe closes
 * (so it cannot outlive the bench, even if the bench is killed) or on SIGTERM/SIGINT.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { MongoClient } from 'mongodb';

/** The one API key both servers accept (bench only; never a real secret). */
export const BENCH_KEY = { name: 'bench', secret: 'bench-secret-0123456789' } as const;

const KEY = Buffer.from(BENCH_KEY.secret, 'utf8');
const SCRATCH = Buffer.alloc(KEY.length);

/**
 * Whether an Authorization header carries the bench key, compared in constant time the way the service compares
 * it (the token copied into a buffer of the key's length); the hand-written servers' key check.
 */
export function carriesBenchKey(authorization: string | undefined): boolean {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
  const presented = match?.[1] ? Buffer.from(match[1], 'utf8') : undefined;
  if (!presented) return false;
  SCRATCH.fill(0);
  presented.copy(SCRATCH, 0, 0, SCRATCH.length);
  return timingSafeEqual(SCRATCH, KEY) && presented.length === KEY.length;
}

/** The environment the parent passes to a server child. */
export function benchEnv(): { url: string; dbName: string } {
  const url = process.env.BENCH_MONGODB_URL;
  const dbName = process.env.BENCH_DB;
  if (!url || !dbName) throw new Error('BENCH_MONGODB_URL and BENCH_DB must be set (this file is started by bench/api.ts)');
  return { url, dbName };
}

/**
 * BENCH_COUNT_COMMANDS=1 (bench/api.ts starts a counting copy of each server with it): the server makes its driver
 * client with `monitorCommands: true` and passes it to `countCommands`. Off in the measured servers, whose clients
 * then do not build an event per command.
 */
export const COUNT_COMMANDS = process.env.BENCH_COUNT_COMMANDS === '1';

/** The database commands `client` has started so far, by command name (`find`, `count`, `aggregate`, …). */
export function countCommands(client: MongoClient): () => Record<string, number> {
  const counts: Record<string, number> = {};
  client.on('commandStarted', (event) => {
    counts[event.commandName] = (counts[event.commandName] ?? 0) + 1;
  });
  return () => ({ ...counts });
}

/** Where a counting server answers its `countCommands` figures as JSON (no auth: only the counting copies have it). */
export const COMMANDS_PATH = '/_bench/commands';

/**
 * Listens on 127.0.0.1 on a free port, prints `{"port":N}` as the first stdout line, and installs the shutdown:
 * on stdin end, SIGTERM or SIGINT it closes the server and its connections, runs `close`, and exits 0 (a clean exit,
 * so `--cpu-prof` writes its profile). With `commands` (a counting server), `GET /_bench/commands` answers them.
 */
export async function serve(app: RequestListener, close: () => Promise<void>, commands?: () => Record<string, number>): Promise<void> {
  const handler: RequestListener = commands
    ? (req, res) => {
        if (req.url === COMMANDS_PATH) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(commands()));
        else app(req, res);
      }
    : app;
  const server: Server = await new Promise((resolve, reject) => {
    const s = createServer(handler).listen(0, '127.0.0.1');
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
