import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, type Config } from '../core/config.js';
import { loadPaymentsConfig, type PaymentsConfig } from '../payments/config.js';
import { loadPublishingConfig, type PublishingConfig } from '../publishing/config.js';
import { loadOrCreateDevKey } from './dev-key.js';

/** The project folder (dist/.. or src/..). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** DATA_DIR as an absolute path (relative values are taken from the project folder). */
export function dataDirOf(config: Pick<Config, 'dataDir'>): string {
  return path.resolve(PROJECT_ROOT, config.dataDir);
}

/**
 * Reads both configurations once; a bad value prints one line naming the variable and exits with code 2.
 * Without API_KEYS outside production the development key is the one kept under DATA_DIR (made on first use).
 */
export function loadConfigsOrExit(): { config: Config; payments: PaymentsConfig; publishing: PublishingConfig } {
  try {
    const config = loadConfig(process.env, (dataDir) => loadOrCreateDevKey(path.resolve(PROJECT_ROOT, dataDir)));
    return { config, payments: loadPaymentsConfig(), publishing: loadPublishingConfig() };
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
