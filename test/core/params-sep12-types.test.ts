import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/core/errors.js';
import { compileParams, parseType, type ParamsDeclaration } from '../../src/core/params.js';

/** The `fields` of the invalid_params error a body produces. */
function fieldsOf(declaration: ParamsDeclaration, body: unknown) {
  try {
    compileParams(declaration).validate(body);
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('invalid_params');
    return (err as ApiError).fields;
  }
  throw new Error('expected invalid_params');
}

describe('SEP-12 types datetime, date, time, json<list>, json<map>', () => {
  it.each([
    ['json<list>', { kind: 'json_list' }],
    ['json<map>', { kind: 'json_map' }],
    ['json < list >', { kind: 'json_list' }],
  ])('reads %s', (text, expected) => {
    expect(parseType(text, 'p')).toEqual(expected);
  });

  it('rejects json<set>', () => {
    expect(() => parseType('json<set>', 'p')).toThrow('param p: bad type "json<set>": not a SEP-12 type');
  });

  it('reads the seed datetime 2017-10-22 10:22:35 as UTC, an ISO 8601 one by its offset', () => {
    const params = compileParams({ start: 'M datetime', end: 'M datetime' }).validate({
      start: '2017-10-22 10:22:35',
      end: '2017-10-22T18:22:35+08:00',
    });
    expect(params).toEqual({ start: new Date('2017-10-22T10:22:35Z'), end: new Date('2017-10-22T10:22:35Z') });
  });

  it('reads a date as midnight UTC', () => {
    expect(compileParams({ day: 'M date' }).validate({ day: '2017-10-22' })).toEqual({ day: new Date('2017-10-22T00:00:00Z') });
  });

  it('keeps a time as its text', () => {
    expect(compileParams({ at: 'M time' }).validate({ at: '10:22:35' })).toEqual({ at: '10:22:35' });
  });

  it('names each bad date, time or datetime', () => {
    expect(
      fieldsOf({ day: 'M date', at: 'M time', start: 'M datetime' }, { day: '2017-02-30', at: '24:00:00', start: '22/10/2017' }),
    ).toEqual([
      { field: 'at', messages: ['must be a time HH:MM:SS'] },
      { field: 'start', messages: ['must be a date-time such as 2024-05-01T08:00:00Z or 2024-05-01 08:00:00'] },
    ]);
    expect(fieldsOf({ day: 'M date' }, { day: '2017-02-30' })).toEqual([{ field: 'day', messages: ['is not a valid date'] }]);
  });

  it('parses a json<list> given as the SEP-12 JSON text', () => {
    const validator = compileParams({ partner_list: 'M json<list>' });
    expect(validator.validate({ partner_list: '[1, 2, 3, 4]' })).toEqual({ partner_list: [1, 2, 3, 4] });
  });

  it('takes a JSON list for a json<list> as it is', () => {
    const validator = compileParams({ partner_list: 'M json<list>' });
    expect(validator.validate({ partner_list: [1, 'a'] })).toEqual({ partner_list: [1, 'a'] });
  });

  it('parses a json<map> given as text or as an object', () => {
    const validator = compileParams({ partners: 'M json<map>' });
    expect(validator.validate({ partners: '{"1": "加盟商A", "2": "加盟商B"}' })).toEqual({ partners: { 1: '加盟商A', 2: '加盟商B' } });
    expect(validator.validate({ partners: { a: [1] } })).toEqual({ partners: { a: [1] } });
  });

  it('refuses text that is not JSON', () => {
    const declaration: ParamsDeclaration = { l: 'O json<list>', m: 'O json<map>' };
    expect(fieldsOf(declaration, { l: '[1,', m: '{"a":' })).toEqual([
      { field: 'l', messages: ['must be a JSON list'] },
      { field: 'm', messages: ['must be a JSON object'] },
    ]);
  });

  it('refuses JSON of the other kind', () => {
    const declaration: ParamsDeclaration = { l: 'O json<list>', m: 'O json<map>' };
    expect(fieldsOf(declaration, { l: '{"a": 1}', m: '[1]' })).toEqual([
      { field: 'l', messages: ['must be a JSON list'] },
      { field: 'm', messages: ['must be a JSON object'] },
    ]);
    expect(fieldsOf(declaration, { l: '{"a": 1}', m: 'null' })).toEqual([
      { field: 'l', messages: ['must be a JSON list'] },
      { field: 'm', messages: ['must be a JSON object'] },
    ]);
  });

  it('refuses a number for json<list> with a type message', () => {
    expect(fieldsOf({ l: 'M json<list>' }, { l: 5 })).toEqual([{ field: 'l', messages: ['must be a string or a list'] }]);
  });

  it('parses json inside the dicts of a list<dict>', () => {
    const validator = compileParams({ items: { type: 'O list<dict>', fields: { tags: 'M json<list>', at: 'O time' } } });
    expect(validator.validate({ items: [{ tags: '["a"]', at: '08:00:00' }] })).toEqual({ items: [{ tags: ['a'], at: '08:00:00' }] });
  });

  it('takes null for a nullable json param', () => {
    expect(compileParams({ extra: { type: 'O json<map>', nullable: true } }).validate({ extra: null })).toEqual({ extra: null });
  });

  it('names the path of a bad json inside a list<dict>', () => {
    expect(fieldsOf({ items: { type: 'O list<dict>', fields: { tags: 'M json<list>' } } }, { items: [{ tags: '{}' }] })).toEqual([
      { field: 'items[0].tags', messages: ['must be a JSON list'] },
    ]);
  });
});
