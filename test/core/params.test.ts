import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/core/errors.js';
import { compileParams, parseDateTime, parseType, type ParamsDeclaration, type ParamRule } from '../../src/core/params.js';

/** The `fields` of the invalid_params error a body produces. */
function fieldsOf(declaration: ParamsDeclaration, body: unknown, rules: ParamRule[] = []) {
  try {
    compileParams(declaration, rules).validate(body);
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('invalid_params');
    return (err as ApiError).fields;
  }
  throw new Error('expected invalid_params');
}

describe('parseType (SEP-12 vocabulary)', () => {
  it.each([
    ['string', { kind: 'string' }],
    ['string(15)', { kind: 'string', max: 15 }],
    ['string(2, 15)', { kind: 'string', min: 2, max: 15 }],
    ['str(128)', { kind: 'string', max: 128 }],
    ['int', { kind: 'int' }],
    ['int(1,100)', { kind: 'int', min: 1, max: 100 }],
    ['int(0,)', { kind: 'int', min: 0 }],
    ['int(,10)', { kind: 'int', max: 10 }],
    ['string(2,)', { kind: 'string', min: 2 }],
    ['float(0,1.5)', { kind: 'float', min: 0, max: 1.5 }],
    ['bool', { kind: 'bool' }],
    ['datetime', { kind: 'datetime' }],
    ['date', { kind: 'date' }],
    ['time', { kind: 'time' }],
    ['object_id', { kind: 'object_id' }],
    ['enum<int>(100,200,900)', { kind: 'enum_int', values: [100, 200, 900] }],
    ['enum<str>(a,b)', { kind: 'enum_str', values: ['a', 'b'] }],
    // regression: values with inner spaces (seed 000's protocol statuses) were squeezed together
    ['enum<str>(Протокол утверждён, a b)', { kind: 'enum_str', values: ['Протокол утверждён', 'a b'] }],
    ['list<object_id>', { kind: 'list', item: { kind: 'object_id' } }],
    ['list<string(1,32)>(1,50)', { kind: 'list', item: { kind: 'string', min: 1, max: 32 }, min: 1, max: 50 }],
  ])('reads %s', (text, expected) => {
    expect(parseType(text, 'p')).toEqual(expected);
  });

  it.each([
    ['strng', 'param p: bad type "strng": unknown type "strng"'],
    ['string(10,2)', 'param p: bad type "string(10,2)": min is greater than max'],
    ['enum<int>(1,x)', 'param p: bad type "enum<int>(1,x)": "x" is not an integer'],
    ['bool(1)', 'param p: bad type "bool(1)": bool takes no range'],
    ['int()', 'param p: bad type "int()": a range needs at least one bound'],
    ['int(,)', 'param p: bad type "int(,)": a range needs at least one bound'],
    ['dict', 'param p: bad type "dict": a dict needs `fields`'],
    ['int(1,99999999999999999)', 'param p: bad type "int(1,99999999999999999)": int bounds must be safe integers'],
  ])('rejects %s', (text, message) => {
    expect(() => parseType(text, 'p')).toThrow(message);
  });
});

