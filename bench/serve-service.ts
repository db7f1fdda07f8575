/**
 * Bench server A: the real service (createService from src/service.ts, the same app `npm start` serves) with one
 * API key, a 1 MiB body limit, a silent logger and no payment worker. Started by bench/api.ts in its own process,
 * compiled by tsc like `npm start` (or through tsx with BENCH_RUNTIME=tsx).
 */
import path from 'node:path';
import { connectDatabase } from '../src/core/db.js';
import { createLogger } from '../src/core/logger.js';
import { Metrics } from '../src/core/metrics.js';
import { startTracing } from '../src/core/tracing.js';
import { SCHEMA_DIR, createService } from '../src/service.js';
import { BENCH_KEY, benchEnv, COUNT_COMMANDS, countCommands, failStartup, serve } from './child.js';

async function main(): Promise<void> {
  const { url, dbName } = benchEnv();
  // BENCH_METRICS=on: the service as npm start runs it, with Prometheus metrics and command monitoring
  const withMetrics = process.env.BENCH_METRICS === 'on';
  // OTEL_EXPORTER_OTLP_ENDPOINT (BENCH_COMPARE=tracing): traces every request as npm start would with it set
  const tracing = await startTracing({ endpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: 'bench-service' });
  // DB_TIMEOUT_MS as npm start reads it (bench:export raises it: the embedded server sorts a whole export before its first reply)
  const timeout = process.env.DB_TIMEOUT_MS ? { operationTimeoutMs: Number(process.env.DB_TIMEOUT_MS) } : {};
  const database = await connectDatabase({
    url,
    dbName,
    appName: 'bench-service',
    driverOptions: { monitorCommands: withMetrics || COUNT_COMMANDS },
    ...timeout,
  });
  const service = await createService({
    database,
    config: { apiKeys: [{ ...BENCH_KEY }], bodyLimitBytes: 1_048_576 },
    logger: createLogger({ level: 'silent', pretty: false, name: 'api' }),
    // compiled to bench/results/.build/, SCHEMA_DIR would point inside it: bench/api.ts passes the project root
    schemaDir: process.env.BENCH_PROJECT_ROOT ? path.join(process.env.BENCH_PROJECT_ROOT, 'result-schemas') : SCHEMA_DIR,
    ...(withMetrics ? { metrics: new Metrics() } : {}),
  });
  // counted from here on: the startup's own commands (ping, createIndexes) are not the requests'
  const commands = COUNT_COMMANDS ? countCommands(database.client) : undefined;
  await serve(
    service.app,
    async () => {
      await service.stop();
      await database.close();
      await tracing?.shutdown();
    },
    commands,
  );
}

main().catch(failStartup);
