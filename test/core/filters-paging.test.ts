import { describe, expect, it } from 'vitest';
import type { ApiError } from '../../src/core/errors.js';
import { compileFilters, escapeRegex } from '../../src/core/filters.js';
import { pageOf, parseSort } from '../../src/core/paging.js';

describe('compileFilters', () => {
  const filters = compileFilters(
    { name: ['eq', 'icontains', 'istartswith', 'iendswith', 'ne'], state: ['in', 'gte', 'lt'], labels: ['eq', 'in'], group_id: ['isnull'] },
    { name: 'string(1,64)', state: 'enum<int>(100,200)', labels: 'list<string(1,32)>(0,50)', group_id: 'object_id' },
  );

  it('declares one param per operator with the field type', () => {
    expect(filters.params).toEqual({
      name: { type: 'O string(1,64)', note: 'name equals' },
      name__icontains: { type: 'O string(1,200)', note: 'name contains (case-insensitive)' },
      name__istartswith: { type: 'O string(1,200)', note: 'name starts with (case-insensitive)' },
      name__iendswith: { type: 'O string(1,200)', note: 'name ends with (case-insensitive)' },
      name__ne: { type: 'O string(1,64)', note: 'name is not' },
      state__in: { type: 'O list<enum<int>(100,200)>(1,1000)', note: 'state is one of' },
      state__gte: { type: 'O enum<int>(100,200)', note: 'state greater than or equal to' },
      state__lt: { type: 'O enum<int>(100,200)', note: 'state less than' },
      labels: { type: 'O string(1,32)', note: 'labels equals' },
      labels__in: { type: 'O list<string(1,32)>(1,1000)', note: 'labels is one of' },
      group_id__isnull: { type: 'O bool', note: 'group_id is missing (true) or present (false)' },
    });
  });

  it('builds a query with explicit operators, merged per field, text matched literally', () => {
    expect(
      filters.toQuery({ name: 'a', name__icontains: 'x.y*', name__ne: 'b', state__in: [100], state__gte: 100, group_id__isnull: true }),
    ).toEqual({
      name: { $eq: 'a', $regex: 'x\\.y\\*', $options: 'i', $ne: 'b' },
      state: { $in: [100], $gte: 100 },
      group_id: { $eq: null },
    });
    // regression: two text operators on one field both apply (the second used to overwrite the first)
    expect(filters.toQuery({ name__istartswith: '(a', name__iendswith: 'b]', group_id__isnull: false })).toEqual({
      name: { $regex: '^\\(a', $options: 'i' },
      group_id: { $ne: null },
      $and: [{ name: { $regex: 'b\\]$', $options: 'i' } }],
    });
    expect(filters.toQuery({})).toEqual({});
  });

  it('matches regex metacharacters literally', () => {
    const text = 'a.b*c+d?e^f$g{1}h(i)j|k[l]m\\n/o-p';
    expect(new RegExp(escapeRegex(text)).test(text)).toBe(true);
    expect(new RegExp(escapeRegex('a.b')).test('axb')).toBe(false);
  });

  it('writes a NUL byte as the escape \\x00, which MongoDB accepts in a regex where it refuses the byte itself', () => {
    const { $regex } = filters.toQuery({ name__icontains: 'a\u0000b' }).name as { $regex: string };
    expect($regex).toBe('a\\x00b');
    expect(new RegExp($regex).test('xa\u0000by')).toBe(true);
  });
});

describe('parseSort', () => {
  const sortable = ['name', '_id', 'created_at'];
  it('reads "name,-created_at", adding _id as the tie-breaker', () => {
    expect(parseSort('name,-created_at', sortable, { _id: -1 })).toEqual({ name: 1, created_at: -1, _id: -1 });
    expect(parseSort('-_id', sortable, { _id: -1 })).toEqual({ _id: -1 });
    expect(parseSort(undefined, sortable, { _id: -1 })).toEqual({ _id: -1 });
  });

  it('runs the _id tie-breaker the way the last field runs, so one index serves a field in both directions', () => {
    expect(parseSort('name', sortable, { _id: -1 })).toEqual({ name: 1, _id: 1 });
    expect(parseSort('-name', sortable, { _id: -1 })).toEqual({ name: -1, _id: -1 });
  });

  it.each([
    ['phone', 'cannot sort by "phone" (sortable: name, _id, created_at)'],
    ['name,,_id', 'cannot sort by "" (sortable: name, _id, created_at)'],
    ['name,-name', '"name" appears twice'],
  ])('refuses %s', (text, message) => {
    try {
      parseSort(text, sortable, { _id: -1 });
      throw new Error('expected invalid_params');
    } catch (err) {
      expect((err as ApiError).fields).toEqual([{ field: '_sort', messages: [message] }]);
    }
  });
});

describe('pageOf', () => {
  it('defaults to page 1 of 30', () => {
    expect(pageOf({})).toEqual({ page: 1, limit: 30 });
    expect(pageOf({ _meta: { page: 4 } })).toEqual({ page: 4, limit: 30 });
    expect(pageOf({ _meta: { limit: 100 } })).toEqual({ page: 1, limit: 100 });
  });
});