describe('compileParams', () => {
  const account: ParamsDeclaration = {
    name: 'M string(1,64)',
    state: 'M enum<int>(100,200)',
    group_id: 'O object_id',
    labels: 'O list<string(1,32)>(0,3)',
    born: 'O date',
    seen_at: 'O datetime',
    score: 'O float(0,10)',
    active: 'O bool',
  };

  it('converts to driver values, dropping nothing it was given', () => {
    const params = compileParams(account).validate({
      name: '张三',
      state: 100,
      group_id: '5DA57976CE6D2A647D539AF0',
      labels: ['a'],
      born: '2020-02-29',
      seen_at: '2021-06-04 10:22:35',
      score: 9.5,
      active: false,
    });
    expect(params.group_id).toBeInstanceOf(ObjectId);
    expect((params.group_id as ObjectId).toHexString()).toBe('5da57976ce6d2a647d539af0');
    expect(params.born).toEqual(new Date('2020-02-29T00:00:00.000Z'));
    expect(params.seen_at).toEqual(new Date('2021-06-04T10:22:35.000Z'));
    expect({ ...params, group_id: undefined, born: undefined, seen_at: undefined }).toEqual({
      name: '张三',
      state: 100,
      labels: ['a'],
      score: 9.5,
      active: false,
      group_id: undefined,
      born: undefined,
      seen_at: undefined,
    });
  });

  it('lists every bad field with a message', () => {
    expect(
      fieldsOf(account, { name: '', state: 300, group_id: 'zz', labels: ['a', 'b', 'c', 'd'], born: '2021-02-30', score: 11, extra: 1 }),
    ).toEqual([
      { field: 'extra', messages: ['is not a known param'] },
      { field: 'name', messages: ['must be at least 1 character'] },
      { field: 'state', messages: ['must be one of 100, 200'] },
      { field: 'group_id', messages: ['must be an ObjectId (24 hex characters)'] },
      { field: 'labels', messages: ['must have at most 3 items'] },
      { field: 'score', messages: ['must be <= 10'] },
    ]);
  });

  it('reports a date that does not exist after the shape is fine', () => {
    expect(fieldsOf(account, { name: 'a', state: 100, born: '2021-02-30' })).toEqual([
      { field: 'born', messages: ['is not a valid date'] },
    ]);
  });

  it('says which params are missing', () => {
    expect(fieldsOf(account, {})).toEqual([
      { field: 'name', messages: ['is required'] },
      { field: 'state', messages: ['is required'] },
    ]);
  });

  it('never lets an object through where a scalar is declared (no query operators)', () => {
    expect(fieldsOf({ _id: 'M object_id', name: 'O string' }, { _id: { $ne: null }, name: { $regex: '.*' } })).toEqual([
      { field: '_id', messages: ['must be a string'] },
      { field: 'name', messages: ['must be a string'] },
    ]);
    expect(fieldsOf({ ids: 'O list<object_id>' }, { ids: [{ $gt: '' }] })).toEqual([{ field: 'ids[0]', messages: ['must be a string'] }]);
  });

  it('takes integers only, within 64-bit-safe bounds', () => {
    const money = { money: 'M int(1,10000000000000)' };
    expect(compileParams(money).validate({ money: 10000000000000 })).toEqual({ money: 10000000000000 });
    expect(fieldsOf(money, { money: 1.5 })).toEqual([{ field: 'money', messages: ['must be an integer'] }]);
    expect(fieldsOf(money, { money: '100' })).toEqual([{ field: 'money', messages: ['must be an integer'] }]);
    expect(fieldsOf(money, { money: 0 })).toEqual([{ field: 'money', messages: ['must be >= 1'] }]);
    expect(fieldsOf(money, { money: -5 })).toEqual([{ field: 'money', messages: ['must be >= 1'] }]);
    expect(fieldsOf({ n: 'M int' }, { n: 2 ** 60 })).toEqual([{ field: 'n', messages: [`must be <= ${Number.MAX_SAFE_INTEGER}`] }]);
  });

  it('names nested fields with full paths', () => {
    const declaration: ParamsDeclaration = {
      _meta: { type: 'O dict', fields: { page: 'O int(1,100000)', limit: 'O int(1,100)' } },
      docs: { type: 'M list<dict>(1,1000)', fields: { name: 'M string(1,64)', phone: 'M string(3,32)' } },
    };
    expect(
      fieldsOf(declaration, {
        _meta: { limit: 500, offset: 3 },
        docs: [{ name: 'a', phone: '123' }, { name: 'b' }, { name: 'c', phone: '456' }, { name: 'd', phone: 7 }],
      }),
    ).toEqual([
      { field: '_meta.offset', messages: ['is not a known param'] },
      { field: '_meta.limit', messages: ['must be <= 100'] },
      { field: 'docs[1].phone', messages: ['is required'] },
      { field: 'docs[3].phone', messages: ['must be a string'] },
    ]);
  });

  it('applies exactlyOne rules to C params', () => {
    const lookup = { phone: 'C string(3,32)', identity_card_id: 'C string(4,32)' };
    const rules: ParamRule[] = [{ exactlyOne: ['phone', 'identity_card_id'] }];
    expect(compileParams(lookup, rules).validate({ phone: '138' })).toEqual({ phone: '138' });
    expect(fieldsOf(lookup, {}, rules)).toEqual([{ field: 'phone', messages: ['one of phone, identity_card_id is required'] }]);
    expect(fieldsOf(lookup, { phone: '138', identity_card_id: '1234' }, rules)).toEqual([
      { field: 'identity_card_id', messages: ['only one of phone, identity_card_id may be given'] },
    ]);
  });

  it('accepts null for a nullable param only', () => {
    const declaration: ParamsDeclaration = { group_id: { type: 'O object_id', nullable: true }, name: 'O string(1,10)' };
    expect(compileParams(declaration).validate({ group_id: null })).toEqual({ group_id: null });
    expect(fieldsOf(declaration, { name: null })).toEqual([{ field: 'name', messages: ['must be a string'] }]);
    expect(fieldsOf(declaration, { group_id: 5 })).toEqual([{ field: 'group_id', messages: ['must be a string or null'] }]);
  });

  it('refuses bad declarations at compile time', () => {
    expect(() => compileParams({ x: 'string' })).toThrow('param x: "string" must start with M, O or C and a type');
    expect(() => compileParams({ x: 'C string' })).toThrow('param x: is C (conditional) but no rule names it');
    expect(() => compileParams({ x: 'M int' }, [{ exactlyOne: ['x', 'y'] }])).toThrow('param y: is named in a rule but not declared');
    expect(() => compileParams({ 'bad-name': 'M int' })).toThrow('param bad-name: a param name must be letters, digits and _');
    expect(() => compileParams({ x: { type: 'M int', nullable: true } })).toThrow('param x: an M param cannot be nullable');
    expect(() => compileParams({ x: { type: 'M int', fields: { a: 'M int' } } })).toThrow(
      'param x: `fields` only goes with dict or list<dict>',
    );
  });
});

