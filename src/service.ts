import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from 'mongodb';
import type { Express } from 'express';
import { createApp } from './core/app.js';
import type { Config } from './core/config.js';
import type { Database } from './core/db.js';
import { buildActionTable, type ActionTable, type ResourceDefinition } from './core/dispatch.js';
import type { Logger } from './core/logger.js';
import { RESOURCES } from './resources/index.js';

/** The folder of the YAML result schemas. */
export const SCHEMA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'result-schemas');

export interface ServiceOptions {
  database: Database;
  config: Pick<Config, 'apiKeys' | 'bodyLimitBytes'>;
  logger: Logger;
  resources?: readonly ResourceDefinition[];
  schemaDir?: string;
}

export interface Service {
  app: Express;
  actions: ActionTable;
  stop(): Promise<void>;
}

/** Wires resources, schemas, indexes and the HTTP app; tests call it with their own database and config. */
export async function createService(options: ServiceOptions): Promise<Service> {
  const resources = options.resources ?? RESOURCES;
  const actions = buildActionTable(resources, options.schemaDir ?? SCHEMA_DIR);
  await ensureIndexes(options.database.db, resources);
  const app = createApp({ database: options.database, config: options.config, logger: options.logger, actions });
  return { app, actions, stop: async () => {} };
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
