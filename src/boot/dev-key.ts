import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ApiKey } from '../core/config.js';

/** The file under DATA_DIR that keeps the development key (only the secret, mode 0600). */
export const DEV_KEY_FILE = 'dev-api-key';

const DEV_KEY_NAME = 'dev';
const SECRET = /^[A-Za-z0-9_-]{32,}$/;

/**
 * The development key of this data folder: read from `$DATA_DIR/dev-api-key`, or made and kept there, so a
 * restart and a second process use the same one. The file appears whole or not at all (written aside, then
 * hard-linked into place, which fails if another process got there first), so two first starts agree on one key.
 */
export function loadOrCreateDevKey(dataDir: string): ApiKey {
  const file = path.join(dataDir, DEV_KEY_FILE);
  const existing = readKey(file);
  if (existing) return existing;
  mkdirSync(dataDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
  const key = readKey(file);
  if (!key) throw new Error(`${file} does not hold a usable key: delete it to have a new one made`);
  return key;
}

function readKey(file: string): ApiKey | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
  return SECRET.test(text) ? { name: DEV_KEY_NAME, secret: text } : null;
}

/**
 * Shows the development key to a person: on a terminal it is printed with a curl example; when stdout is not
 * a terminal (a redirect, a supervisor, a log file) only the file that holds it is named.
 */
export function announceDevKey(key: ApiKey, url: string, dataDir: string, tell: (message: string) => void): void {
  if (!process.stdout.isTTY) {
    tell(`no API_KEYS set: the development key "${key.name}" is in ${path.join(dataDir, DEV_KEY_FILE)}`);
    return;
  }
  process.stdout.write(
    `\nNo API_KEYS set: the development key (name "${key.name}", kept in ${path.join(dataDir, DEV_KEY_FILE)}):\n\n` +
      `    Authorization: Bearer ${key.secret}\n\n` +
      `  curl -s -X POST ${url}/account/find \\\n` +
      `    -H 'Authorization: Bearer ${key.secret}' -H 'Content-Type: application/json' -d '{}'\n\n`,
  );
}
