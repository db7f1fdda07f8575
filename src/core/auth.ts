import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKey } from './config.js';

/** Who made a request: the name of the key used, or null for a public action called without one. */
export interface Caller {
  keyName: string | null;
}

/** A function that names the key a request's Authorization header carries, or returns null. */
export type Authenticator = (authorization: string | undefined) => string | null;

/**
 * Builds the bearer-key check. Secrets are compared as SHA-256 digests with timingSafeEqual, and every key is
 * compared on every call, so neither the length nor the position of a matching key shows in the timing.
 */
export function createAuthenticator(keys: readonly ApiKey[]): Authenticator {
  if (keys.length === 0) throw new Error('createAuthenticator: at least one API key is required');
  const digests = keys.map((key) => ({ name: key.name, digest: sha256(key.secret) }));
  return function authenticate(authorization) {
    const token = bearerToken(authorization);
    if (token === null) return null;
    const presented = sha256(token);
    let match: string | null = null;
    for (const key of digests) {
      if (timingSafeEqual(presented, key.digest) && match === null) match = key.name;
    }
    return match;
  };
}

function bearerToken(authorization: string | undefined): string | null {
  if (!authorization) return null;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
  return match?.[1] ?? null;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
