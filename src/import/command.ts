import { existsSync } from 'node:fs';
import { parseParams, type ParamsDeclaration, type ParsedParam } from '../core/params.js';
import { createResources } from '../resources/index.js';
import { Checkpoint } from './checkpoint.js';
import { ImportAborted, importFile, type ImportStats } from './importer.js';
import { createProgress } from './progress.js';
import { countRows, formatOf } from './readers.js';

/** The `import` lines of the CLI's usage. */
export const IMPORT_USAGE = `  import <resource> <file> [--url URL] [--key KEY] [--batch N] [--concurrency N] [--resume] [--skip-existing]
        create records from a JSON Lines (.jsonl), CSV (.csv, header = field names) or xlsx (.xlsx, first sheet)
        file through <resource>/batch_create (atomic: false) of a running service (--url, default $API_URL or
        http://127.0.0.1:3000; --key, default $API_KEY); --batch rows per call (500, at most 1000), --concurrency
        calls in flight (4). Refused rows go to <file>.errors.jsonl; exit 1 if any row was refused, 3 if the
        import stopped (the reason is printed).
        --resume continues a killed import from <file>.import-checkpoint.json without creating rows twice;
        --skip-existing counts rows refused for a unique value already stored as imported.
`;

class UsageError extends Error {}

interface Args {
  resource: string;
  file: string;
  url: string;
  key: string;
  batch: number;
  concurrency: number;
  resume: boolean;
  skipExisting: boolean;
}

function parseArgs(argv: string[]): Args {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) positional.push(arg);
    else if (arg === '--resume' || arg === '--skip-existing') flags.set(arg, true);
    else if (['--url', '--key', '--batch', '--concurrency'].includes(arg)) {
      const value = argv[++i];
      if (value === undefined) throw new UsageError(`${arg} needs a value`);
      flags.set(arg, value);
    } else throw new UsageError(`unknown option ${arg}`);
  }
  const [resource, file, ...extra] = positional;
  if (!resource || !file || extra.length > 0) throw new UsageError('import needs <resource> <file>');
  const int = (name: string, fallback: number, max: number) => {
    const value = flags.get(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`${name} must be an integer from 1 to ${max}`);
    return n;
  };
  const key = (flags.get('--key') as string | undefined) ?? process.env.API_KEY;
  if (!key) throw new UsageError('an API key is needed: --key KEY or API_KEY');
  return {
    resource,
    file,
    url: ((flags.get('--url') as string | undefined) ?? process.env.API_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, ''),
    key,
    batch: int('--batch', 500, 1000),
    concurrency: int('--concurrency', 4, 32),
    resume: flags.has('--resume'),
    skipExisting: flags.has('--skip-existing'),
  };
}

/** The doc fields of the resource's batch_create, from the same declarations the server compiles. */
function docFields(resource: string): Map<string, ParsedParam> {
  const definition = createResources().find((r) => r.name === resource);
  const docs = definition?.actions.batch_create?.params.docs;
  if (!docs || typeof docs === 'string' || !docs.fields) throw new UsageError(`resource "${resource}" has no batch_create`);
  return new Map(parseParams(docs.fields as ParamsDeclaration).map((p) => [p.name, p]));
}

/** `npm run cli -- import ...`: exit 0 when every row was imported, 1 when some were refused (listed in the errors file), 2 usage, 3 stopped (reason printed). */
export async function runImportCommand(argv: string[]): Promise<number> {
  let args: Args;
  let fields: Map<string, ParsedParam>;
  try {
    args = parseArgs(argv);
    fields = docFields(args.resource);
    if (!existsSync(args.file)) throw new UsageError(`no file ${args.file}`);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n\nusage: npm run cli -- import ...\n${IMPORT_USAGE}`);
    return 2;
  }
  const format = formatOf(args.file);
  if (!format) {
    process.stderr.write(`${args.file}: the name must end in .jsonl, .ndjson, .csv or .xlsx\n`);
    return 2;
  }
  const checkpointPath = `${args.file}.import-checkpoint.json`;
  const saved = await Checkpoint.load(checkpointPath);
  if (saved && !args.resume) {
    process.stderr.write(
      `${checkpointPath} exists: an earlier import of this file did not finish. Run again with --resume, or delete it.\n`,
    );
    return 2;
  }
  if (saved && (saved.state.resource !== args.resource || saved.state.batch_size !== args.batch)) {
    process.stderr.write(
      `${checkpointPath} is for ${saved.state.resource} with --batch ${saved.state.batch_size}; resume with the same.\n`,
    );
    return 2;
  }
  // counted before the checkpoint is written: a file that cannot be read leaves nothing to resume
  let total: number;
  try {
    total = await countRows(args.file, format);
  } catch (err) {
    process.stderr.write(`import stopped: cannot read ${args.file}: ${(err as Error).message}\nno row was sent\n`);
    return 3;
  }
  const checkpoint = saved ?? Checkpoint.create(checkpointPath, args.resource, args.batch);
  await checkpoint.save();
  const progress = createProgress(total);
  let stats: ImportStats;
  try {
    stats = await importFile({
      ...args,
      batchSize: args.batch,
      format,
      fields,
      checkpoint,
      resume: saved !== undefined,
      errorsFile: `${args.file}.errors.jsonl`,
      onProgress: progress.update,
    });
  } catch (err) {
    progress.stop();
    // anything else (the file unreadable half-way, a broken answer) stops it too, with its reason: exit 1 means
    // "rows were refused, see the errors file", and an unexpected crash must not look like that
    const reason = err instanceof ImportAborted ? err.message : `${(err as Error).message} (${(err as Error).name})`;
    process.stderr.write(`import stopped: ${reason}\nrun again with --resume to continue\n`);
    return 3;
  }
  progress.stop();
  await checkpoint.remove();
  const errorsNote = stats.failed > 0 ? ` (see ${args.file}.errors.jsonl)` : '';
  process.stdout.write(
    `imported ${stats.done - stats.failed} of ${stats.done} rows: ${stats.created} created, ${stats.existing} already there` +
      `${stats.resumed > 0 ? `, ${stats.resumed} from the earlier run` : ''}; ${stats.failed} refused${errorsNote}\n`,
  );
  return stats.failed > 0 ? 1 : 0;
}
