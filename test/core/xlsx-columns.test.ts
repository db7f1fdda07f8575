import { describe, expect, it } from 'vitest';
import type { FieldInfo } from '../../src/core/result-schemas.js';
import { columnsOf } from '../../src/core/xlsx-columns.js';

/** The cells `columnsOf(fields)` gives for one shaped row. */
function cells(fields: FieldInfo[], row: Record<string, unknown>) {
  return columnsOf(fields).map((column) => column.cell(row));
}

describe('xlsx columns of a result schema', () => {
  it('heads each column with the field note, else its name', () => {
    const columns = columnsOf([
      { name: '_id', type: 'object_id', note: 'ID' },
      { name: 'phone', type: 'string' },
    ]);
    expect(columns.map((c) => [c.header, c.key])).toEqual([
      ['ID', '_id'],
      ['phone', 'phone'],
    ]);
  });

  it('gives an object one column per sub-field, headed by both names', () => {
    const columns = columnsOf([
      {
        name: 'address',
        type: 'object',
        note: '地址',
        fields: [
          { name: 'city', type: 'string', note: '城市' },
          { name: 'zip', type: 'string' },
        ],
      },
    ]);
    expect(columns.map((c) => [c.header, c.key])).toEqual([
      ['地址.城市', 'address.city'],
      ['地址.zip', 'address.zip'],
    ]);
  });

  it('keeps money in minor units as an integer number cell, beyond 32 bits', () => {
    const [money, price] = cells(
      [
        { name: 'balance_money', type: 'int' },
        { name: 'rate', type: 'float' },
      ],
      { balance_money: 1_234_567_890_123, rate: 0.25 },
    );
    expect(money).toBe(1_234_567_890_123);
    expect(Number.isInteger(money)).toBe(true);
    expect(price).toBe(0.25);
  });

  it('turns datetime or date fields into real date cells with a date format', () => {
    const fields: FieldInfo[] = [
      { name: 'operate_date', type: 'datetime' },
      { name: 'birthday', type: 'date' },
    ];
    expect(cells(fields, { operate_date: '2017-10-22T10:22:35.000Z', birthday: '1990-05-01' })).toEqual([
      new Date('2017-10-22T10:22:35Z'),
      new Date('1990-05-01T00:00:00Z'),
    ]);
    expect(columnsOf(fields).map((c) => c.numFmt)).toEqual(['yyyy-mm-dd hh:mm:ss', 'yyyy-mm-dd']);
  });

  it('writes ObjectIds as their hex text, bools as bool cells', () => {
    expect(
      cells(
        [
          { name: '_id', type: 'object_id' },
          { name: 'active', type: 'bool' },
        ],
        { _id: '5da57976ce6d2a647d539af0', active: false },
      ),
    ).toEqual(['5da57976ce6d2a647d539af0', false]);
  });

  it('shows a referenced record by its name, else its _id; a list of them joined', () => {
    const fields: FieldInfo[] = [
      { name: 'group_info', type: 'object_ref', schema: 'group_brief' },
      { name: 'owner_info', type: 'object_ref', schema: 'user_brief' },
      { name: 'firms_info', type: 'object_ref', schema: 'firm_brief' },
    ];
    const row = {
      group_info: { _id: 'g1', name: '后端组' },
      owner_info: { _id: '5da57976ce6d2a647d539af0' },
      firms_info: [
        { _id: 'f1', name: 'A' },
        { _id: 'f2', name: 'B' },
      ],
    };
    expect(cells(fields, row)).toEqual(['后端组', '5da57976ce6d2a647d539af0', 'A, B']);
  });

  it('writes a list as comma-separated text, its objects as JSON', () => {
    const fields: FieldInfo[] = [
      { name: 'tags', type: 'list', items: 'string' },
      { name: 'stages', type: 'list', schema: 'stage' },
    ];
    expect(cells(fields, { tags: ['a', 'b'], stages: [{ step: 1 }] })).toEqual(['a, b', '{"step":1}']);
  });

  it('leaves the cell empty for a null or missing value, also inside a missing object', () => {
    const fields: FieldInfo[] = [
      { name: 'name', type: 'string' },
      { name: 'count', type: 'int' },
      { name: 'address', type: 'object', fields: [{ name: 'city', type: 'string' }] },
    ];
    expect(cells(fields, { name: null })).toEqual([null, null, null]);
  });
});
