/**
 * Who calls an action (DESIGN.md §2, §9). Two kinds share the bearer header: internal API keys (`service`) and
 * end-user tokens (`user`); a public action called without credentials has an `anonymous` caller. Each action
 * declares the kinds it takes; the dispatcher refuses the others with 403 before the params are read.
 */
export type CallerKind = 'service' | 'user' | 'anonymous';

/** The kinds an action may declare (`public` is `anonymous` plus every other kind). */
export type CallerDeclaration = 'public' | 'user' | 'service';

/** Who made a request. `kind` + `id` identify the caller for per-caller state (idempotency keys, rate limits). */
export interface Caller {
  kind: CallerKind;
  /** service: the key's name; user: the user's id (24 hex); anonymous: null. */
  id: string | null;
  /** The API key's name for a service caller, else null: logged, never the secret. */
  keyName: string | null;
  /** A user caller's token as stored (its SHA-256, not the token): what rotating the token revokes. */
  tokenId?: string;
}

/** The caller of a request made with the API key `name`. */
export function serviceCaller(name: string): Caller {
  return { kind: 'service', id: name, keyName: name };
}

/** The caller of a request made with a user's token (`userId`: the user's `_id` as 24 hex). */
export function userCaller(userId: string, tokenId?: string): Caller {
  return tokenId === undefined ? { kind: 'user', id: userId, keyName: null } : { kind: 'user', id: userId, keyName: null, tokenId };
}

/** The caller of a public action called without credentials. */
export function anonymousCaller(): Caller {
  return { kind: 'anonymous', id: null, keyName: null };
}

/** A stable string for per-caller state (`service:import`, `user:5da5…`); null for an anonymous caller. */
export function callerKey(caller: Caller): string | null {
  return caller.id === null ? null : `${caller.kind}:${caller.id}`;
}
