import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

/** The full path of `command` on PATH, or null. */
export function findOnPath(command: string, envPath = process.env.PATH ?? ''): string | null {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** A free TCP port on the loopback interface (the OS picks it). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not obtain a free port'));
      });
    });
  });
}

/** Keeps the last lines a child printed, to explain a failure. */
export class OutputTail {
  private readonly lines: string[] = [];
  private partial = '';

  constructor(private readonly max = 40) {}

  push(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      this.lines.push(line);
      if (this.lines.length > this.max) this.lines.shift();
    }
  }

  toString(): string {
    return [...this.lines, this.partial].filter((l) => l.trim() !== '').join('\n');
  }
}

export interface CommandResult {
  code: number | null;
  output: string;
}

/** Runs a command to completion and collects the tail of its output. */
export async function runCommand(command: string, args: string[], options: SpawnOptions = {}): Promise<CommandResult> {
  return await new Promise((resolve, reject) => {
    const tail = new OutputTail(60);
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => tail.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => tail.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output: tail.toString() }));
  });
}

/** Resolves when the child has exited (at once if it already has). */
export async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
}

/**
 * Ends a child that stops when its stdin closes: closes stdin, then sends SIGTERM and finally SIGKILL if it has
 * not exited within `graceMs` each time.
 */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  child.stdin?.end();
  if (await exitsWithin(child, graceMs)) return;
  child.kill('SIGTERM');
  if (await exitsWithin(child, graceMs)) return;
  child.kill('SIGKILL');
  await exited(child);
}

async function exitsWithin(child: ChildProcess, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([exited(child).then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
