import { timingSafeEqual } from 'node:crypto';
import type { ApiKey } from './config.js';

/** One grant of an API key: `read`, `write`, `account` (both), `account.read`, `account.write`. */
export interface KeyScope {
  /** null: every resource. */
  resource: string | null;
  access: 'read' | 'write' | 'any';
}

export type { Caller } from './callers.js';

/** A function that names the key a request's Authorization header carries, or returns null. */
export type Authenticator = (authorization: string | undefined) => string | null;

/**
 * Builds the bearer-key check. Every key is compared on every call, each with timingSafeEqual over a buffer of
 * that secret's own length (the token is copied into it), so the time taken depends on the configured secrets,
 * never on how much of a presented token matches or how long it is.
 */
export function createAuthenticator(keys: readonly ApiKey[]): Authenticator {
  if (keys.length === 0) throw new Error('createAuthenticator: at least one API key is required');
  const secrets = keys.map((key) => ({
    name: key.name,
    secret: Buffer.from(key.secret, 'utf8'),
    scratch: Buffer.alloc(Buffer.byteLength(key.secret, 'utf8')),
  }));
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

const SCOPE = /^(?:(read|write)|([a-z][a-z0-9_]*)(?:\.(read|write))?)$/;

/** Parses `read|group.write|wallet` (the third part of an API_KEYS entry); a string says what is wrong. */
export function parseScopes(text: string): KeyScope[] | string {
  const scopes: KeyScope[] = [];
  for (const item of text.split('|')) {
    const match = SCOPE.exec(item.trim());
    if (!match) return `bad scope "${item}" (use read, write, <resource>, <resource>.read or <resource>.write, joined by |)`;
    const [, global, resource, access] = match;
    scopes.push(
      global
        ? { resource: null, access: global as 'read' | 'write' }
        : { resource: resource as string, access: (access as 'read' | 'write' | undefined) ?? 'any' },
    );
  }
  return scopes;
}

/** Whether a key with these scopes (undefined: unlimited) may call an action of `resource` with that access. */
export function scopesAllow(scopes: readonly KeyScope[] | undefined, resource: string, access: 'read' | 'write'): boolean {
  if (scopes === undefined) return true;
  return scopes.some(
    (scope) => (scope.resource === null || scope.resource === resource) && (scope.access === 'any' || scope.access === access),
  );
}

/** The first scope that names a resource the service does not have, as a message (a typo would silently forbid). */
export function unknownScopeResource(keys: readonly ApiKey[], resources: ReadonlySet<string>): string | null {
  for (const key of keys) {
    for (const scope of key.scopes ?? []) {
      if (scope.resource !== null && !resources.has(scope.resource)) {
        return `API_KEYS: key "${key.name}": scope "${scope.resource}" names no resource (resources: ${[...resources].join(', ')})`;
      }
    }
  }
  return null;
}
