import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Express } from 'express';
import type { CommandStartedEvent, Db } from 'mongodb';
import supertest from 'supertest';
import { expect, inject } from 'vitest';
import type { CallerConfig } from '../../src/core/caller-config.js';
import type { ApiKey } from '../../src/core/config.js';
import { connectDatabase, type Database } from '../../src/core/db.js';
import type { ResourceDefinition } from '../../src/core/dispatch.js';
import { createLogger, type Logger } from '../../src/core/logger.js';
import type { Metrics } from '../../src/core/metrics.js';
import type { PaymentsConfig } from '../../src/payments/config.js';
import { createService, type Service } from '../../src/service.js';

/** The key every test service accepts. */
export const TEST_KEY: ApiKey = { name: 'test-suite', secret: 'test-secret-0123456789abcdef' };
export const AUTH = { Authorization: `Bearer ${TEST_KEY.secret}` };

export interface TestServiceOptions {
  resources?: readonly ResourceDefinition[];
  schemaDir?: string;
  payments?: PaymentsConfig;
  bodyLimitBytes?: number;
  /** Reload the YAML schemas on file changes (as `npm start` does in development). */
  watchSchemas?: boolean;
  /** Keys accepted besides TEST_KEY (e.g. with scopes). */
  extraKeys?: ApiKey[];
  /** Record the driver's commands (command monitoring) into `commands`. */
  monitorCommands?: boolean;
  /** Prometheus metrics for the service (`GET /metrics`). */
  metrics?: Metrics;
  /** User token lifetime and per-caller rate limits (default: DEFAULT_CALLER_CONFIG). */
  callers?: CallerConfig;
  /** Fields added to every log line (as `npm start` adds the trace id when tracing is on). */
  logMixin?: () => Record<string, unknown>;
  /** Idempotency-Key settings (default: 24 h, 10 s lease). */
  idempotency?: { ttlMs: number; leaseMs: number };
}

/** A service on its own database of the run's server, with its log lines and (optionally) driver commands. */
export interface TestService {
  app: Express;
  service: Service;
  database: Database;
  db: Db;
  logs: Array<Record<string, unknown>>;
  logger: Logger;
  commands: CommandStartedEvent[];
  /** POST /<resource>/<action> with the test key. */
  call(path: string, body?: unknown): supertest.Test;
  close(): Promise<void>;
}

/** A database name unique to this test file and run. */
export function uniqueDbName(label = 'test'): string {
  const file =
    (expect.getState().testPath ?? label)
      .split('/')
      .pop()
      ?.replace(/\.test\.ts$/, '') ?? label;
  return `t_${file.replace(/[^A-Za-z0-9]/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
}

/** Builds the real service (createService) against the run's database server. */
export async function startTestService(options: TestServiceOptions = {}): Promise<TestService> {
  const database = await connectDatabase({
    url: inject('mongoUrl'),
    dbName: uniqueDbName(),
    driverOptions: options.monitorCommands ? { monitorCommands: true } : {},
  });
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ level: 'info', pretty: false, destination, ...(options.logMixin ? { mixin: options.logMixin } : {}) });
  const commands: CommandStartedEvent[] = [];
  database.client.on('commandStarted', (event) => commands.push(event));
  const service = await createService({
    database,
    config: {
      apiKeys: [TEST_KEY, ...(options.extraKeys ?? [])],
      bodyLimitBytes: options.bodyLimitBytes ?? 1024 * 1024,
      ...(options.callers ? { callers: options.callers } : {}),
      ...(options.idempotency ? { idempotency: options.idempotency } : {}),
    },
    logger,
    ...(options.resources ? { resources: options.resources } : {}),
    ...(options.schemaDir ? { schemaDir: options.schemaDir } : {}),
    ...(options.payments ? { payments: options.payments } : {}),
    ...(options.watchSchemas ? { watchSchemas: true } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
  const agent = supertest(service.app);
  return {
    app: service.app,
    service,
    database,
    db: database.db,
    logs,
    logger,
    commands,
    call: (path, body = {}) =>
      agent
        .post(path)
        .set(AUTH)
        .send(body as object),
    async close() {
      await service.stop();
      await database.db.dropDatabase().catch(() => undefined);
      await database.close();
    },
  };
}
