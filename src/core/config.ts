import { existsSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parseScopes, type KeyScope } from './auth.js';
import { readCallerConfig, type CallerConfig } from './caller-config.js';

/** A bearer key: its name is logged, its secret never is. */
export interface ApiKey {
  name: string;
  secret: string;
  /** What the key may call (`read|group.write`, see auth.ts); absent: every action. */
  scopes?: KeyScope[];
}

export type NodeEnv = 'development' | 'production' | 'test';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The validated service configuration, read once at startup (DESIGN.md §2). */
export interface Config {
  nodeEnv: NodeEnv;
  port: number;
  host: string;
  mongodbUrl: string | undefined;
  mongodbDb: string;
  apiKeys: ApiKey[];
  /** Set when no API_KEYS were given outside production: the development key (made up, or kept under DATA_DIR). */
  generatedApiKey: ApiKey | undefined;
  logLevel: LogLevel;
  logPretty: boolean;
  bodyLimitBytes: number;
  shutdownTimeoutMs: number;
  /** How long a stopping process keeps serving after `/readyz` went 503 (for a load balancer to notice). */
  shutdownDrainMs: number;
  dataDir: string;
  /** GraphQL answers `__schema`/`__type` queries: on outside production, `GRAPHQL_INTROSPECTION` decides in production. */
  graphqlIntrospection: boolean;
  /** The bound on each wait of a database operation (socket, connect, pool, selection); 0 for none. */
  dbTimeoutMs: number;
  /** Slow clients: time to send the headers, the whole request, and how long an idle keep-alive socket stays. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Another folder of YAML result schemas (RESULT_SCHEMAS_DIR); undefined: the project's result-schemas/. */
  resultSchemasDir: string | undefined;
  /** User tokens' lifetime and per-caller rate limits (caller-config.ts). */
  callers: CallerConfig;
  /** Idempotency-Key answers: kept `ttlMs` (IDEMPOTENCY_TTL), a running first request holds its key for `leaseMs` at a time. */
  idempotency: { ttlMs: number; leaseMs: number };
}

/** A configuration value that cannot be used; `variable` names the environment variable. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const KEY_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const MIN_SECRET_LENGTH = 16;
const DB_NAME = /^[A-Za-z0-9_-]{1,63}$/;

/** A development key made up for this run only (the entry points keep theirs under DATA_DIR instead). */
export function randomDevKey(): ApiKey {
  return { name: 'dev', secret: randomBytes(24).toString('base64url') };
}

/**
 * Reads and validates the environment; throws ConfigError naming the first bad variable. `devKey` supplies the
 * key used when API_KEYS is empty outside production, given DATA_DIR.
 */
export function loadConfig(env: Env = process.env, devKey: (dataDir: string) => ApiKey = randomDevKey): Config {
  const nodeEnv = readEnum(env, 'NODE_ENV', ['development', 'production', 'test'], 'development');
  const apiKeys = readApiKeys(env);
  const dataDir = readString(env, 'DATA_DIR', '.data');
  let generatedApiKey: ApiKey | undefined;
  if (apiKeys.length === 0) {
    if (nodeEnv === 'production') {
      throw new ConfigError('API_KEYS', 'is required when NODE_ENV=production (format: name:secret,name2:secret2)');
    }
    generatedApiKey = devKey(dataDir);
    apiKeys.push(generatedApiKey);
  }
  return {
    nodeEnv,
    port: readInt(env, 'PORT', 3000, 0, 65535),
    host: readString(env, 'HOST', '127.0.0.1'),
    mongodbUrl: readMongoUrl(env),
    mongodbDb: readMatching(env, 'MONGODB_DB', 'rpc_api', DB_NAME, 'must be 1-63 letters, digits, _ or -'),
    apiKeys,
    generatedApiKey,
    logLevel: readEnum(env, 'LOG_LEVEL', LOG_LEVELS, nodeEnv === 'test' ? 'silent' : 'info'),
    logPretty: readBool(env, 'LOG_PRETTY', nodeEnv === 'development' && process.stdout.isTTY === true),
    bodyLimitBytes: readByteSize(env, 'BODY_LIMIT', 1024 * 1024),
    shutdownTimeoutMs: readInt(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    dataDir,
    graphqlIntrospection: readBool(env, 'GRAPHQL_INTROSPECTION', nodeEnv !== 'production'),
    shutdownDrainMs: readShutdownDrain(env),
    dbTimeoutMs: readInt(env, 'DB_TIMEOUT_MS', 10_000, 0, 600_000),
    ...readClientTimeouts(env),
    resultSchemasDir: readFolder(env, 'RESULT_SCHEMAS_DIR'),
    callers: readCallerConfig(env),
    idempotency: {
      ttlMs: readDuration(env, 'IDEMPOTENCY_TTL', DAY_MS, 100, 30 * DAY_MS),
      leaseMs: readInt(env, 'IDEMPOTENCY_LEASE_MS', 10_000, 100, 600_000),
    },
  };
}

const DAY_MS = 86_400_000;
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;
const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: DAY_MS };

