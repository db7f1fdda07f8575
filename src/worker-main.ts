import { createLogger } from './core/logger.js';
import { installShutdown, loadConfigsOrExit, openDatabase, type OpenedDatabase } from './process.js';
import { createEngine, createWorker, ensureIndexes } from './service.js';
import { createResources } from './resources/index.js';

/** `npm run worker`: the payment gateway worker alone (run one per deployment; the lease keeps it single). */
async function main(): Promise<void> {
  const { config, payments } = loadConfigsOrExit();
  const logger = createLogger({ level: config.logLevel, pretty: config.logPretty, name: 'worker' });
  const stoppers: Array<() => Promise<void>> = [];
  const shutdown = installShutdown(logger, config.shutdownTimeoutMs, stoppers);
  let opened: OpenedDatabase;
  try {
    opened = await openDatabase(config, logger);
  } catch (err) {
    logger.fatal((err as Error).message);
    await shutdown('startup-failure', 1);
    return;
  }
  stoppers.unshift(() => opened.close());
  const engine = createEngine(payments);
  await ensureIndexes(opened.database.db, createResources(engine));
  const worker = createWorker(opened.database.db, engine, payments, logger);
  worker.start();
  stoppers.unshift(() => worker.stop());
  logger.info({ database: opened.mode, owner: worker.owner }, `payment worker running — database: ${opened.description}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
