import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOrCreateDevKey } from '../../src/boot/dev-key.js';
import { ConfigError, loadConfig, redactUrl } from '../../src/core/config.js';

const KEYS = 'svc:abcdefghijklmnop1234,ops:qrstuvwxyz0123456789';

describe('loadConfig', () => {
  it('uses the defaults of DESIGN.md §2', () => {
    const config = loadConfig({ API_KEYS: KEYS });
    expect(config).toMatchObject({
      nodeEnv: 'development',
      port: 3000,
      host: '127.0.0.1',
      mongodbUrl: undefined,
      mongodbDb: 'rpc_api',
      bodyLimitBytes: 1024 * 1024,
      logLevel: 'info',
      generatedApiKey: undefined,
      dbTimeoutMs: 10_000,
      shutdownDrainMs: 0,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
    });
    expect(config.apiKeys).toEqual([
      { name: 'svc', secret: 'abcdefghijklmnop1234' },
      { name: 'ops', secret: 'qrstuvwxyz0123456789' },
    ]);
  });

  it('generates a key outside production when API_KEYS is empty', () => {
    const config = loadConfig({});
    expect(config.generatedApiKey?.name).toBe('dev');
    expect(config.generatedApiKey?.secret.length).toBeGreaterThanOrEqual(32);
    expect(config.apiKeys).toEqual([config.generatedApiKey]);
  });

  it('takes the development key from the given source, with DATA_DIR', () => {
    const seen: string[] = [];
    const config = loadConfig({ DATA_DIR: '/srv/data' }, (dataDir) => {
      seen.push(dataDir);
      return { name: 'dev', secret: 'kept-secret-0123456789abcdef0123' };
    });
    expect(seen).toEqual(['/srv/data']);
    expect(config.apiKeys).toEqual([{ name: 'dev', secret: 'kept-secret-0123456789abcdef0123' }]);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT: must be an integer (got "abc")'],
    [{ PORT: '70000' }, 'PORT: must be between 0 and 65535 (got 70000)'],
    [{ MONGODB_URL: 'http://db' }, 'MONGODB_URL: must start with mongodb:// or mongodb+srv://'],
    [{ MONGODB_DB: 'bad name' }, 'MONGODB_DB: must be 1-63 letters, digits, _ or - (got "bad name")'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "loud")'],
    [{ BODY_LIMIT: 'huge' }, 'BODY_LIMIT: must be a size such as 1048576, 512kb or 1mb (got "huge")'],
    [{ BODY_LIMIT: '1gb' }, 'BODY_LIMIT: must be a size such as 1048576, 512kb or 1mb (got "1gb")'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV: must be one of development, production, test (got "staging")'],
    [{ API_KEYS: 'nocolon' }, 'API_KEYS: each entry must be name:secret with a name of letters, digits, _ . -'],
    [{ API_KEYS: 'svc:short' }, 'API_KEYS: the secret of key "svc" must be at least 16 characters without spaces'],
    [{ API_KEYS: 'a:abcdefghijklmnop1234,a:qrstuvwxyz0123456789' }, 'API_KEYS: key name "a" is used twice'],
    [{ API_KEYS: 'a:abcdefghijklmnop1234,b:abcdefghijklmnop1234' }, 'API_KEYS: key "b" reuses another key\'s secret'],
    [{ SHUTDOWN_DRAIN_MS: '10000' }, 'SHUTDOWN_DRAIN_MS: must be less than SHUTDOWN_TIMEOUT_MS (10000)'],
    [{ DB_TIMEOUT_MS: '-1' }, 'DB_TIMEOUT_MS: must be between 0 and 600000 (got -1)'],
    [{ HEADERS_TIMEOUT_MS: '20000', REQUEST_TIMEOUT_MS: '10000' }, 'REQUEST_TIMEOUT_MS: must be at least HEADERS_TIMEOUT_MS (20000)'],
    [{ KEEP_ALIVE_TIMEOUT_MS: '5s' }, 'KEEP_ALIVE_TIMEOUT_MS: must be an integer (got "5s")'],
    [{ RESULT_SCHEMAS_DIR: '/no/such/folder' }, 'RESULT_SCHEMAS_DIR: must be an existing folder (got "/no/such/folder")'],
    [{ NODE_ENV: 'production' }, 'API_KEYS: is required when NODE_ENV=production (format: name:secret,name2:secret2)'],
  ])('rejects %j naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(new ConfigError(message.split(':')[0] as string, message.slice(message.indexOf(':') + 2)));
  });

  it('reads BODY_LIMIT in bytes, kb or mb', () => {
    expect(loadConfig({ API_KEYS: KEYS, BODY_LIMIT: '2048' }).bodyLimitBytes).toBe(2048);
    expect(loadConfig({ API_KEYS: KEYS, BODY_LIMIT: '512kb' }).bodyLimitBytes).toBe(512 * 1024);
    expect(loadConfig({ API_KEYS: KEYS, BODY_LIMIT: '2MB' }).bodyLimitBytes).toBe(2 * 1024 * 1024);
  });
});

describe('loadOrCreateDevKey', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rpc-dev-key-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('makes the key once, giving the same one on every later call', () => {
    const first = loadOrCreateDevKey(path.join(dir, 'data'));
    expect(first.name).toBe('dev');
    expect(first.secret).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(loadOrCreateDevKey(path.join(dir, 'data'))).toEqual(first);
  });

  it('keeps it in a file only its owner can read', () => {
    loadOrCreateDevKey(path.join(dir, 'private'));
    expect(statSync(path.join(dir, 'private', 'dev-api-key')).mode & 0o777).toBe(0o600);
  });
});

describe('redactUrl', () => {
  it('hides the password of a MongoDB URL', () => {
    expect(redactUrl('mongodb://app:s3cr3t@db.internal:27017/x')).toBe('mongodb://app:***@db.internal:27017/x');
    expect(redactUrl('mongodb://db:27017')).toBe('mongodb://db:27017');
  });
});
