import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from 'mongodb';
import type { Express } from 'express';
import { createApp, type Readiness, type Services } from './core/app.js';
import { unknownScopeResource } from './core/auth.js';
import { createCallerLimit } from './core/caller-auth.js';
import { DEFAULT_CALLER_CONFIG } from './core/caller-config.js';
import { RateLimiter } from './core/rate-limit.js';
import { UserTokens } from './core/user-tokens.js';
import type { Config } from './core/config.js';
import type { Database } from './core/db.js';
import { buildActionTable, type ActionTable, type ResourceDefinition } from './core/dispatch.js';
import { createFaultPoint } from './core/faults.js';
import { IdempotencyStore, ensureIdempotencyIndexes } from './core/idempotency.js';
import { referenceRoutes } from './core/reference.js';
import { ReloadingActions } from './core/schema-reload.js';
import { createGraphql } from './graphql/index.js';
import type { Logger } from './core/logger.js';
import { gatewayCallBudgetMs, loadPaymentsConfig, type PaymentsConfig } from './payments/config.js';
import { ensurePaymentIndexes } from './payments/collections.js';
import { PaymentEngine } from './payments/engine.js';
import { createGateway } from './payments/gateway.js';
import { PaymentWorker } from './payments/worker.js';
import { loadPublishingConfig, type PublishingConfig } from './publishing/config.js';
import { createPublishJob, type PublishJob } from './publishing/job.js';
import { createResources } from './resources/index.js';
import type { Metrics } from './core/metrics.js';
import { countGatewayCalls, registerWalletMetrics } from './payments/metrics.js';
import { traceCommands, tracingOn } from './core/tracing.js';

/** The folder of the YAML result schemas. */
export const SCHEMA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'result-schemas');

export interface ServiceOptions {
  database: Database;
  /**
   * `nodeEnv` (default development) and `graphqlIntrospection` (default: on outside production) shape `/graphql`;
   * `idempotency` (default: 24 h, 10 s lease) the Idempotency-Key store.
   */
  config: Pick<Config, 'apiKeys' | 'bodyLimitBytes'> &
    Partial<Pick<Config, 'nodeEnv' | 'graphqlIntrospection' | 'callers' | 'idempotency'>>;
  logger: Logger;
  /** Payment settings (default: the defaults of loadPaymentsConfig). */
  payments?: PaymentsConfig;
  /** Passport and publishing settings (default: the defaults of loadPublishingConfig). */
  publishing?: PublishingConfig;
  /** Run the gateway worker in this process (it only works while it holds the lease). Default false. */
  startWorker?: boolean;
  resources?: readonly ResourceDefinition[];
  schemaDir?: string;
  /** Reload the YAML result schemas when a file changes (development); a broken edit keeps the last good ones. */
  watchSchemas?: boolean;
  /** Prometheus metrics of this service (`GET /metrics`); off when absent. */
  metrics?: Metrics;
}

export interface Service {
  app: Express;
  /** The action table in use (a newer one after a schema reload). */
  readonly actions: ActionTable;
  engine: PaymentEngine;
  /** What every handler gets as `ctx.services`. */
  services: Services;
  worker: PaymentWorker | undefined;
  publishJob: PublishJob | undefined;
  /** What `/readyz` reports; the shutdown sets `stopping`. */
  readiness: Readiness;
  stop(): Promise<void>;
}

const DEFAULT_IDEMPOTENCY = { ttlMs: 86_400_000, leaseMs: 10_000 };

/** The payment engine for a configuration (also used by the worker process and the CLI). */
export function createEngine(payments: PaymentsConfig): PaymentEngine {
  return new PaymentEngine({ lockTtlMs: payments.lockTtlMs, retryWaitMs: payments.retryWaitMs, fault: createFaultPoint(payments.faults) });
}

