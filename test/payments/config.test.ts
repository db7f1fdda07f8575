import { describe, expect, it } from 'vitest';
import { loadPaymentsConfig } from '../../src/payments/config.js';

describe('loadPaymentsConfig', () => {
  it('defaults to the simulator, the worker on, 30 s locks', () => {
    const config = loadPaymentsConfig({});
    expect(config).toMatchObject({
      lockTtlMs: 30_000,
      worker: { enabled: true, pollMs: 1_000, leaseTtlMs: 15_000 },
      gateway: { kind: 'simulator' },
      faults: { enabled: false },
    });
  });

  it.each([
    [{ CRASH_AT: 'transfer.after_insert' }, 'CRASH_AT: needs FAULT_INJECTION=enabled (tests only)'],
    [{ FAULT_INJECTION: 'enabled', NODE_ENV: 'production' }, 'FAULT_INJECTION: is not allowed with NODE_ENV=production'],
    [{ GATEWAY: 'http' }, 'GATEWAY_URL: must be an http(s) URL when GATEWAY=http'],
    [{ GATEWAY: 'paypal' }, 'GATEWAY: must be one of simulator, http (got "paypal")'],
    [{ GATEWAY_SIM_DECLINE: '(' }, 'GATEWAY_SIM_DECLINE: is not a valid regular expression (got "(")'],
    [{ WORKER: 'maybe' }, 'WORKER: must be on or off (also true/false, yes/no, 1/0; got "maybe")'],
    [{ WALLET_LOCK_TTL_MS: '5' }, 'WALLET_LOCK_TTL_MS: must be between 200 and 3600000 (got 5)'],
  ])('refuses %j naming the variable', (env, message) => {
    expect(() => loadPaymentsConfig(env)).toThrow(message);
  });

  it('turns the worker off with WORKER=off', () => {
    expect(loadPaymentsConfig({ WORKER: 'off' }).worker.enabled).toBe(false);
  });
});
