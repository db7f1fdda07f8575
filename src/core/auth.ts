import { timingSafeEqual } from 'node:crypto';
import type { ApiKey } from './config.js';

/** Who made a request: the name of the key used, or null for a public action called without one. */
export interface Caller {
  keyName: string | null;
}

/** A function that names the key a request's Authorization header carries, or returns null. */
export type Authenticator = (authorization: string | undefined) => string | null;

/**
 * Builds the bearer-key check. Every key is compared on every call, each with timingSafeEqual over a buffer of
 * that secret's own length (the token is copied into it), so the time taken depends on the configured secrets,
 * never on how much of a presented token matches or how long it is.
 */
export function createAuthenticator(keys: readonly ApiKey[]): Authenticator {
  if (keys.length === 0) throw new Error('createAuthenticator: at least one API key is required');
  const secrets = keys.map((key) => ({ name: key.name, secret: Buffer.from(key.secret, 'utf8'), scratch: Buffer.alloc(Buffer.byteLength(key.secret, 'utf8')) }));
  return function authenticate(authorization) {
    const token = bearerToken(authorization);
    if (token === null) return null;
    const presented = Buffer.from(token, 'utf8');
    let match: string | null = null;
    for (const key of secrets) {
      key.scratch.fill(0);
      presented.copy(key.scratch, 0, 0, key.scratch.length);
      const same = timingSafeEqual(key.scratch, key.secret) && presented.length === key.secret.length;
      if (same && match === null) match = key.name;
    }
    return match;
  };
}

function bearerToken(authorization: string | undefined): string | null {
  if (!authorization) return null;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
  return match?.[1] ?? null;
}
