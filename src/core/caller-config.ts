import { ConfigError, readInt } from './config.js';

/** Limits on how often one caller may call, in one window (0: no limit for that kind). */
export interface CallerLimits {
  /** Requests per window per API key (RATE_LIMIT_KEY, default 0: internal services are trusted unless set). */
  perKey: number;
  /** Requests per window per user (RATE_LIMIT_USER, default 600). */
  perUser: number;
  /** The window (RATE_LIMIT_WINDOW, default 60s). */
  windowMs: number;
}

/** Settings of end users and per-caller limits (DESIGN.md §9, issue 13 and 16). */
export interface CallerConfig {
  /** How long a user token lives (USER_TOKEN_TTL, default 30d). */
  userTokenTtlMs: number;
  limits: CallerLimits;
}

/** The defaults: what a service gets without any of these variables. */
export const DEFAULT_CALLER_CONFIG: CallerConfig = {
  userTokenTtlMs: 30 * 24 * 3600 * 1000,
  limits: { perKey: 0, perUser: 600, windowMs: 60_000 },
};

type Env = Record<string, string | undefined>;

/** Reads USER_TOKEN_TTL, RATE_LIMIT_KEY, RATE_LIMIT_USER and RATE_LIMIT_WINDOW; throws ConfigError naming a bad one. */
export function readCallerConfig(env: Env): CallerConfig {
  const defaults = DEFAULT_CALLER_CONFIG;
  return {
    userTokenTtlMs: readDuration(env, 'USER_TOKEN_TTL', defaults.userTokenTtlMs, 1000, 366 * 24 * 3600 * 1000),
    limits: {
      perKey: readInt(env, 'RATE_LIMIT_KEY', defaults.limits.perKey, 0, 10_000_000),
      perUser: readInt(env, 'RATE_LIMIT_USER', defaults.limits.perUser, 0, 10_000_000),
      windowMs: readDuration(env, 'RATE_LIMIT_WINDOW', defaults.limits.windowMs, 1000, 24 * 3600 * 1000),
    },
  };
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration such as `30d`, `12h`, `15m`, `90s`, `500ms`; a bare number is seconds. */
export function readDuration(env: Env, name: string, fallback: number, minMs: number, maxMs: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const match = /^(\d+)\s*(ms|s|m|h|d)?$/.exec(raw.trim());
  if (!match) throw new ConfigError(name, `must be a duration such as 30d, 12h, 15m or 90s (got ${JSON.stringify(raw)})`);
  const ms = Number(match[1]) * (UNIT_MS[match[2] ?? 's'] as number);
  if (ms < minMs || ms > maxMs) throw new ConfigError(name, `must be between ${minMs / 1000} s and ${maxMs / 1000} s (got ${raw})`);
  return ms;
}
