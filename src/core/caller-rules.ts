import type { CallerDeclaration, CallerKind } from './callers.js';
import { type ApiError, apiError } from './errors.js';

const DECLARATIONS: readonly CallerDeclaration[] = ['public', 'user', 'service'];

/** What `allowedCallers` reads of an action's declaration. */
interface CallersDeclared {
  public?: boolean;
  callers?: CallerDeclaration[];
}

/** A mistake in an action's `public` / `callers`, as a message; null when they are fine. */
export function checkCallers(definition: CallersDeclared): string | null {
  if (definition.public !== undefined && typeof definition.public !== 'boolean') return '`public` must be true or false';
  if (definition.callers === undefined) return null;
  if (!Array.isArray(definition.callers) || definition.callers.length === 0) return '`callers` must list public, user and/or service';
  const unknown = definition.callers.find((c) => !DECLARATIONS.includes(c));
  if (unknown !== undefined) return `\`callers\`: unknown caller "${String(unknown)}" (use public, user, service)`;
  if (definition.public === false && definition.callers.includes('public')) return '`public: false` contradicts `callers: [public]`';
  return null;
}

/** The kinds of caller an action takes: public takes every kind; the default is API keys only. */
export function allowedCallers(definition: CallersDeclared): readonly CallerKind[] {
  const declared = new Set<CallerDeclaration>(definition.callers ?? ['service']);
  if (definition.public === true || declared.has('public')) return ['anonymous', 'user', 'service'];
  return (['user', 'service'] as const).filter((kind) => declared.has(kind));
}

/** The declaration as the docs show it (`public`, `user`, `service`, `user, service`). */
export function callersLabel(kinds: readonly CallerKind[]): string {
  return kinds.includes('anonymous') ? 'public' : kinds.join(', ');
}

/** The 403 of a caller of the wrong kind (a user token on a service action, an API key on a user action). */
export function callerForbidden(action: string, kind: CallerKind, kinds: readonly CallerKind[]): ApiError {
  return apiError('caller_forbidden', { action, kind, allowed: callersLabel(kinds) });
}

/** The bearer credential an action takes, as the docs name it. */
export function credentialLabel(kinds: readonly CallerKind[]): string {
  if (kinds.includes('anonymous')) return 'none (public)';
  const names = kinds.map((kind) => (kind === 'user' ? 'user token' : 'API key'));
  return names.join(' or ');
}

/** The OpenAPI security requirement of an action: public none, else the schemes of the kinds it takes. */
export function securityOf(kinds: readonly CallerKind[]): Array<Record<string, string[]>> {
  if (kinds.includes('anonymous')) return [];
  return kinds.map((kind): Record<string, string[]> => (kind === 'user' ? { userToken: [] } : { bearer: [] }));
}
