import { describe, expect, it } from 'vitest';
import { displayWidth, pad, renderTable } from '../../src/cli/table.js';

describe('displayWidth', () => {
  it('counts one cell per ASCII character', () => {
    expect(displayWidth('wallet 42')).toBe(9);
  });

  it('counts two cells per CJK or fullwidth character', () => {
    expect(displayWidth('钱包a')).toBe(5);
    expect(displayWidth('ＡＢ')).toBe(4);
  });

  it('counts no cell for a combining mark', () => {
    expect(displayWidth('e\u0301')).toBe(1);
  });
});

describe('pad', () => {
  it('pads CJK text by its terminal width, not its length', () => {
    expect(pad('钱包', 6, 'left')).toBe('钱包  ');
    expect(pad('钱包', 6, 'right')).toBe('  钱包');
  });
});

describe('renderTable', () => {
  it('aligns text columns left, number columns right, under a rule', () => {
    const out = renderTable(
      [{ header: 'type' }, { header: 'money' }],
      [
        ['withdraw', 400],
        ['recharge', 12000],
      ],
    );
    expect(out).toBe(['type      money', '────────  ─────', 'withdraw    400', 'recharge  12000', ''].join('\n'));
  });

  it('treats numeric strings (decimal money) as numbers', () => {
    const out = renderTable([{ header: 'v' }], [['1.50'], ['10.25']]);
    expect(out).toBe(['    v', '─────', ' 1.50', '10.25', ''].join('\n'));
  });

  it('keeps a column with any text in it left-aligned', () => {
    expect(renderTable([{ header: 'a' }], [[1], ['xyz']])).toBe(['a', '───', '1', 'xyz', ''].join('\n'));
  });

  it('prints null as empty', () => {
    const out = renderTable(
      [{ header: 'a' }, { header: 'b' }],
      [
        [1, null],
        ['x', 'y'],
      ],
    );
    expect(out).toBe(['a  b', '─  ─', '1', 'x  y', ''].join('\n'));
  });

  it('lines up columns after a CJK cell', () => {
    const out = renderTable(
      [{ header: 'name' }, { header: 'n' }],
      [
        ['钱包', 1],
        ['ab', 22],
      ],
    );
    expect(out).toBe(['name   n', '────  ──', '钱包   1', 'ab    22', ''].join('\n'));
  });

  it('follows an explicit alignment over the cell types', () => {
    const out = renderTable([{ header: 'id', align: 'left' }], [[7], [123]]);
    expect(out).toBe(['id', '───', '7', '123', ''].join('\n'));
  });
});
