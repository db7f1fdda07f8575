import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildActionTable } from './core/dispatch.js';
import { renderOpenApi, renderSep12 } from './core/docs.js';
import { RESULT_SCHEMA_JSON_SCHEMA, resultSchemaJsonSchema } from './core/schema-json-schema.js';
import { buildGraphqlSchema, printGraphqlSchema } from './graphql/index.js';
import { createResources } from './resources/index.js';
import { SCHEMA_DIR } from './service.js';

/** `npm run docs`: writes docs/api.md (SEP-12 format) and docs/openapi.json from the declarations. */
const docsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs');
const table = buildActionTable(createResources(), SCHEMA_DIR);
mkdirSync(docsDir, { recursive: true });
writeFileSync(path.join(docsDir, 'api.md'), renderSep12(table));
writeFileSync(path.join(docsDir, 'openapi.json'), `${JSON.stringify(renderOpenApi(table), null, 2)}\n`);
writeFileSync(path.join(docsDir, '..', RESULT_SCHEMA_JSON_SCHEMA), `${JSON.stringify(resultSchemaJsonSchema(), null, 2)}\n`);
writeFileSync(path.join(docsDir, 'schema.graphql'), printGraphqlSchema(buildGraphqlSchema(table)));
process.stdout.write(
  `wrote docs/api.md, docs/openapi.json, docs/schema.graphql and ${RESULT_SCHEMA_JSON_SCHEMA} (${table.list().length} actions)\n`,
);
