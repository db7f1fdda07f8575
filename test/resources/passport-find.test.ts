import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../helpers/bodies.js';
import { nextInternalId, passportParams } from '../helpers/passport-fixtures.js';
import { startTestService, type TestService } from '../helpers/service.js';

let t: TestService;
const ids: Record<string, string> = {};

// five passports with known dates, types, statuses and names
const ROWS = [
  {
    key: 'a',
    date: '2024-01-01T00:00:00Z',
    type: 'sensor',
    status: 'production',
    model: 'Датчик Т-1',
    passport_short_url: 'https://p.example/aaa',
  },
  { key: 'b', date: '2024-02-01T00:00:00Z', type: 'manipulator', status: 'built', model: 'Манипулятор М1', serial_number: 'SN-B' },
  { key: 'c', date: '2024-03-01T00:00:00Z', type: 'sensor', status: 'built', model: 'Датчик Т-2', serial_number: 'SN-C' },
  {
    key: 'd',
    date: '2024-04-01T00:00:00Z',
    type: 'drive',
    status: 'production',
    model: 'Привод П-1',
    uuid: 'feedbeefcafe0000000000000000000d',
  },
  { key: 'e', date: '2024-05-01T00:00:00Z', type: 'manipulator', status: 'production', model: 'Манипулятор М2' },
];

beforeAll(async () => {
  t = await startTestService();
  for (const { key, ...fields } of ROWS) {
    const params = passportParams(fields);
    ids[key] = params.internal_id as string;
    expect((await t.call('/passport/create', params)).status).toBe(200);
  }
});
afterAll(async () => {
  await t.close();
});

const keysOf = (body: { data: Array<{ internal_id: string }> }) =>
  body.data.map((row) => Object.keys(ids).find((k) => ids[k] === row.internal_id));

describe('passport/find', () => {
  it('answers rows of exactly internal_id, uuid, model, type, date, status, serial_number, newest first', async () => {
    const res = await t.call('/passport/find', { _meta: { limit: 2 } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      _meta: { has_more: true, page: 1, page_size: 2, result_count: 5 },
      data: [
        {
          internal_id: ids.e,
          uuid: expect.any(String),
          model: 'Манипулятор М2',
          type: 'manipulator',
          date: '2024-05-01T00:00:00.000Z',
          status: 'production',
          serial_number: null,
        },
        {
          internal_id: ids.d,
          uuid: 'feedbeefcafe0000000000000000000d',
          model: 'Привод П-1',
          type: 'drive',
          date: '2024-04-01T00:00:00.000Z',
          status: 'production',
          serial_number: null,
        },
      ],
    });
  });

  it('sorts oldest first with _sort date', async () => {
    const res = await t.call('/passport/find', { _sort: 'date' });
    expect(keysOf(res.body)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('pages: page 2 continues where page 1 ended', async () => {
    const res = await t.call('/passport/find', { _meta: { page: 2, limit: 2 }, _sort: '-date' });
    expect({ meta: res.body._meta, keys: keysOf(res.body) }).toEqual({
      meta: { has_more: true, page: 2, page_size: 2, result_count: 5 },
      keys: ['c', 'b'],
    });
  });

  it('filters by status', async () => {
    expect(keysOf((await t.call('/passport/find', { status: 'built' })).body)).toEqual(['c', 'b']);
  });

  it('filters by name over the model name, case-insensitively', async () => {
    expect(keysOf((await t.call('/passport/find', { name: 'датчик' })).body)).toEqual(['c', 'a']);
  });

  it('filters by name over passport_short_url', async () => {
    expect(keysOf((await t.call('/passport/find', { name: 'P.EXAMPLE/AAA' })).body)).toEqual(['a']);
  });

  it('filters by name over uuid', async () => {
    expect(keysOf((await t.call('/passport/find', { name: 'FEEDBEEF' })).body)).toEqual(['d']);
  });

  it('matches name literally (regex characters are plain text)', async () => {
    expect((await t.call('/passport/find', { name: '.*' })).body._meta.result_count).toBe(0);
  });

  it('filters by a date range [date__gte, date__lt)', async () => {
    const res = await t.call('/passport/find', { date__gte: '2024-02-01T00:00:00Z', date__lt: '2024-04-01T00:00:00Z' });
    expect(keysOf(res.body)).toEqual(['c', 'b']);
  });

  it('filters by several types with type__in', async () => {
    expect(keysOf((await t.call('/passport/find', { type__in: ['drive', 'sensor'] })).body)).toEqual(['d', 'c', 'a']);
  });

  it('combines filters', async () => {
    const res = await t.call('/passport/find', { type__in: ['manipulator', 'sensor'], status: 'production', _sort: 'date' });
    expect(keysOf(res.body)).toEqual(['a', 'e']);
  });

  it('refuses an unknown status', async () => {
    const res = await t.call('/passport/find', { status: 'lost' });
    expectError(res, 400, 'invalid_params', 'Invalid parameter status: must be one of production, built, revision, approved, finalized', [
      { field: 'status', messages: ['must be one of production, built, revision, approved, finalized'] },
    ]);
  });

  it('refuses sorting by anything but date', async () => {
    const res = await t.call('/passport/find', { _sort: 'model' });
    expectError(res, 400, 'invalid_params', 'Invalid parameter _sort: cannot sort by "model" (sortable: date)', [
      { field: '_sort', messages: ['cannot sort by "model" (sortable: date)'] },
    ]);
  });

  it('refuses an operator object as name', async () => {
    const res = await t.call('/passport/find', { name: { $regex: '.' } });
    expectError(res, 400, 'invalid_params', 'Invalid parameter name: must be a string', [
      { field: 'name', messages: ['must be a string'] },
    ]);
  });
});

describe('passport/types', () => {
  it('answers every distinct type of live passports, sorted', async () => {
    const res = await t.call('/passport/types', {});
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: ['drive', 'manipulator', 'sensor'] });
  });

  it('leaves out passports without a type', async () => {
    await t.call('/passport/create', passportParams({ internal_id: nextInternalId(), type: undefined }));
    expect((await t.call('/passport/types', {})).body).toEqual({ data: ['drive', 'manipulator', 'sensor'] });
  });
});
