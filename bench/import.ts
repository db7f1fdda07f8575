/**
 * `npm run bench:import`: importing N accounts (default 100k) with `npm run cli -- import` (partial batch_create over
 * HTTP, several batches in flight) against raw driver `insertMany` of the same documents into a collection with the
 * same indexes, on the same database server, in one run. Prints both rates and their ratio.
 *
 * BENCH_STORAGE=file (default: the embedded server's H2 file, as `npm start` uses) or memory; BENCH_ROWS, BENCH_BATCH,
 * BENCH_CONCURRENCY. With MONGODB_URL set, that server is used instead (a fresh database, dropped at the end).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Collection, type Document, type IndexDescription, MongoClient, ObjectId } from 'mongodb';
import { provisionDatabase } from '../src/local-db/index.js';
import account from '../src/resources/account/index.js';
import { BENCH_KEY, startServiceChild } from './child.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const STORAGE = process.env.BENCH_STORAGE === 'memory' ? 'memory' : 'file';

/** The accounts of the file: name, unique phone, state — what an import script of users would send. */
function accountAt(i: number): Document {
  return { name: `用户${i}`, phone: `1${String(i).padStart(10, '0')}`, state: i % 10 === 0 ? 200 : 100 };
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'bench-import-'));
  const database = await provisionDatabase({
    mongodbUrl: process.env.MONGODB_URL,
    storage: STORAGE,
    projectRoot: root,
    dataDir: path.join(work, 'data'),
    log: (level, message) => process.stderr.write(`[db] ${level}: ${message}\n`),
  });
  const dbName = `bench_import_${Date.now()}`;
  const client = new MongoClient(database.url);
  let service: ChildProcess | undefined;
  try {
    const db = client.db(dbName);
    const file = path.join(work, 'accounts.jsonl');
    writeFileSync(file, `${Array.from({ length: ROWS }, (_, i) => JSON.stringify(accountAt(i))).join('\n')}\n`);

    // the baselines: the same documents as the service stores them, in the same batches and concurrency, into a
    // collection with the same indexes as account (A), and with only its unique phone index (B, the figure)
    const now = new Date();
    const docs = Array.from({ length: ROWS }, (_, i) => ({ ...accountAt(i), _id: new ObjectId(), created_at: now, updated_at: now }));
    const rawSeconds = await insertAll(db.collection('baseline_all_indexes'), account.indexes, docs);
    const uniqueOnlySeconds = await insertAll(
      db.collection('baseline_unique_index'),
      account.indexes.filter((index) => index.name === 'phone_1'),
      docs,
    );

    const started = await startServiceChild(root, database.url, dbName);
    service = started.child;
    const port = started.port;
    const importStart = process.hrtime.bigint();
    const code = await new Promise<number | null>((resolve) => {
      const cli = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli.ts',
          'import',
          'account',
          file,
          '--url',
          `http://127.0.0.1:${port}`,
          '--batch',
          String(BATCH),
          '--concurrency',
          String(CONCURRENCY),
        ],
        { cwd: root, env: { ...process.env, API_KEY: BENCH_KEY.secret }, stdio: ['ignore', 'inherit', 'ignore'] },
      );
      cli.once('exit', resolve);
    });
    const importSeconds = Number(process.hrtime.bigint() - importStart) / 1e9;
    if (code !== 0) throw new Error(`import exited with ${code}`);
    const stored = await db.collection('account').countDocuments();
    if (stored !== ROWS) throw new Error(`import stored ${stored} of ${ROWS} accounts`);

    const rawRate = ROWS / rawSeconds;
    const uniqueOnlyRate = ROWS / uniqueOnlySeconds;
    const importRate = ROWS / importSeconds;
    const result = {
      database: database.description,
      rows: ROWS,
      batch: BATCH,
      concurrency: CONCURRENCY,
      raw_insert_many_rows_per_s: Math.round(rawRate),
      raw_insert_many_unique_index_only_rows_per_s: Math.round(uniqueOnlyRate),
      import_rows_per_s: Math.round(importRate),
      ratio: Math.round((importRate / rawRate) * 100) / 100,
      ratio_to_unique_index_only: Math.round((importRate / uniqueOnlyRate) * 100) / 100,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    await db.dropDatabase();
  } finally {
    service?.stdin?.end();
    await client.close();
    await database.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** insertMany of `docs` in BATCH-doc batches, CONCURRENCY in flight, into a fresh collection with `indexes`; seconds. */
async function insertAll(collection: Collection, indexes: IndexDescription[], docs: Document[]): Promise<number> {
  await collection.createIndexes(indexes.map((index) => ({ ...index })));
  const start = process.hrtime.bigint();
  await inParallel(Math.ceil(docs.length / BATCH), CONCURRENCY, (b) =>
    collection.insertMany(docs.slice(b * BATCH, (b + 1) * BATCH), { ordered: false }).then(() => undefined),
  );
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Runs jobs 0..count-1, `limit` at a time. */
async function inParallel(count: number, limit: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) await job(next++);
    }),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:import failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
