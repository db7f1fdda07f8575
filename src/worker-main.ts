import { bootProcess } from './boot/boot-process.js';
import { createFaultPoint } from './core/faults.js';
import { ensurePaymentIndexes } from './payments/collections.js';
import { createEngine, createWorker } from './service.js';
import { createPublishJob } from './publishing/job.js';
import { traceCommands, tracingOn } from './core/tracing.js';

/** `npm run worker`: the payment gateway worker alone (run one per deployment; the lease keeps it single). */
async function main(): Promise<void> {
  const { payments, publishing, logger, opened, onStop } = await bootProcess('worker');
  const engine = createEngine(payments);
  if (tracingOn()) traceCommands(opened.database.client);
  await ensurePaymentIndexes(opened.database.db);
  const worker = createWorker(opened.database.db, engine, payments, logger);
  worker.start();
  onStop(() => worker.stop());
  const publisher = createPublishJob(opened.database.db, publishing, createFaultPoint(payments.faults), logger);
  publisher.start();
  onStop(() => publisher.stop());
  logger.info({ database: opened.mode, owner: worker.owner }, `payment worker running — database: ${opened.description}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
