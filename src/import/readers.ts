import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import { readFirstSheet } from './xlsx-sheet.js';

/** One record of an import file: its values as read, and where it is (line of a JSONL/CSV file, row of a sheet). */
export interface SourceRow {
  /** The line (JSONL, CSV: the record's last line) or sheet row number, 1-based, as an editor shows it. */
  position: number;
  values: Record<string, unknown>;
  /** Set when the record could not be read at all (not JSON, not an object). */
  unreadable?: string;
}

export type FileFormat = 'jsonl' | 'csv' | 'xlsx';

/** The format from the file name: .jsonl/.ndjson, .csv, .xlsx. */
export function formatOf(file: string): FileFormat | undefined {
  if (/\.(jsonl|ndjson)$/i.test(file)) return 'jsonl';
  if (/\.csv$/i.test(file)) return 'csv';
  if (/\.xlsx$/i.test(file)) return 'xlsx';
  return undefined;
}

/** `line` (JSONL, CSV) or `row` (xlsx): what the errors file calls a position. */
export function positionName(format: FileFormat): 'line' | 'row' {
  return format === 'xlsx' ? 'row' : 'line';
}

/** Reads the file one record at a time (streaming: memory stays flat whatever the file size). */
export function readRows(file: string, format: FileFormat): AsyncGenerator<SourceRow> {
  switch (format) {
    case 'jsonl':
      return readJsonLines(file);
    case 'csv':
      return readCsv(file);
    case 'xlsx':
      return readSheet(file);
  }
}

async function* readJsonLines(file: string): AsyncGenerator<SourceRow> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  let position = 0;
  for await (const line of lines) {
    position += 1;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      yield { position, values: {}, unreadable: 'is not valid JSON' };
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      yield { position, values: {}, unreadable: 'is not a JSON object' };
    else yield { position, values: value as Record<string, unknown> };
  }
}

async function* readCsv(file: string): AsyncGenerator<SourceRow> {
  // header row = field names; quoted fields may span lines, so the position is the line where the record ends
  const parser = createReadStream(file).pipe(parse({ columns: true, bom: true, skip_empty_lines: true, trim: false, info: true }));
  for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
    yield { position: info.lines, values: record };
  }
}

async function* readSheet(file: string): AsyncGenerator<SourceRow> {
  let header: string[] | undefined;
  for await (const row of readFirstSheet(file)) {
    const cells = row.values.slice(1);
    if (!header) {
      header = cells.map((cell) => String(cellValue(cell) ?? '').trim());
      continue;
    }
    if (cells.every((cell) => cellValue(cell) === null)) continue;
    const values: Record<string, unknown> = {};
    header.forEach((name, i) => {
      const value = cellValue(cells[i]);
      if (name !== '' && value !== null) values[name] = value;
    });
    yield { position: row.number, values };
  }
}

/** A cell's plain value: rich text joined, a formula's result, a hyperlink's text; empty → null. */
function cellValue(cell: unknown): unknown {
  if (cell === undefined || cell === null || cell === '') return null;
  if (typeof cell !== 'object' || cell instanceof Date) return cell;
  const c = cell as { richText?: Array<{ text: string }>; result?: unknown; text?: unknown; error?: unknown };
  if (c.richText) return c.richText.map((part) => part.text).join('');
  if ('result' in c) return cellValue(c.result);
  if (c.text !== undefined) return cellValue(c.text);
  return null;
}

/** How many records the file holds, read as fast as possible for the progress bar (lines for text files). */
export async function countRows(file: string, format: FileFormat): Promise<number> {
  if (format === 'xlsx') {
    let count = 0;
    for await (const _ of readSheet(file)) count += 1;
    return count;
  }
  let newlines = 0;
  let last = 10;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) newlines += 1;
    last = chunk[chunk.length - 1] ?? last;
  }
  const lines = newlines + (last === 10 ? 0 : 1);
  return format === 'csv' ? Math.max(lines - 1, 0) : lines;
}
