/** A cell of a table: numbers are right-aligned unless the column says otherwise. */
export type Cell = string | number | null | undefined;

/** One column: its header and, when the cell types do not say it, how to align it. */
export interface Column {
  header: string;
  align?: 'left' | 'right';
}

// East Asian wide and fullwidth ranges (Hangul, CJK, kana, fullwidth forms, wide emoji): two terminal cells each
const WIDE =
  /[\u1100-\u115F\u2E80-\u303E\u3041-\u33FF\u3400-\u4DBF\u4E00-\u9FFF\uA000-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6\u{1F300}-\u{1F64F}\u{1F900}-\u{1F9FF}\u{20000}-\u{3FFFD}]/u;
// combining marks and zero-width characters take no cell of their own
const ZERO = /[\p{Mn}\p{Me}\u200B-\u200F\uFEFF]/u;

/** How many terminal cells `text` takes: wide (CJK) characters count two, combining marks none. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) width += ZERO.test(char) ? 0 : WIDE.test(char) ? 2 : 1;
  return width;
}

/** `text` padded with spaces to `width` terminal cells, on the right (left-aligned) or on the left. */
export function pad(text: string, width: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return align === 'right' ? fill + text : text + fill;
}

/**
 * Renders rows under a header, columns two spaces apart and aligned by terminal width; a column whose cells are
 * all numbers is right-aligned. Trailing spaces are trimmed so a last wide column does not wrap short lines.
 */
export function renderTable(columns: Column[], rows: Cell[][]): string {
  const text = rows.map((row) => columns.map((_, i) => (row[i] === null || row[i] === undefined ? '' : String(row[i]))));
  const widths = columns.map((column, i) => Math.max(displayWidth(column.header), ...text.map((row) => displayWidth(row[i] ?? ''))));
  const aligns = columns.map((column, i) => column.align ?? (rows.length > 0 && rows.every((row) => isNumber(row[i])) ? 'right' : 'left'));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => pad(cell, widths[i] ?? 0, aligns[i] ?? 'left'))
      .join('  ')
      .trimEnd();
  return `${[line(columns.map((c) => c.header)), line(widths.map((w) => '─'.repeat(w))), ...text.map(line)].join('\n')}\n`;
}

function isNumber(cell: Cell): boolean {
  return typeof cell === 'number' || (typeof cell === 'string' && /^-?\d+(\.\d+)?$/.test(cell));
}
