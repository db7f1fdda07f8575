import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../helpers/bodies.js';
import { AUTH, startTestService, type TestService } from '../helpers/service.js';
import { download, readSheet } from '../helpers/xlsx.js';
import supertest from 'supertest';

let t: TestService;
const ids: string[] = [];

/** One stock-in record of the seed's example, with the given batch, creator and date. */
function record(batch: string, creator: number, operateDate: string, count: number) {
  return {
    station_id: 'T7936',
    batch_id: batch,
    receipt_id: `RK${batch}`,
    name: '苹果',
    ware_category_1_name: 'C1_1',
    ware_category_2_name: 'K2',
    ware_category_3_name: 'W1',
    ware_category_4_name: 'T1',
    operate_date: operateDate,
    in_count: count,
    creator_id: creator,
    creator_name: 'superman',
  };
}

beforeAll(async () => {
  t = await startTestService();
  const res = await t.call('/stock_in/batch_create', {
    docs: [
      record('213-1', 1, '2017-10-21 23:59:59', 5),
      record('213-2', 1, '2017-10-22 10:22:35', 20),
      record('213-3', 7, '2017-10-23T08:00:00+08:00', 30),
      record('7', 2, '2017-10-24 12:00:00', 40),
      record('213-5', 2, '2017-10-25 00:00:01', 50),
    ],
  });
  expect(res.status).toBe(200);
  ids.push(...(res.body._ids as string[]));
});
afterAll(async () => {
  await t.close();
});

const RANGE = { start_date: '2017-10-22 00:00:00', end_date: '2017-10-25T00:00:00Z' };

describe('stock_in/find', () => {
  it('finds the records from start_date to end_date (seed datetime or ISO 8601), newest first', async () => {
    const res = await t.call('/stock_in/find', RANGE);
    expect(res.status).toBe(200);
    expect(res.body._meta).toEqual({ has_more: false, page: 1, page_size: 30, result_count: 3 });
    expect(res.body.data.map((r: { batch_id: string }) => r.batch_id)).toEqual(['7', '213-3', '213-2']);
    expect(res.body.data[2]).toEqual({ _id: ids[1], ...record('213-2', 1, '2017-10-22T10:22:35.000Z', 20) });
  });

  it('matches query_data against the batch id', async () => {
    const res = await t.call('/stock_in/find', { ...RANGE, query_data: '213-3' });
    expect(res.body.data.map((r: { _id: string }) => r._id)).toEqual([ids[2]]);
  });

  it('matches a numeric query_data against the batch id or the creator id', async () => {
    const res = await t.call('/stock_in/find', { ...RANGE, query_data: '7' });
    expect(res.body.data.map((r: { _id: string }) => r._id)).toEqual([ids[3], ids[2]]);
  });

  it('pages with _meta', async () => {
    const res = await t.call('/stock_in/find', { ...RANGE, _meta: { page: 2, limit: 2 } });
    expect(res.body._meta).toEqual({ has_more: false, page: 2, page_size: 2, result_count: 3 });
    expect(res.body.data.map((r: { _id: string }) => r._id)).toEqual([ids[1]]);
  });

  it('requires both ends of the date range, naming each', async () => {
    expectError(await t.call('/stock_in/find', {}), 400, 'invalid_params', 'Invalid parameter start_date: is required (and 1 more)', [
      { field: 'start_date', messages: ['is required'] },
      { field: 'end_date', messages: ['is required'] },
    ]);
  });

  it('refuses an end_date before start_date', async () => {
    expectError(
      await t.call('/stock_in/find', { start_date: '2017-10-22', end_date: '2017-10-21 10:00:00' }),
      400,
      'invalid_params',
      'Invalid parameter end_date: must not be before start_date',
      [{ field: 'end_date', messages: ['must not be before start_date'] }],
    );
  });

  it('refuses a query_data over 128 characters', async () => {
    expectError(
      await t.call('/stock_in/find', { ...RANGE, query_data: 'x'.repeat(129) }),
      400,
      'invalid_params',
      'Invalid parameter query_data: must be at most 128 characters',
      [{ field: 'query_data', messages: ['must be at most 128 characters'] }],
    );
  });
});

describe('stock_in/export', () => {
  it('answers an xlsx of the same rows: the seed names as header, typed cells', async () => {
    const res = await download(
      supertest(t.app)
        .post('/stock_in/export')
        .set(AUTH)
        .send({ ...RANGE, query_data: '7' }),
    );
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="stock_in-\d{8}-\d{6}\.xlsx"$/);
    const rows = await readSheet(res.body as Buffer);
    expect(rows).toEqual([
      ['ID', '批号', '入库单号', '商品名', '仓库名', '库区名', '库位名', '通道名', '入库日期', '入库数', '创建人ID', '创建人名', '站点ID'],
      [ids[3], '7', 'RK7', '苹果', 'C1_1', 'K2', 'W1', 'T1', new Date('2017-10-24T12:00:00Z'), 40, 2, 'superman', 'T7936'],
      [ids[2], '213-3', 'RK213-3', '苹果', 'C1_1', 'K2', 'W1', 'T1', new Date('2017-10-23T00:00:00Z'), 30, 7, 'superman', 'T7936'],
    ]);
  });

  it('answers the JSON error when the params are wrong, before any byte of the file', async () => {
    const res = await t.call('/stock_in/export', { start_date: '2017-02-30 10:00:00', end_date: '2017-10-23' });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expectError(res, 400, 'invalid_params', 'Invalid parameter start_date: is not a valid date-time', [
      { field: 'start_date', messages: ['is not a valid date-time'] },
    ]);
  });

  it('exports only the header when nothing matches', async () => {
    const res = await download(
      supertest(t.app).post('/stock_in/export').set(AUTH).send({ start_date: '2030-01-01', end_date: '2030-01-02' }),
    );
    expect(res.status).toBe(200);
    expect((await readSheet(res.body as Buffer)).length).toBe(1);
  });
});
