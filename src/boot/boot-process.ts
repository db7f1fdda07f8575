import type { Config } from '../core/config.js';
import { createLogger, type Logger } from '../core/logger.js';
import { startTracing, traceLogFields } from '../core/tracing.js';
import type { PaymentsConfig } from '../payments/config.js';
import type { PublishingConfig } from '../publishing/config.js';
import { loadConfigsOrExit } from './configs.js';
import { openDatabase, type OpenedDatabase } from './open-database.js';
import { installShutdown } from './shutdown.js';

/** What every entry point starts with. */
export interface BootedProcess {
  config: Config;
  payments: PaymentsConfig;
  publishing: PublishingConfig;
  logger: Logger;
  opened: OpenedDatabase;
  /** Registers work to do on shutdown; the last registered runs first. */
  onStop(stop: () => Promise<void>): void;
  /** Logs why the start failed and exits with `exitCode` (default 1) after stopping what was started. */
  fail(message: string, exitCode?: number): Promise<never>;
}

/**
 * The start shared by `npm start`, `npm run worker`: configuration (exit 2 when bad), logger, shutdown handling,
 * the database (exit 1 with the reason when none can be had).
 */
export async function bootProcess(name: string): Promise<BootedProcess> {
  const { config, payments, publishing } = loadConfigsOrExit();
  // traces only when an OTLP endpoint is configured (the standard variables; the exporter reads the rest of OTEL_*)
  const endpoint = process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const tracing = await startTracing({ endpoint, serviceName: process.env.OTEL_SERVICE_NAME ?? `rpc-action-api-${name}` });
  const logger = createLogger({ level: config.logLevel, pretty: config.logPretty, name, ...(tracing ? { mixin: traceLogFields } : {}) });
  const stoppers: Array<() => Promise<void>> = [];
  // the last to stop: spans of the shutdown itself are flushed too
  if (tracing) stoppers.push(() => tracing.shutdown());
  const shutdown = installShutdown(logger, config.shutdownTimeoutMs, stoppers);
  const fail = async (message: string, exitCode = 1): Promise<never> => {
    logger.fatal(message);
    await shutdown('startup-failure', exitCode);
    throw new Error('unreachable: shutdown exits');
  };
  let opened: OpenedDatabase;
  try {
    // a local database that is gone for good: exit non-zero, so the developer or a supervisor starts us anew
    opened = await openDatabase(config, logger, (reason) => {
      logger.fatal(reason);
      void shutdown('database lost', 1);
    });
  } catch (err) {
    return await fail((err as Error).message);
  }
  stoppers.unshift(() => opened.close());
  return { config, payments, publishing, logger, opened, onStop: (stop) => stoppers.unshift(stop), fail };
}
