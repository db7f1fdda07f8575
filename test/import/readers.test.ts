import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { countRows, readRows } from '../../src/import/readers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'import-readers-'));

async function rowsOf(file: string): Promise<Array<{ position: number; values: Record<string, unknown> }>> {
  const rows = [];
  for await (const row of readRows(file, 'xlsx')) rows.push(row);
  return rows;
}

describe('the xlsx reader', () => {
  it('reads every row of a two-sheet workbook written by exceljs, each time (its one-pass reader lost zip entries)', async () => {
    // exceljs stores xl/workbook.xml last; its streaming reader sometimes never saw it and threw "Cannot read
    // properties of undefined (reading 'sheets')" (2 of 200 reads on a loaded machine)
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('入库');
    sheet.addRow(['batch_id', 'in_count', 'operate_date']);
    sheet.addRow(['X-1', 1, new Date('2017-10-24T08:30:00Z')]);
    sheet.addRow(['X-2', 2, new Date('2017-10-25T08:30:00Z')]);
    workbook.addWorksheet('ignored').addRow(['station_id']);
    const file = path.join(dir, 'two-sheets.xlsx');
    await workbook.xlsx.writeFile(file);
    const expected = [
      { position: 2, values: { batch_id: 'X-1', in_count: 1, operate_date: new Date('2017-10-24T08:30:00Z') } },
      { position: 3, values: { batch_id: 'X-2', in_count: 2, operate_date: new Date('2017-10-25T08:30:00Z') } },
    ];
    for (let i = 0; i < 100; i++) expect(await rowsOf(file)).toEqual(expected);
    expect(await countRows(file, 'xlsx')).toBe(2);
  });

  it('keeps Chinese text whole across the chunks of a large sheet (exceljs decoded each chunk on its own)', async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('名单');
    sheet.addRow(['name', 'n']);
    const name = (i: number) => `张三李四王五${i}号仓库苹果梨桃`;
    for (let i = 1; i <= 5000; i++) sheet.addRow([name(i), i]);
    const file = path.join(dir, 'chinese.xlsx');
    await workbook.xlsx.writeFile(file);
    const rows = await rowsOf(file);
    expect(rows).toHaveLength(5000);
    expect(rows.filter((row, i) => row.values.name !== name(i + 1)).map((row) => row.values.name)).toEqual([]);
  });

  it('names a file that is not an xlsx workbook', async () => {
    const file = path.join(dir, 'text.xlsx');
    writeFileSync(file, 'name\nnot a workbook\n');
    await expect(rowsOf(file)).rejects.toThrow(/^not an xlsx file \(a zip archive\)/);
  });
});
