import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildActionTable } from './core/dispatch.js';
import { renderOpenApi, renderSep12 } from './core/docs.js';
import { loadPaymentsConfig } from './payments/config.js';
import { createResources } from './resources/index.js';
import { SCHEMA_DIR, createEngine } from './service.js';

/** `npm run docs`: writes docs/api.md (SEP-12 format) and docs/openapi.json from the declarations. */
const docsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs');
const table = buildActionTable(createResources(createEngine(loadPaymentsConfig({}))), SCHEMA_DIR);
mkdirSync(docsDir, { recursive: true });
writeFileSync(path.join(docsDir, 'api.md'), renderSep12(table));
writeFileSync(path.join(docsDir, 'openapi.json'), `${JSON.stringify(renderOpenApi(table), null, 2)}\n`);
process.stdout.write(`wrote docs/api.md and docs/openapi.json (${table.list().length} actions)\n`);
