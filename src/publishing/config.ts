import { ConfigError, readInt, readString } from '../core/config.js';

/** Settings of passports, protocols and publishing, read from the environment at startup. */
export interface PublishingConfig {
  /** A protocol not approved this long after it was created is pending (seed 000: two days). */
  pendingAfterMs: number;
  /** Where publishing goes: the local content store and ledger, or a Feecc IPFS gateway. */
  gateway: { kind: 'local' } | { kind: 'http'; url: string; timeoutMs: number };
  /** How often the publish job looks for approved passports (also the first retry backoff). */
  pollMs: number;
  leaseTtlMs: number;
  maxBackoffMs: number;
}

type Env = Record<string, string | undefined>;

const TWO_DAYS_MS = 2 * 24 * 60 * 60 * 1000;

/** Reads and checks the settings; throws ConfigError naming the variable. */
export function loadPublishingConfig(env: Env = process.env): PublishingConfig {
  const url = readString(env, 'IPFS_GATEWAY_URL', '');
  if (url && !/^https?:\/\/\S+$/.test(url))
    throw new ConfigError('IPFS_GATEWAY_URL', `must be an http(s) URL (got ${JSON.stringify(url)})`);
  const timeoutMs = readInt(env, 'IPFS_GATEWAY_TIMEOUT_MS', 10_000, 100, 600_000);
  // the publish job shares the payment worker's timing variables: one set of knobs for "the worker"
  const leaseTtlMs = readInt(env, 'WORKER_LEASE_TTL_MS', 15_000, 100, 600_000);
  if (url && leaseTtlMs <= timeoutMs + 1_000)
    throw new ConfigError('WORKER_LEASE_TTL_MS', `must be more than IPFS_GATEWAY_TIMEOUT_MS plus a second (${timeoutMs + 1_000})`);
  return {
    pendingAfterMs: readInt(env, 'PROTOCOL_PENDING_AFTER_MS', TWO_DAYS_MS, 0, 365 * TWO_DAYS_MS),
    gateway: url ? { kind: 'http', url: url.replace(/\/+$/, ''), timeoutMs } : { kind: 'local' },
    pollMs: readInt(env, 'WORKER_POLL_MS', 1_000, 10, 600_000),
    leaseTtlMs,
    maxBackoffMs: readInt(env, 'WORKER_MAX_BACKOFF_MS', 60_000, 10, 3_600_000),
  };
}
