import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MongoClient } from 'mongodb';

/** What a process that started a local database publishes, so the worker and the CLI can use the same one. */
export interface LocalDbInfo {
  url: string;
  mode: string;
  description: string;
  pid: number;
  started_at: string;
}

const FILE = 'local-db.json';

export function publishLocalDb(dataDir: string, info: LocalDbInfo): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(path.join(dataDir, FILE), `${JSON.stringify(info, null, 2)}\n`);
}

/** Removes our entry (only if it is still ours). */
export function unpublishLocalDb(dataDir: string, pid = process.pid): void {
  const info = readInfo(dataDir);
  if (info?.pid === pid) rmSync(path.join(dataDir, FILE), { force: true });
}

/** The local database another running process of ours started, if its process is alive and it answers. */
export async function findRunningLocalDb(dataDir: string): Promise<LocalDbInfo | null> {
  const info = readInfo(dataDir);
  if (!info || !isAlive(info.pid) || info.pid === process.pid) return null;
  const client = new MongoClient(info.url, { serverSelectionTimeoutMS: 1_000, directConnection: true });
  try {
    await client.db('admin').command({ ping: 1 });
    return info;
  } catch {
    return null;
  } finally {
    await client.close().catch(() => undefined);
  }
}

function readInfo(dataDir: string): LocalDbInfo | null {
  const file = path.join(dataDir, FILE);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LocalDbInfo;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Calls `onGone` once when the process that started a borrowed local database has stopped (or another one
 * published a new database in its place): its server goes with it, and the borrower must not stay on a dead port.
 * Returns the function that stops watching.
 */
export function watchLocalDbOwner(dataDir: string, borrowed: LocalDbInfo, onGone: (reason: string) => void, everyMs = 1_000): () => void {
  const timer = setInterval(() => {
    const info = readInfo(dataDir);
    const gone = !isAlive(borrowed.pid)
      ? `its process (pid ${borrowed.pid}) has stopped`
      : info?.url !== borrowed.url
        ? `${FILE} no longer names it`
        : null;
    if (gone === null) return;
    clearInterval(timer);
    onGone(`the local database this process borrowed is gone: ${gone}`);
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