/** The gateway worker of a process. */
export function createWorker(db: Db, engine: PaymentEngine, payments: PaymentsConfig, logger: Logger, metrics?: Metrics): PaymentWorker {
  const gateway = createGateway(payments.gateway, db);
  return new PaymentWorker({
    db,
    engine,
    gateway: metrics ? countGatewayCalls(gateway, metrics) : gateway,
    config: payments.worker,
    callBudgetMs: gatewayCallBudgetMs(payments.gateway),
    log: logger.child({ component: 'payment-worker' }),
  });
}

/** Wires resources, schemas, indexes, the HTTP app and (optionally) the worker; tests call it with their own database. */
export async function createService(options: ServiceOptions): Promise<Service> {
  const payments = options.payments ?? loadPaymentsConfig({});
  const engine = createEngine(payments);
  const publishing = options.publishing ?? loadPublishingConfig({});
  const resources = options.resources ?? createResources(publishing);
  const schemaDir = options.schemaDir ?? SCHEMA_DIR;
  const actions = new ReloadingActions(buildActionTable(resources, schemaDir), resources, schemaDir, options.logger);
  const badScope = unknownScopeResource(options.config.apiKeys, new Set(resources.map((r) => r.name)));
  if (badScope) throw new Error(badScope);
  await ensureIndexes(options.database.db, resources);
  const readiness: Readiness = { indexesBuilt: true, stopping: false };
  const nodeEnv = options.config.nodeEnv ?? 'development';
  const graphql = createGraphql(() => actions.current, {
    graphiql: nodeEnv === 'development',
    introspection: options.config.graphqlIntrospection ?? nodeEnv !== 'production',
    bodyLimitBytes: options.config.bodyLimitBytes,
  });
  await ensurePaymentIndexes(options.database.db);
  const callers = options.config.callers ?? DEFAULT_CALLER_CONFIG;
  const userTokens = new UserTokens(callers.userTokenTtlMs);
  const rateLimiter = new RateLimiter();
  await UserTokens.ensureIndexes(options.database.db);
  await rateLimiter.ensureIndexes(options.database.db);
  if (tracingOn()) traceCommands(options.database.client);
  await ensureIdempotencyIndexes(options.database.db);
  const idempotency = new IdempotencyStore({
    ...(options.config.idempotency ?? DEFAULT_IDEMPOTENCY),
    fault: createFaultPoint(payments.faults),
    log: options.logger,
  });
  if (options.metrics) {
    options.metrics.instrumentClient(options.database.client);
    registerWalletMetrics(options.metrics, options.database.db);
  }
  const services: Services = { payments: engine, userTokens, rateLimiter };
  const app = createApp({
    database: options.database,
    config: options.config,
    logger: options.logger,
    actions,
    graphql,
    services,
    userTokens,
    callerLimit: createCallerLimit(rateLimiter, callers.limits),
    routes: referenceRoutes(() => actions.current),
    metrics: options.metrics,
    idempotency,
    readiness,
  });
  if (options.watchSchemas) actions.start();
  const worker = options.startWorker ? createWorker(options.database.db, engine, payments, options.logger, options.metrics) : undefined;
  worker?.start();
  // the passport publisher runs wherever the payment worker runs (its own lease)
  const publishJob = options.startWorker
    ? createPublishJob(options.database.db, publishing, createFaultPoint(payments.faults), options.logger)
    : undefined;
  publishJob?.start();
  return {
    app,
    get actions() {
      return actions.current;
    },
    engine,
    services,
    worker,
    publishJob,
    readiness,
    stop: async () => {
      actions.stop();
      await publishJob?.stop();
      await worker?.stop();
    },
  };
}

/** Creates the declared indexes (idempotent; an index whose options changed stops the start with the driver's reason). */
export async function ensureIndexes(db: Db, resources: readonly ResourceDefinition[]): Promise<void> {
  for (const resource of resources) {
    if (resource.indexes.length === 0) continue;
    try {
      await resource.model.collection(db).createIndexes(resource.indexes);
    } catch (err) {
      throw new Error(`cannot create the indexes of ${resource.name}: ${(err as Error).message}`, { cause: err });
    }
  }
}
