import { ConfigError, readBool, readEnum, readInt, readString } from '../core/config.js';
import type { FaultOptions } from '../core/faults.js';

/** Settings of the payment engine, its worker and the gateway, read from the environment at startup. */
export interface PaymentsConfig {
  /** How long a request or the worker may hold one transaction before recovery may take it over. */
  lockTtlMs: number;
  /** How long a retried request waits for the first one to finish before answering with the current state. */
  retryWaitMs: number;
  worker: {
    /** Run the gateway worker in this process (the API turns it off with WORKER=off). */
    enabled: boolean;
    pollMs: number;
    leaseTtlMs: number;
    sweepIntervalMs: number;
    batchSize: number;
    /** Gateway payments in flight at once, each under its own hold (lock and fence). */
    concurrency: number;
    maxBackoffMs: number;
    /** Gateway attempts before a payment is parked for an operator. */
    maxAttempts: number;
  };
  gateway:
    | {
        kind: 'simulator';
        latencyMs: number;
        decline: RegExp | undefined;
        timeout: RegExp | undefined;
        timeouts: number;
        timeoutMode: 'before' | 'after';
      }
    | { kind: 'http'; url: string; timeoutMs: number; token: string | undefined };
  faults: FaultOptions;
}

type Env = Record<string, string | undefined>;

/** Reads and checks the payment settings; throws ConfigError naming the variable. */
export function loadPaymentsConfig(env: Env = process.env): PaymentsConfig {
  const nodeEnv = env.NODE_ENV ?? 'development';
  const lockTtlMs = readInt(env, 'WALLET_LOCK_TTL_MS', 30_000, 200, 3_600_000);
  const faultsEnabled = env.FAULT_INJECTION === 'enabled';
  const gateway = readGateway(env);
  // a gateway call must end well inside the worker's lease and the payment's lock, or a second worker could call
  // the gateway for the same payment while the first call is still running
  const budget = gatewayCallBudgetMs(gateway);
  const leaseTtlMs = readInt(env, 'WORKER_LEASE_TTL_MS', 15_000, 100, 600_000);
  if (leaseTtlMs <= budget + 100)
    throw new ConfigError('WORKER_LEASE_TTL_MS', `must be more than a gateway call may take plus 100 ms (${budget + 100})`);
  if (lockTtlMs <= budget + 100)
    throw new ConfigError('WALLET_LOCK_TTL_MS', `must be more than a gateway call may take plus 100 ms (${budget + 100})`);
  if (faultsEnabled && nodeEnv === 'production') throw new ConfigError('FAULT_INJECTION', 'is not allowed with NODE_ENV=production');
  if (env.CRASH_AT && !faultsEnabled) throw new ConfigError('CRASH_AT', 'needs FAULT_INJECTION=enabled (tests only)');
  if (env.STALL_AT && !faultsEnabled) throw new ConfigError('STALL_AT', 'needs FAULT_INJECTION=enabled (tests only)');
  return {
    lockTtlMs,
    retryWaitMs: readInt(env, 'WALLET_RETRY_WAIT_MS', 3_000, 0, 60_000),
    worker: {
      enabled: readBool(env, 'WORKER', true),
      pollMs: readInt(env, 'WORKER_POLL_MS', 1_000, 10, 600_000),
      leaseTtlMs,
      sweepIntervalMs: readInt(env, 'WORKER_SWEEP_INTERVAL_MS', 10_000, 10, 3_600_000),
      batchSize: readInt(env, 'WORKER_BATCH_SIZE', 20, 1, 1_000),
      concurrency: readInt(env, 'WORKER_CONCURRENCY', 8, 1, 256),
      maxBackoffMs: readInt(env, 'WORKER_MAX_BACKOFF_MS', 60_000, 10, 3_600_000),
      maxAttempts: readInt(env, 'WORKER_MAX_ATTEMPTS', 12, 1, 1_000),
    },
    gateway,
    faults: {
      enabled: faultsEnabled,
      crashAt: env.CRASH_AT || undefined,
      stallAt: env.STALL_AT || undefined,
      stallMs: readInt(env, 'STALL_MS', 0, 0, 600_000),
    },
  };
}

/** The longest one gateway call may take (its timeout, with a second of slack; the simulator's latency). */
export function gatewayCallBudgetMs(gateway: PaymentsConfig['gateway']): number {
  return gateway.kind === 'http' ? gateway.timeoutMs + 1_000 : gateway.latencyMs + 100;
}

function readGateway(env: Env): PaymentsConfig['gateway'] {
  const kind = readEnum(env, 'GATEWAY', ['simulator', 'http'], 'simulator');
  if (kind === 'http') {
    const url = readString(env, 'GATEWAY_URL', '');
    if (!/^https?:\/\/\S+$/.test(url)) throw new ConfigError('GATEWAY_URL', 'must be an http(s) URL when GATEWAY=http');
    return {
      kind,
      url: url.replace(/\/+$/, ''),
      timeoutMs: readInt(env, 'GATEWAY_TIMEOUT_MS', 10_000, 100, 600_000),
      token: env.GATEWAY_TOKEN || undefined,
    };
  }
  return {
    kind,
    latencyMs: readInt(env, 'GATEWAY_SIM_LATENCY_MS', 0, 0, 60_000),
    decline: readRegex(env, 'GATEWAY_SIM_DECLINE'),
    timeout: readRegex(env, 'GATEWAY_SIM_TIMEOUT'),
    timeouts: readInt(env, 'GATEWAY_SIM_TIMEOUTS', 1, 0, 1_000),
    timeoutMode: readEnum(env, 'GATEWAY_SIM_TIMEOUT_MODE', ['before', 'after'], 'after'),
  };
}

function readRegex(env: Env, name: string): RegExp | undefined {
  const raw = env[name];
  if (!raw) return undefined;
  try {
    return new RegExp(raw);
  } catch {
    throw new ConfigError(name, `is not a valid regular expression (got ${JSON.stringify(raw)})`);
  }
}
