import { createWriteStream, type WriteStream } from 'node:fs';
import type { ParsedParam } from '../core/params.js';
import type { Checkpoint } from './checkpoint.js';
import { positionName, readRows, type FileFormat, type SourceRow } from './readers.js';
import { typeRow } from './typing.js';

export interface ImportOptions {
  url: string;
  key: string;
  resource: string;
  file: string;
  format: FileFormat;
  batchSize: number;
  concurrency: number;
  resume: boolean;
  skipExisting: boolean;
  /** The resource's batch_create doc fields, to type CSV and xlsx cells. */
  fields: ReadonlyMap<string, ParsedParam>;
  checkpoint: Checkpoint;
  errorsFile: string;
  onProgress?: (stats: ImportStats) => void;
}

/** Rows so far: created now, already there (earlier run, or a unique conflict with --skip-existing), refused. */
export interface ImportStats {
  done: number;
  created: number;
  existing: number;
  failed: number;
  /** Rows skipped because a previous run confirmed their batch (--resume). */
  resumed: number;
}

/** A call that cannot succeed by retrying (auth, a refused whole call, the server gone for good): the import stops. */
export class ImportAborted extends Error {}

interface PendingRow {
  ordinal: number;
  row: SourceRow;
}

/** A request body stays under the server's default 1 MiB limit. */
const MAX_BODY_BYTES = 900 * 1024;
const RETRIES = 5;
const TAKEN = 'is already taken';

/**
 * Streams the file into partial `batch_create` calls, `concurrency` in flight; the reader waits while they are
 * all busy, so memory holds at most that many batches. Every refused row goes to the errors file.
 */
export async function importFile(options: ImportOptions): Promise<ImportStats> {
  const stats: ImportStats = { done: 0, created: 0, existing: 0, failed: 0, resumed: 0 };
  const errors = createWriteStream(options.errorsFile, { flags: options.resume ? 'a' : 'w' });
  const inFlight = new Set<Promise<void>>();
  let aborted: unknown;
  // unheard, a failed write (disk full) would crash the process with exit 1, which says "rows refused"
  errors.on('error', (err) => {
    aborted ??= new ImportAborted(`cannot write ${options.errorsFile}: ${err.message}`);
  });
  let batch: PendingRow[] = [];
  let batchNo = 0;
  let ordinal = 0;
  const launch = (rows: PendingRow[], no: number) => {
    const job = sendBatch(options, rows, no, stats, errors).catch((err: unknown) => {
      aborted ??= err;
    });
    const tracked = job.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };
  try {
    for await (const row of readRows(options.file, options.format)) {
      if (aborted) break;
      const no = Math.floor(ordinal / options.batchSize);
      if (no !== batchNo) {
        if (batch.length > 0) launch(batch, batchNo);
        batch = [];
        batchNo = no;
        while (inFlight.size >= options.concurrency) await Promise.race(inFlight);
      }
      if (options.checkpoint.isConfirmed(no)) {
        stats.done += 1;
        stats.resumed += 1;
      } else {
        batch.push({ ordinal, row });
      }
      ordinal += 1;
    }
    if (!aborted && batch.length > 0) launch(batch, batchNo);
    await Promise.all(inFlight);
  } finally {
    await new Promise<void>((resolve) => errors.end(resolve));
  }
  if (aborted) throw aborted;
  options.onProgress?.(stats);
  return stats;
}

/**
 * A batch while its answers are awaited: the request bodies (UTF-8 bytes) and, per doc sent, its row's position and
 * ordinal — not the rows and docs themselves. A batch is in flight for as long as the server takes, long enough for
 * whatever it holds to outlive V8's young-generation collections and be promoted, where it stays as garbage until a
 * full collection: with the rows, the docs and the body as a string (a two-byte string of ~170 KB per 1000 Chinese
 * names, kept by fetch) held, the import's peak RSS grew with the file (10k rows 168 MB, 100k 213 MB, 300k 314 MB).
 */
interface PreparedBatch {
  no: number;
  /** Rows of the file in this batch. */
  size: number;
  bodies: Array<{ start: number; body: Buffer }>;
  positions: number[];
  ordinals: number[];
  /** Errors-file lines of the rows refused so far, and their ordinals. */
  lines: string[];
  failed: Set<number>;
}

