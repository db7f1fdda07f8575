import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import ExcelJS from 'exceljs';

/** What we use of an entry of unzipper's central-directory reader. */
interface ZipEntry {
  path: string;
  stream(): Readable;
}

/** What we use of exceljs's streaming WorkbookReader beyond its typings: its part parsers, one per zip entry. */
interface WorkbookParts {
  model?: { sheets?: Array<{ rId: string }> };
  workbookRels?: Array<{ Id: string; Target: string }>;
  _parseRels(entry: Readable): Promise<void>;
  _parseWorkbook(entry: Readable): Promise<void>;
  _parseSharedStrings(entry: Readable): AsyncGenerator<unknown>;
  _parseStyles(entry: Readable): Promise<void>;
  _parseWorksheet(iterator: AsyncIterable<unknown>, sheetNo: string): Generator<{ value: ExcelJS.stream.xlsx.WorksheetReader }>;
}

// exceljs's own dependency (declared in package.json at the same range, so there is one copy); no typings of its own
const unzipper = createRequire(import.meta.url)('unzipper') as { Open: { file(path: string): Promise<{ files: ZipEntry[] }> } };

/** A row of the sheet: its number in the sheet (1-based) and its cell values (`values[1]` is column A). */
export interface SheetRow {
  number: number;
  values: unknown[];
}

/**
 * The rows of the workbook's first sheet (in the workbook's order), one at a time from the file.
 *
 * Not exceljs's `for await (const sheet of new WorkbookReader(file))`: that reads the zip in one pass through
 * unzipper's `Parse`, which emits `end` as soon as the file has been read in, while entries it parsed are still
 * waiting to be read; the reader trusts that `end` and stops. So, depending on timing, the last entries are never
 * seen: with a workbook written by exceljs (`xl/workbook.xml` stored last) it threw "Cannot read properties of
 * undefined (reading 'sheets')" in 2 of 200 reads on a loaded machine (exceljs#3064), and with another order it
 * would silently miss the shared strings, the styles (dates read as numbers) or the sheet itself. Here the zip is
 * opened by its central directory and the parts are parsed in the order they depend on each other, by exceljs's
 * own part parsers; the sheet is still streamed row by row, so memory stays flat.
 */
export async function* readFirstSheet(file: string): AsyncGenerator<SheetRow> {
  let files: ZipEntry[];
  try {
    ({ files } = await unzipper.Open.file(file));
  } catch (err) {
    throw new Error(`not an xlsx file (a zip archive): ${(err as Error).message}`);
  }
  const part = (name: string) => files.find((f) => f.path === name);
  // as text: exceljs decodes each Buffer chunk on its own, so a character split across two chunks (a Chinese
  // name at a 16 KiB boundary of the inflated part) would come out as two U+FFFD; a string stream decodes across them
  const text = (entry: ZipEntry) => entry.stream().setEncoding('utf8');
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(file, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    styles: 'cache',
    hyperlinks: 'ignore',
    entries: 'ignore',
  }) as unknown as WorkbookParts;
  const rels = part('xl/_rels/workbook.xml.rels');
  const book = part('xl/workbook.xml');
  if (!rels || !book) throw new Error('not an xlsx workbook (no xl/workbook.xml)');
  await reader._parseRels(text(rels));
  await reader._parseWorkbook(text(book));
  const strings = part('xl/sharedStrings.xml');
  if (strings) for await (const _ of reader._parseSharedStrings(text(strings)));
  const styles = part('xl/styles.xml');
  if (styles) await reader._parseStyles(text(styles));

  const first = reader.model?.sheets?.[0];
  const target = reader.workbookRels?.find((rel) => rel.Id === first?.rId)?.Target;
  if (!target) return; // a workbook without sheets: no rows
  // Target is relative to xl/ ("worksheets/sheet1.xml") or absolute in the package ("/xl/worksheets/sheet1.xml")
  const sheetPath = target.startsWith('/') ? target.slice(1) : `xl/${target}`;
  const sheet = part(sheetPath);
  const sheetNo = /sheet(\d+)\.xml$/.exec(sheetPath)?.[1];
  if (!sheet || !sheetNo) throw new Error(`the workbook names ${sheetPath} as its first sheet, but the file has no such part`);
  for (const { value: worksheet } of reader._parseWorksheet(text(sheet), sheetNo)) {
    for await (const row of worksheet) yield { number: row.number, values: row.values as unknown[] };
  }
}
