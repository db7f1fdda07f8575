import { invalidParams } from '../../core/errors.js';
import { exportOf } from '../../core/export.js';
import { queryFind } from '../../core/query-find.js';
import { defineResource } from '../../core/resource.js';

/** The params of stock_in/find and stock_in/export, in the seed's words (SEP 12, 入库列表). */
const QUERY_PARAMS = {
  start_date: { type: 'M datetime', note: '查询开始日期 (operate_date >=)' },
  end_date: { type: 'M datetime', note: '查询截止日期 (operate_date <=)' },
  query_data: { type: 'O string(1,128)', note: '查询内容,支持批号和创建人ID (batch_id, or creator_id when a number)' },
} as const;

/** 入库单 — the stock-in records of seed 003 (SEP 12's own example). */
export default defineResource({
  name: 'stock_in',
  summary: '入库单 (stock-in records)',
  fields: {
    station_id: { type: 'M string(1,64)', note: '站点ID' },
    batch_id: { type: 'M string(1,64)', note: '批号' },
    receipt_id: { type: 'M string(1,64)', note: '入库单号' },
    name: { type: 'M string(1,128)', note: '商品名' },
    ware_category_1_name: { type: 'M string(1,64)', note: '仓库名' },
    ware_category_2_name: { type: 'M string(1,64)', note: '库区名' },
    ware_category_3_name: { type: 'M string(1,64)', note: '库位名' },
    ware_category_4_name: { type: 'M string(1,64)', note: '通道名' },
    operate_date: { type: 'M datetime', note: '入库日期' },
    in_count: { type: 'M int(0,1000000000)', note: '入库数' },
    creator_id: { type: 'M int(0,9007199254740991)', note: '创建人ID' },
    creator_name: { type: 'M string(1,64)', note: '创建人名' },
  },
  indexes: [
    { key: { operate_date: -1, _id: -1 }, name: 'operate_date_-1__id_-1' },
    { key: { batch_id: 1, operate_date: -1, _id: -1 }, name: 'batch_id_1_operate_date_-1__id_-1' },
    { key: { creator_id: 1, operate_date: -1, _id: -1 }, name: 'creator_id_1_operate_date_-1__id_-1' },
  ],
  actions: (std) => {
    const find = queryFind({
      model: std.model,
      result: 'stock_in_item',
      summary: '入库列表: stock-in records with operate_date between start_date and end_date, newest first',
      params: QUERY_PARAMS,
      // query_data is a batch id or a creator id, always within the date range
      queries: { equality: ['batch_id', 'creator_id'], ranges: ['operate_date'], sorts: [{ operate_date: -1, _id: -1 }] },
      build: ({ start_date: start, end_date: end, query_data }) => {
        if (start > end) throw invalidParams([{ field: 'end_date', messages: ['must not be before start_date'] }]);
        const filter: Record<string, unknown> = { operate_date: { $gte: start, $lte: end } };
        if (typeof query_data === 'string') {
          const q = query_data.trim();
          filter.$or = /^\d{1,15}$/.test(q) ? [{ batch_id: q }, { creator_id: Number(q) }] : [{ batch_id: q }];
        }
        return { filter, sort: { operate_date: -1, _id: -1 } };
      },
    });
    return {
      get: std.get({ result: 'stock_in_item' }),
      find,
      export: exportOf(find, { summary: '入库列表导出: the rows of stock_in/find (same params, all pages) as an xlsx file' }),
      create: std.create(),
      batch_create: std.batchCreate(),
    };
  },
});
