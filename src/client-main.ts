import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderClient } from './client-gen/render-client.js';
import { buildActionTable } from './core/dispatch.js';
import { createResources } from './resources/index.js';
import { SCHEMA_DIR } from './service.js';

/** `npm run client`: writes client/index.ts, the typed client of every action, from the declarations and YAML. */
const clientDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'client');
const table = buildActionTable(createResources(), SCHEMA_DIR);
mkdirSync(clientDir, { recursive: true });
writeFileSync(path.join(clientDir, 'index.ts'), renderClient(table));
process.stdout.write(`wrote client/index.ts (${table.list().length} actions)\n`);
