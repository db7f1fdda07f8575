import type { Writable } from 'node:stream';
import type { Response } from 'express';
import ExcelJS from 'exceljs';
import type { Db, Document, FindCursor } from 'mongodb';
import type { ActionDefinition } from './dispatch.js';
import type { Logger } from './logger.js';
import { querySourceOf } from './query-source.js';
import type { ResultSchema } from './result-schemas.js';
import { StreamedResult } from './streamed-result.js';
import { columnsOf, type Column } from './xlsx-columns.js';

/** The media type of an xlsx file. */
export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
/** A sheet holds 1,048,576 rows, one of them the header. */
export const MAX_EXPORT_ROWS = 1_048_575;
/** Rows shaped (one `$in` per ref field) and written at a time. */
const CHUNK = 200;
/**
 * Documents per server reply. Kept small on purpose: the driver holds on to what it parsed of a reply until its
 * next one, so each reply lives through the young generation's collections while its rows are written; at 500 per
 * reply the survivors piled up in the old generation and the peak memory grew with the row count (10k rows 231 MB,
 * 100k 410 MB), at 50 V8 still doubled its young generation once during a 100k export, at 20 neither happens
 * (bench/README.md). The price is a round trip per 20 rows.
 */
const CURSOR_BATCH = 20;

/**
 * `<resource>/export` from a find action (std.find or queryFind): the same filters and sort, every matching row
 * (no paging) written as an xlsx file, streamed. Columns are the fields of the find's result schema.
 */
export function exportOf(find: ActionDefinition, options: { summary?: string } = {}): ActionDefinition {
  const source = querySourceOf(find);
  if (!source) throw new Error('exportOf: the action does not say how it queries (use std.find or queryFind)');
  const action: ActionDefinition = {
    summary: options.summary ?? `The ${source.model.name} rows of find (same filters and sort, all pages) as an xlsx file`,
    params: source.params,
    rules: source.rules,
    result: find.result,
    envelope: 'result_set',
    handler: async (params, ctx) => {
      const { filter, sort } = source.build(params);
      // derive() may read any field, so the whole record is read then
      const projection = source.map ? undefined : ctx.resultProjection;
      const cursor = source.model
        .collection(ctx.db)
        .find(filter, { sort, batchSize: CURSOR_BATCH, ...(projection ? { projection } : {}) })
        .limit(MAX_EXPORT_ROWS);
      try {
        // the first read fails here, while the answer can still be a JSON error
        await cursor.hasNext();
      } catch (err) {
        await cursor.close();
        throw err;
      }
      return new XlsxDownload({
        cursor,
        schema: ctx.resultSchema,
        db: ctx.db,
        log: ctx.log,
        fileName: `${source.model.name}-${stamp(new Date())}.xlsx`,
        sheetName: source.model.name,
        map: source.map ?? ((record) => record),
      });
    },
  };
  EXPORTS.add(action);
  return action;
}

const EXPORTS = new WeakSet<ActionDefinition>();

/** Whether an action answers an xlsx file (for the docs: SEP-12 "响应 xlsx文件", OpenAPI content type). */
export function isExportAction(action: ActionDefinition): boolean {
  return EXPORTS.has(action);
}

interface DownloadOptions {
  cursor: FindCursor<Document>;
  schema: ResultSchema;
  db: Db;
  log: Logger;
  fileName: string;
  sheetName: string;
  map: (record: Document) => Document;
}

/** The xlsx answer: exceljs's streaming writer into the response, a chunk of rows at a time, with backpressure. */
class XlsxDownload extends StreamedResult {
  private readonly columns: Column[];

  constructor(private readonly options: DownloadOptions) {
    super();
    this.columns = columnsOf(options.schema.fields);
  }

  async send(res: Response): Promise<void> {
    const { cursor, fileName } = this.options;
    res.status(200);
    res.setHeader('Content-Type', XLSX_TYPE);
    res.setHeader('Content-Disposition', `attachment; filename="${fileName}"`);
    try {
      await this.write(res);
    } catch (err) {
      // the headers are gone: all that can be done is to cut the file short, so the client sees a broken download
      this.options.log.error({ err }, 'export failed after the first byte');
      res.destroy(err as Error);
    } finally {
      await cursor.close().catch(() => undefined);
    }
  }

  private async write(res: Response): Promise<void> {
    const { cursor, schema, db, map, sheetName } = this.options;
    const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: res, useStyles: true, useSharedStrings: false });
    const sheet = workbook.addWorksheet(sheetName, { views: [{ state: 'frozen', ySplit: 1 }] });
    sheet.columns = this.columns.map((c) => ({ key: c.key, width: c.width, ...(c.numFmt ? { style: { numFmt: c.numFmt } } : {}) }));
    sheet.addRow(this.columns.map((c) => c.header)).commit();
    let chunk: Document[] = [];
    const flush = async () => {
      const rows = await schema.shapeMany(chunk.map(map), db);
      chunk = [];
      for (const row of rows) sheet.addRow(this.columns.map((c) => c.cell(row as Record<string, unknown>))).commit();
      // exceljs's sheet buffer pushes into the zip's deflate stream without waiting, and the zip into the response:
      // wait for both, or rows pile up in memory whenever compression or the client is slower than the database
      // (the zip's input is a readable-stream v2 PassThrough: no writableNeedDrain, its state says it)
      const zipInput = (sheet as unknown as { stream?: { pipes?: Array<Writable & { _writableState?: { needDrain?: boolean } }> } }).stream
        ?.pipes?.[0];
      if (zipInput && (zipInput.writableNeedDrain ?? zipInput._writableState?.needDrain)) await drainOrClose(zipInput, res);
      if (res.writableNeedDrain) await drainOrClose(res, res);
    };
    for await (const record of cursor) {
      if (res.destroyed) return;
      chunk.push(record);
      if (chunk.length < CHUNK) continue;
      await flush();
      // a client gone while the rows waited for it: stop before the next record asks the server for more
      if (res.destroyed) return;
    }
    if (chunk.length > 0) await flush();
    sheet.commit();
    await workbook.commit();
  }
}

/** Waits until the client has taken what is buffered, or has gone away (then the loop sees `res.destroyed`). */
function drainOrClose(stream: Writable, res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      res.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    res.on('close', done);
  });
}

/** `20261201-143005`, UTC. */
function stamp(date: Date): string {
  return date.toISOString().slice(0, 19).replace(/-/g, '').replace('T', '-').replace(/:/g, '');
}
