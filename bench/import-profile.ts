/**
 * `npm run bench:import-profile`: where the time of one partial `account/batch_create` of 1000 docs goes, phase by
 * phase, on the same functions the action runs: params (ajv + conversion), the reference pre-check, the unique
 * pre-check against the database (what the atomic mode needs), the unordered insert, and the reference check after
 * the write (the undo check); then the whole action through the action table. BENCH_BATCHES (20), BENCH_STORAGE.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Document, ObjectId } from 'mongodb';
import { connectDatabase } from '../src/core/db.js';
import { serviceCaller } from '../src/core/callers.js';
import { createLogger } from '../src/core/logger.js';
import { missingReferences } from '../src/core/reference-guard.js';
import { createService } from '../src/service.js';
import { provisionBenchDatabase } from './database.js';

const BATCHES = Number(process.env.BENCH_BATCHES ?? 20);
const SIZE = 1000;
const STORAGE = process.env.BENCH_STORAGE === 'memory' ? 'memory' : 'file';

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'bench-import-profile-'));
  const server = await provisionBenchDatabase({ storage: STORAGE, dataDir: work, log: () => {} });
  const database = await connectDatabase({ url: server.url, dbName: `bench_profile_${Date.now()}` });
  const logger = createLogger({ level: 'silent', pretty: false });
  const service = await createService({
    database,
    config: { apiKeys: [{ name: 'bench', secret: 'bench-secret-0123456789' }], bodyLimitBytes: 1 << 20 },
    logger,
  });
  try {
    const action = service.actions.lookup('account', 'batch_create');
    const model = service.actions.resources.find((r) => r.name === 'account')?.model;
    if (!action || !model) throw new Error('no account/batch_create');
    const totals: Record<string, number> = { params: 0, reference_check: 0, unique_check_db: 0, insert: 0, undo_check: 0, whole_action: 0 };
    const time = async <T>(phase: string, work: () => Promise<T> | T): Promise<T> => {
      const start = process.hrtime.bigint();
      const result = await work();
      totals[phase] = (totals[phase] ?? 0) + Number(process.hrtime.bigint() - start) / 1e6;
      return result;
    };
    let n = 0;
    const body = () => ({
      atomic: false,
      docs: Array.from({ length: SIZE }, () => ({ name: `u${n}`, phone: `9${String(n++).padStart(10, '0')}`, state: 100 })),
    });
    for (let b = 0; b < BATCHES; b++) {
      // the phases, on their own collection of the same shape
      const params = await time('params', () => action.validator.validate(body()));
      const docs = params.docs as Document[];
      await time('reference_check', () => missingReferences(database.db, model, docs, (i, f) => `${i}.${f}`));
      const phones = docs.map((d) => d.phone);
      await time('unique_check_db', () =>
        model
          .collection(database.db)
          .find({ phone: { $in: phones } }, { projection: { phone: 1 } })
          .toArray(),
      );
      const now = new Date();
      const rows = docs.map((d) => ({ ...d, _id: new ObjectId(), created_at: now, updated_at: now }));
      await time('insert', () => model.collection(database.db).insertMany(rows, { ordered: false }));
      await time('undo_check', () => missingReferences(database.db, model, docs, (i, f) => `${i}.${f}`));
      // the whole action, as a request runs it (without HTTP)
      await time('whole_action', () =>
        action.run(body(), { db: database.db, log: logger, requestId: 'bench', caller: serviceCaller('bench') } as never),
      );
    }
    const perBatch = Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, Math.round((v / BATCHES) * 10) / 10]));
    process.stdout.write(
      `${JSON.stringify({ database: server.description, batches: BATCHES, docs_per_batch: SIZE, ms_per_batch: perBatch }, null, 2)}\n`,
    );
  } finally {
    await service.stop();
    await database.db.dropDatabase().catch(() => undefined);
    await database.close();
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:import-profile failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