function sendBatch(options: ImportOptions, rows: PendingRow[], no: number, stats: ImportStats, errors: WriteStream): Promise<void> {
  // not async: `rows` is released when this returns, instead of living in a suspended frame until the answers come
  return sendPrepared(options, prepareBatch(options, rows, no), stats, errors);
}

function prepareBatch(options: ImportOptions, rows: PendingRow[], no: number): PreparedBatch {
  const where = positionName(options.format);
  const batch: PreparedBatch = { no, size: rows.length, bodies: [], positions: [], ordinals: [], lines: [], failed: new Set() };
  const docs: unknown[] = [];
  for (const r of rows) {
    if (r.row.unreadable) {
      batch.failed.add(r.ordinal);
      batch.lines.push(JSON.stringify({ [where]: r.row.position, field: '', message: r.row.unreadable, code: 'unreadable' }));
      continue;
    }
    batch.positions.push(r.row.position);
    batch.ordinals.push(r.ordinal);
    docs.push({
      ...(options.format === 'jsonl' ? r.row.values : typeRow(r.row.values, options.fields)),
      _id: options.checkpoint.idOf(r.ordinal),
    });
  }
  for (const [start, end] of chunksBySize(docs))
    batch.bodies.push({ start, body: Buffer.from(JSON.stringify({ atomic: false, docs: docs.slice(start, end) })) });
  return batch;
}

async function sendPrepared(options: ImportOptions, batch: PreparedBatch, stats: ImportStats, errors: WriteStream): Promise<void> {
  const where = positionName(options.format);
  const refuse = (i: number, field: string, message: string, code: string) => {
    batch.failed.add(batch.ordinals[i] as number);
    batch.lines.push(JSON.stringify({ [where]: batch.positions[i], field, message, code }));
  };
  let created = 0;
  let existing = 0;
  for (const { start, body } of batch.bodies) {
    const answer = await post(options, body);
    created += answer.created_count;
    const existingRows = new Set<number>();
    for (const item of answer.errors) {
      const i = start + item.index;
      const taken = item.code === 'conflict' && (item.messages.includes(TAKEN) || item.messages.some((m) => m.startsWith('repeats ')));
      // our own _id taken: this row was created by an earlier run that died before confirming the batch
      if (taken && (item.field === '_id' || options.skipExisting)) existingRows.add(batch.ordinals[i] as number);
      else refuse(i, item.field, item.messages.join('; '), item.code);
    }
    for (const ordinal of existingRows) if (!batch.failed.has(ordinal)) existing += 1;
  }
  if (batch.lines.length > 0 && !errors.write(`${batch.lines.join('\n')}\n`))
    await new Promise<void>((resolve) => errors.once('drain', () => resolve()));
  await options.checkpoint.confirm(batch.no);
  stats.created += created;
  stats.existing += existing;
  stats.failed += batch.failed.size;
  stats.done += batch.size;
  options.onProgress?.(stats);
}

/** Splits docs into runs whose JSON stays under the body limit. */
function chunksBySize(docs: unknown[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let start = 0;
  let bytes = 0;
  docs.forEach((doc, i) => {
    const size = Buffer.byteLength(JSON.stringify(doc)) + 1;
    if (i > start && bytes + size > MAX_BODY_BYTES) {
      out.push([start, i]);
      start = i;
      bytes = 0;
    }
    bytes += size;
  });
  if (start < docs.length) out.push([start, docs.length]);
  return out;
}

interface PartialAnswer {
  created_count: number;
  errors: Array<{ index: number; field: string; code: string; messages: string[] }>;
}

/** One partial batch_create; network errors, 5xx and 503 are retried with backoff, other refusals stop the import. */
async function post(options: ImportOptions, body: Buffer): Promise<PartialAnswer> {
  let lastError = '';
  for (let attempt = 0; attempt < RETRIES; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${options.url}/${options.resource}/batch_create`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${options.key}` },
        body,
      });
      // the body too: a connection cut while it is read is a network error like any other
      text = await res.text();
    } catch (err) {
      lastError = (err as Error).message;
      continue;
    }
    if (res.status === 200) return JSON.parse(text) as PartialAnswer;
    lastError = `HTTP ${res.status}: ${text.slice(0, 500)}`;
    if (res.status < 500) throw new ImportAborted(`${options.resource}/batch_create refused the call: ${lastError}`);
  }
  throw new ImportAborted(`${options.resource}/batch_create failed ${RETRIES} times: ${lastError}`);
}
