import { describe, expect, it } from 'vitest';
import { DEFAULT_CALLER_CONFIG, readCallerConfig } from '../../src/core/caller-config.js';

describe('readCallerConfig', () => {
  it('defaults to 30-day tokens, no key limit, 600 requests a minute per user', () => {
    expect(readCallerConfig({})).toEqual({
      userTokenTtlMs: 30 * 24 * 3600 * 1000,
      limits: { perKey: 0, perUser: 600, windowMs: 60_000 },
    });
    expect(readCallerConfig({})).toEqual(DEFAULT_CALLER_CONFIG);
  });

  it('reads durations with units, a bare number as seconds', () => {
    expect(readCallerConfig({ USER_TOKEN_TTL: '12h', RATE_LIMIT_WINDOW: '90', RATE_LIMIT_KEY: '1000', RATE_LIMIT_USER: '0' })).toEqual({
      userTokenTtlMs: 12 * 3600 * 1000,
      limits: { perKey: 1000, perUser: 0, windowMs: 90_000 },
    });
  });

  it('names the variable of a bad value', () => {
    expect(() => readCallerConfig({ USER_TOKEN_TTL: 'forever' })).toThrow(
      'USER_TOKEN_TTL: must be a duration such as 30d, 12h, 15m or 90s (got "forever")',
    );
    expect(() => readCallerConfig({ RATE_LIMIT_WINDOW: '10ms' })).toThrow('RATE_LIMIT_WINDOW: must be between 1 s and 86400 s (got 10ms)');
    expect(() => readCallerConfig({ RATE_LIMIT_KEY: '-1' })).toThrow('RATE_LIMIT_KEY: must be between 0 and 10000000 (got -1)');
  });
});
