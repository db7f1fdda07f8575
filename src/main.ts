import type { Server } from 'node:http';
import { bootProcess } from './boot/boot-process.js';
import { dataDirOf } from './boot/configs.js';
import { announceDevKey } from './boot/dev-key.js';
import { listen, portOf, stopServing } from './boot/http-server.js';
import { DeclarationError } from './core/declaration-error.js';
import { Metrics } from './core/metrics.js';
import { createService, type Service } from './service.js';

/** `npm start`: the API (and, unless WORKER=off, the payment worker) on the configured or a local database. */
async function main(): Promise<void> {
  const { config, payments, publishing, logger, opened, onStop, fail } = await bootProcess('api');
  let service: Service;
  try {
    service = await createService({
      database: opened.database,
      config,
      logger,
      payments,
      publishing,
      startWorker: payments.worker.enabled,
      watchSchemas: config.nodeEnv === 'development',
      metrics: new Metrics(),
      ...(config.resultSchemasDir ? { schemaDir: config.resultSchemasDir } : {}),
    });
  } catch (err) {
    if (err instanceof DeclarationError) {
      // the same lines as `npm run cli -- schemas check`, one per mistake, readable outside the JSON log
      process.stderr.write(`${err.lines.join('\n')}\n`);
      return await fail(`cannot start: ${err.problems.length} declaration mistake(s):\n${err.message}`, DeclarationError.EXIT_CODE);
    }
    return await fail(`cannot start: ${(err as Error).message}`);
  }
  onStop(() => service.stop());

  let server: Server;
  try {
    server = await listen(service.app, config);
  } catch (err) {
    return await fail(`cannot listen on ${config.host}:${config.port}: ${(err as Error).message} (set PORT or HOST)`);
  }
  onStop(() => stopServing(server, service.readiness, config.shutdownDrainMs));
  const url = `http://${config.host}:${portOf(server, config.port)}`;
  logger.info(
    { url, database: opened.mode, db: config.mongodbDb, db_pid: opened.pid, worker: payments.worker.enabled },
    `listening on ${url} — database: ${opened.description}; payment worker ${payments.worker.enabled ? 'on' : 'off'}`,
  );
  // the key is a secret: shown on a terminal, never written into the log
  if (config.generatedApiKey) announceDevKey(config.generatedApiKey, url, dataDirOf(config), (message) => logger.info(message));
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