describe('parseDateTime', () => {
  it.each([
    ['2024-05-01T08:00:00Z', '2024-05-01T08:00:00.000Z'],
    ['2024-05-01T08:00:00.123+08:00', '2024-05-01T00:00:00.123Z'],
    ['2024-05-01 08:00:00', '2024-05-01T08:00:00.000Z'],
    ['2024-05-01', '2024-05-01T00:00:00.000Z'],
    ['2024-02-29T23:59:59-0130', '2024-03-01T01:29:59.000Z'],
    // regression: Date.UTC reads years 0-99 as 1900-1999
    ['0042-06-15 12:00:00', '0042-06-15T12:00:00.000Z'],
  ])('reads %s', (text, iso) => {
    expect(parseDateTime(text)?.toISOString()).toBe(iso);
  });

  it.each(['2023-02-29', '0041-02-29', '2024-13-01', '2024-05-01T24:00:00Z', '2024-05-01T08:60:00Z', 'yesterday'])('rejects %s', (text) => {
    expect(parseDateTime(text)).toBeNull();
  });
});

describe('one-sided ranges', () => {
  it('int(0,) means at least 0: any non-negative number, never a negative one', () => {
    const validator = compileParams({ n: 'M int(0,)' });
    expect(validator.validate({ n: Number.MAX_SAFE_INTEGER })).toEqual({ n: Number.MAX_SAFE_INTEGER });
    expect(fieldsOf({ n: 'M int(0,)' }, { n: -1 })).toEqual([{ field: 'n', messages: ['must be >= 0'] }]);
  });
});