/** Reads a duration such as `24h`, `90m`, `30s`, `500ms` (a bare number is seconds), in milliseconds. */
function readDuration(env: Env, name: string, fallbackMs: number, minMs: number, maxMs: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallbackMs;
  const match = DURATION.exec(raw.trim());
  const ms = match ? Math.round(Number(match[1]) * (DURATION_UNITS_MS[match[2] ?? 's'] as number)) : Number.NaN;
  if (!(ms >= minMs && ms <= maxMs)) {
    throw new ConfigError(
      name,
      `must be a duration from ${minMs} ms to ${maxMs / DAY_MS} days, like 24h, 30m, 90s or 500ms (got "${raw}")`,
    );
  }
  return ms;
}

function readShutdownDrain(env: Env): number {
  const drain = readInt(env, 'SHUTDOWN_DRAIN_MS', 0, 0, 600_000);
  const timeout = readInt(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000);
  if (drain > 0 && drain >= timeout) throw new ConfigError('SHUTDOWN_DRAIN_MS', `must be less than SHUTDOWN_TIMEOUT_MS (${timeout})`);
  return drain;
}

function readClientTimeouts(env: Env): Pick<Config, 'headersTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs'> {
  const headersTimeoutMs = readInt(env, 'HEADERS_TIMEOUT_MS', 10_000, 100, 600_000);
  const requestTimeoutMs = readInt(env, 'REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000);
  // Node's own rule: the headers are part of the request
  if (requestTimeoutMs < headersTimeoutMs)
    throw new ConfigError('REQUEST_TIMEOUT_MS', `must be at least HEADERS_TIMEOUT_MS (${headersTimeoutMs})`);
  return { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs: readInt(env, 'KEEP_ALIVE_TIMEOUT_MS', 5_000, 100, 600_000) };
}

/** Reads an optional variable naming an existing folder. */
function readFolder(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!existsSync(raw) || !statSync(raw).isDirectory()) throw new ConfigError(name, `must be an existing folder (got "${raw}")`);
  return raw;
}

/** Reads an optional string variable. */
export function readString(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  return raw;
}

function readMatching(env: Env, name: string, fallback: string, pattern: RegExp, rule: string): string {
  const value = readString(env, name, fallback);
  if (!pattern.test(value)) throw new ConfigError(name, `${rule} (got ${JSON.stringify(value)})`);
  return value;
}

/** Reads an optional integer variable within [min, max]. */
export function readInt(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, `must be an integer (got ${JSON.stringify(raw)})`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max} (got ${value})`);
  return value;
}

/** Reads an optional boolean variable: true/false, 1/0, yes/no, on/off. */
export function readBool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(name, `must be on or off (also true/false, yes/no, 1/0; got ${JSON.stringify(raw)})`);
}

/** Reads an optional variable that must be one of `allowed`. */
export function readEnum<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')} (got ${JSON.stringify(raw)})`);
  }
  return raw as T;
}

function readByteSize(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const match = /^(\d+)\s*(b|kb|mb)?$/i.exec(raw.trim());
  if (!match) throw new ConfigError(name, `must be a size such as 1048576, 512kb or 1mb (got ${JSON.stringify(raw)})`);
  const unit = (match[2] ?? 'b').toLowerCase();
  const bytes = Number(match[1]) * (unit === 'mb' ? 1024 * 1024 : unit === 'kb' ? 1024 : 1);
  if (bytes < 1024 || bytes > 64 * 1024 * 1024) throw new ConfigError(name, 'must be between 1kb and 64mb');
  return bytes;
}

function readMongoUrl(env: Env): string | undefined {
  const raw = env.MONGODB_URL;
  if (raw === undefined || raw === '') return undefined;
  if (!/^mongodb(\+srv)?:\/\/\S+$/.test(raw)) {
    throw new ConfigError('MONGODB_URL', 'must start with mongodb:// or mongodb+srv://');
  }
  return raw;
}

function readApiKeys(env: Env): ApiKey[] {
  const raw = env.API_KEYS;
  if (raw === undefined || raw.trim() === '') return [];
  const keys: ApiKey[] = [];
  for (const entry of raw.split(',')) {
    const parts = entry.trim().split(':');
    const [name = '', secret = '', scopeText, ...rest] = parts.length > 1 ? parts : [];
    if (!KEY_NAME.test(name)) {
      throw new ConfigError('API_KEYS', 'each entry must be name:secret with a name of letters, digits, _ . -');
    }
    if (rest.length > 0)
      throw new ConfigError('API_KEYS', `key "${name}": an entry is name:secret or name:secret:scopes (a secret holds no ":")`);
    if (secret.length < MIN_SECRET_LENGTH || /\s/.test(secret)) {
      throw new ConfigError('API_KEYS', `the secret of key "${name}" must be at least ${MIN_SECRET_LENGTH} characters without spaces`);
    }
    if (keys.some((k) => k.name === name)) throw new ConfigError('API_KEYS', `key name "${name}" is used twice`);
    if (keys.some((k) => k.secret === secret)) throw new ConfigError('API_KEYS', `key "${name}" reuses another key's secret`);
    const key: ApiKey = { name, secret };
    if (scopeText !== undefined) {
      const scopes = parseScopes(scopeText);
      if (typeof scopes === 'string') throw new ConfigError('API_KEYS', `key "${name}": ${scopes}`);
      key.scopes = scopes;
    }
    keys.push(key);
  }
  return keys;
}

/** The URL with any password replaced, for logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
}
