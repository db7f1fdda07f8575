import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { provisionDatabase } from '../src/local-db/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUrl: string;
    databaseMode: string;
  }
}

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Starts the run's database server (MONGODB_URL, else mongod, else the embedded server in memory). */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const database = await provisionDatabase({
    mongodbUrl: process.env.MONGODB_URL,
    storage: 'memory',
    projectRoot,
    dataDir: process.env.DATA_DIR ?? '.data',
    log: (level, message) => process.stderr.write(`[test database] ${level}: ${message}\n`),
  });
  process.stderr.write(`[test runtime] Node ${process.version}\n[test database] ${database.description}\n`);
  project.provide('mongoUrl', database.url);
  project.provide('databaseMode', database.mode);
  return async () => {
    await database.stop();
  };
}
