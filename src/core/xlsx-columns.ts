import type { FieldInfo } from './result-schemas.js';

/** A cell value exceljs writes with its type: number, text, boolean, date, or empty. */
export type CellValue = number | string | boolean | Date | null;

/** One column of an export: its header, width, number format and how a shaped row gives its cell. */
export interface Column {
  header: string;
  /** The path in the shaped row, for tests and logs. */
  key: string;
  numFmt?: string;
  width: number;
  cell(row: Record<string, unknown>): CellValue;
}

const DATETIME_FORMAT = 'yyyy-mm-dd hh:mm:ss';
const DATE_FORMAT = 'yyyy-mm-dd';

/**
 * The columns of a result schema: one per field, headed by the field's note (the Chinese name in the YAML) or its
 * name; an `object` field gives one column per sub-field. Values come from the *shaped* row (what the JSON answer
 * holds), turned back into typed cells: numbers stay numbers (money in minor units as integers), datetime and date
 * become real date cells, ObjectIds are their hex text, a referenced record is shown by its `name` (else its `_id`).
 */
export function columnsOf(fields: readonly FieldInfo[]): Column[] {
  return fields.flatMap((field) => fieldColumns(field, [field.name], field.note ?? field.name));
}

function fieldColumns(field: FieldInfo, path: string[], header: string): Column[] {
  const read = (row: Record<string, unknown>): unknown => {
    let value: unknown = row;
    for (const key of path) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
    return value;
  };
  const column = (cell: (value: unknown) => CellValue, extra: Partial<Column> = {}): Column => ({
    header,
    key: path.join('.'),
    width: Math.min(Math.max(displayWidth(header) + 2, 10), 40),
    cell: (row) => {
      const value = read(row);
      return value === null || value === undefined ? null : cell(value);
    },
    ...extra,
  });
  switch (field.type) {
    case 'int':
    case 'float':
      return [column((v) => Number(v))];
    case 'bool':
      return [column((v) => Boolean(v))];
    case 'datetime':
      return [column((v) => new Date(String(v)), { numFmt: DATETIME_FORMAT, width: 20 })];
    case 'date':
      return [column((v) => new Date(`${String(v)}T00:00:00Z`), { numFmt: DATE_FORMAT, width: 12 })];
    case 'object_id':
      return [column((v) => String(v), { width: 26 })];
    case 'object':
      return (field.fields ?? []).flatMap((sub) => fieldColumns(sub, [...path, sub.name], `${header}.${sub.note ?? sub.name}`));
    case 'object_ref':
      return [column(refLabel)];
    case 'list':
      return [
        column((v) =>
          Array.isArray(v)
            ? v.map((item) => (item !== null && typeof item === 'object' ? JSON.stringify(item) : String(item))).join(', ')
            : String(v),
        ),
      ];
    default:
      return [column((v) => String(v))];
  }
}

function refLabel(value: unknown): CellValue {
  const label = (record: unknown): string => {
    if (record === null || typeof record !== 'object') return '';
    const { name, _id } = record as { name?: unknown; _id?: unknown };
    return String(name ?? _id ?? '');
  };
  return Array.isArray(value) ? value.map(label).join(', ') : label(value);
}

/** CJK characters take two columns in a spreadsheet. */
function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += /[\u2e80-\uffff]/.test(ch) ? 2 : 1;
  return width;
}
