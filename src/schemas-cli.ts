import path from 'node:path';
import { ObjectId } from 'mongodb';
import { DeclarationError, formatProblem, type DeclarationProblem } from './core/declaration-error.js';
import { checkDeclarations } from './core/declarations.js';
import { buildActionTable, shapeResult, type ResourceDefinition } from './core/dispatch.js';
import { createLogger } from './core/logger.js';
import { loadConfigsOrExit } from './boot/configs.js';
import { openDatabase } from './boot/open-database.js';
import { createResources } from './resources/index.js';
import { SCHEMA_DIR } from './service.js';

/** The `schemas …` lines of `npm run cli -- --help`. */
export const SCHEMAS_USAGE = `  schemas check [dir]
        check the YAML result schemas (default result-schemas/) and the resource declarations without a
        service or a database: one line file:line:column: schema.field: message per mistake; exit 1 on any
  schemas preview <schema> <resource> <_id>
        the answer the schema gives for a stored record (object_result), to see a schema change at once`;

/** Runs `schemas <command>`; returns the exit code, or undefined for an unknown command. */
export async function runSchemasCommand(command: string | undefined, args: string[]): Promise<number | undefined> {
  if (command === 'check') return check(args);
  if (command === 'preview') return await preview(args);
  return undefined;
}

/** The resources as the service builds them (no database, no services). */
function projectResources(): ResourceDefinition[] {
  return createResources();
}

function check(args: string[]): number {
  if (args.length > 1) throw new UsageError('schemas check takes at most one folder');
  const dir = path.resolve(args[0] ?? SCHEMA_DIR);
  const problems = checkProject(dir);
  for (const problem of problems) process.stdout.write(`${formatProblem(problem)}\n`);
  const name = path.relative(process.cwd(), dir) || '.';
  process.stderr.write(problems.length === 0 ? `${name}: no problems\n` : `${name}: ${problems.length} problem(s)\n`);
  return problems.length === 0 ? 0 : 1;
}

/** Everything the start checks; for another folder only resources and schemas (the actions name the service's schemas). */
function checkProject(dir: string): DeclarationProblem[] {
  let resources: ResourceDefinition[];
  try {
    resources = projectResources();
  } catch (err) {
    if (err instanceof DeclarationError) return [...err.problems];
    throw err;
  }
  if (dir !== path.resolve(SCHEMA_DIR)) return checkDeclarations(resources, dir).problems;
  try {
    buildActionTable(resources, dir);
    return [];
  } catch (err) {
    if (err instanceof DeclarationError) return [...err.problems];
    throw err;
  }
}

async function preview([schemaName, resourceName, id, ...extra]: string[]): Promise<number> {
  if (!schemaName || !resourceName || !id || extra.length > 0) throw new UsageError('usage: schemas preview <schema> <resource> <_id>');
  if (!/^[0-9a-f]{24}$/i.test(id)) throw new UsageError(`"${id}" is not an _id (24 hex characters)`);
  const table = buildActionTable(projectResources(), SCHEMA_DIR);
  const schema = table.schemas.get(schemaName);
  if (!schema)
    throw new UsageError(
      `no result schema "${schemaName}" (schemas: ${table.schemas
        .all()
        .map((s) => s.name)
        .join(', ')})`,
    );
  const resource = table.resources.find((r) => r.name === resourceName);
  if (!resource) throw new UsageError(`no resource "${resourceName}" (resources: ${table.resources.map((r) => r.name).join(', ')})`);
  const { config } = loadConfigsOrExit();
  const logger = createLogger({ level: 'warn', pretty: false, name: 'cli', destination: process.stderr as never });
  const opened = await openDatabase(config, logger);
  try {
    const record = await resource.model.collection(opened.database.db).findOne({ _id: ObjectId.createFromHexString(id) });
    if (!record) {
      process.stderr.write(`no ${resourceName} ${id} in ${resource.model.collectionName}\n`);
      return 1;
    }
    const shaped = await shapeResult(schema, 'object_result', record, opened.database.db);
    process.stdout.write(`${JSON.stringify(shaped, null, 2)}\n`);
    return 0;
  } finally {
    await opened.close();
  }
}

/** A command line that does not fit; the CLI prints it with the usage and exits 2. */
export class UsageError extends Error {}
