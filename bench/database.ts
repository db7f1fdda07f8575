import path from 'node:path';
import { type ProvisionedDatabase, type ProvisionOptions, provisionDatabase } from '../src/local-db/index.js';

const projectRoot = path.resolve(import.meta.dirname, '..');

/**
 * The database server of a bench run, as tests and `npm start` get theirs: MONGODB_URL when set, else a local one
 * started for the run (in memory, under `.data`, its messages on stderr unless told otherwise).
 */
export function provisionBenchDatabase(
  options: Partial<Pick<ProvisionOptions, 'storage' | 'dataDir' | 'log'>> = {},
): Promise<ProvisionedDatabase> {
  return provisionDatabase({
    mongodbUrl: process.env.MONGODB_URL,
    storage: options.storage ?? 'memory',
    projectRoot,
    dataDir: options.dataDir ?? '.data',
    log: options.log ?? ((level, message) => process.stderr.write(`[db] ${level}: ${message}\n`)),
  });
}
