/**
 * Worker settings under which a payment gets parked quickly: short leases and locks, two attempts, and a simulated
 * gateway that never answers for `unreachable-…` accounts (a timeout before the call reaches it).
 */
export const PARKS_UNREACHABLE = {
  WORKER_POLL_MS: '10',
  WORKER_LEASE_TTL_MS: '300',
  WALLET_LOCK_TTL_MS: '300',
  WORKER_MAX_ATTEMPTS: '2',
  GATEWAY_SIM_TIMEOUT: '^unreachable-',
  GATEWAY_SIM_TIMEOUTS: '1000',
  GATEWAY_SIM_TIMEOUT_MODE: 'before',
} as const;
