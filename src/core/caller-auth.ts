import type { Db } from 'mongodb';
import type { Authenticator } from './auth.js';
import type { CallerLimits } from './caller-config.js';
import { serviceCaller, userCaller, type Caller } from './callers.js';
import { apiError } from './errors.js';
import type { RateLimiter } from './rate-limit.js';
import { looksLikeUserToken, type UserTokens } from './user-tokens.js';

/**
 * Names the caller an Authorization header carries: an API key, else a live user token, else null (401). An API key
 * (or a value that cannot be a user token) is answered at once, without a promise: only a user token awaits.
 */
export type CallerResolver = (authorization: string | undefined, db: Db) => Caller | null | Promise<Caller | null>;

/**
 * The bearer check for both kinds of caller. API keys are compared first, in constant time and without the
 * database; only a value shaped like a user token costs a lookup (by its SHA-256), so garbage never reaches MongoDB.
 */
export function createCallerResolver(authenticate: Authenticator, tokens: UserTokens | undefined): CallerResolver {
  return function resolveCaller(authorization, db) {
    const keyName = authenticate(authorization);
    if (keyName !== null) return serviceCaller(keyName);
    const token = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (!tokens || token === undefined || !looksLikeUserToken(token)) return null;
    return tokens.userOf(db, token).then((found) => (found === null ? null : userCaller(found.userId.toHexString(), found.tokenId)));
  };
}

/** Counts a request against its caller's limit; throws 429 `rate_limited` with Retry-After beyond it. */
export type CallerLimit = (caller: Caller, db: Db) => Promise<void>;

/** The per-caller limit (issue 16): one counter per API key and per user, shared by every process through MongoDB. */
export function createCallerLimit(limiter: RateLimiter, limits: CallerLimits): CallerLimit {
  return async function limitCaller(caller, db) {
    const limit = caller.kind === 'service' ? limits.perKey : caller.kind === 'user' ? limits.perUser : 0;
    if (limit === 0) return;
    const state = await limiter.hit(db, `caller:${caller.kind}:${caller.id}`, limits.windowMs);
    if (state.count <= limit) return;
    throw apiError(
      'caller_rate_limited',
      { limit, window: Math.round(limits.windowMs / 1000), seconds: state.retryAfterSeconds },
      { retryAfterSeconds: state.retryAfterSeconds },
    );
  };
}

declare module './app.js' {
  interface Services {
    /** Issues, checks and revokes end-user tokens. */
    userTokens: UserTokens;
    /** The MongoDB-backed counters (per-caller limits, failed logins). */
    rateLimiter: RateLimiter;
  }
}
