import type { Collection, Document, Filter, Sort } from 'mongodb';
import { countQuery, countResult, pageCountOf, statesCountKind, type CountKind, type CountPolicy } from './count-policy.js';
import { invalidParams } from './errors.js';
import { countRows, readRows } from './find-command.js';
import type { ParamObject, ParamSpec } from './params.js';

export const DEFAULT_PAGE_LIMIT = 30;
export const MAX_PAGE_LIMIT = 100;
const MAX_PAGE = 100_000;

/** The `_meta` param of every `find` (DESIGN.md §6). */
export const META_PARAM = {
  type: 'O dict',
  note: `paging: page >= 1 (default 1), limit 1..${MAX_PAGE_LIMIT} (default ${DEFAULT_PAGE_LIMIT})`,
  fields: { page: `O int(1,${MAX_PAGE})`, limit: `O int(1,${MAX_PAGE_LIMIT})` },
} as const satisfies ParamSpec;

/** The `_sort` param: `"name,-_id"` over the declared sortable fields. */
export function sortParam(sortable: readonly string[]): ParamObject & { type: 'O string(1,200)' } {
  const field = `[-+]?(${sortable.map(escapeForPattern).join('|')})`;
  return {
    type: 'O string(1,200)',
    note: `comma-separated, '-' for descending; sortable: ${sortable.join(', ')}`,
    // parseSort checks exactly this form, naming the field it cannot sort by
    stated: { pattern: `^${field}(,${field})*$` },
    checks: 'no field twice',
  };
}

function escapeForPattern(name: string): string {
  return name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The `_meta` of a result set; `result_count_is` only on a find with a count policy other than exact (count-policy.ts). */
export interface PageMeta {
  has_more: boolean;
  page: number;
  page_size: number;
  /** Absent under the count policy `none`. */
  result_count?: number;
  result_count_is?: CountKind;
}

export interface PageRequest {
  page: number;
  limit: number;
}

/** Rows by offset instead of page, for transports that page that way (GraphQL's `results(limit, offset)`). */
export interface RowWindow {
  offset: number;
  limit: number;
}

/** Reads `_meta` (already validated) with its defaults. */
export function pageOf(params: { _meta?: { page?: number; limit?: number } }): PageRequest {
  return { page: params._meta?.page ?? 1, limit: params._meta?.limit ?? DEFAULT_PAGE_LIMIT };
}

/**
 * `"name,-_id"` → `{name: 1, _id: -1}`; only declared fields; `_id` is appended as the tie-breaker (in the last
 * field's direction) so pages never overlap or skip records that share a sort value.
 */
export function parseSort(text: string | undefined, sortable: readonly string[], fallback: Record<string, 1 | -1>): Record<string, 1 | -1> {
  if (text === undefined) return fallback;
  const sort: Record<string, 1 | -1> = {};
  // no trimming: the accepted form is exactly the pattern sortParam states
  for (const item of text.split(',')) {
    const field = item.replace(/^[-+]/, '');
    if (!sortable.includes(field)) {
      throw invalidParams([{ field: '_sort', messages: [`cannot sort by "${field}" (sortable: ${sortable.join(', ')})`] }]);
    }
    if (field in sort) throw invalidParams([{ field: '_sort', messages: [`"${field}" appears twice`] }]);
    sort[field] = item.startsWith('-') ? -1 : 1;
  }
  // the tie-breaker runs the way the last field does, so one index {f: 1, _id: 1} serves both f and -f
  if (!('_id' in sort)) sort._id = Object.values(sort).at(-1) ?? -1;
  return sort;
}

/**
 * One page of a query: the rows (fetching limit+1 to know `has_more`) and the count its policy asks for, run side by
 * side: two database commands whatever the page size, one when the policy needs no count (count-policy.ts).
 */
export async function findPage<T extends Document>(
  collection: Collection<T>,
  filter: Filter<T>,
  options: (PageRequest | RowWindow) & {
    sort: Sort;
    projection?: Document;
    /** The find's count policy (default exact) and whether the caller filtered (`estimated` counts unfiltered finds only). */
    count?: CountPolicy;
    filtered?: boolean;
  },
): Promise<{ _meta: PageMeta; data: T[] }> {
  const { limit, sort, projection } = options;
  const count = pageCountOf(options.count, options.filtered ?? true);
  const skip = 'offset' in options ? options.offset : (options.page - 1) * limit;
  // a window of 0 rows (GraphQL's totalCount alone) still fetches one row for has_more, and shapes none
  const page = 'offset' in options ? (limit > 0 ? Math.floor(skip / limit) + 1 : 1) : options.page;
  const [rows, counted] = await Promise.all([
    readRows(collection, { filter, projection, sort, skip, limit: limit + 1 }),
    countQuery(collection, filter, count, { skip, limit }),
  ]);
  const hasMore = rows.length > limit;
  let total = counted;
  // a capped page past the end proves nothing about the total: only then is the capped count asked afterwards
  if (count.kind === 'capped' && total === undefined && rows.length === 0 && skip > 0) {
    total = await countRows(collection, filter, count.cap);
  }
  const result = countResult(count, total, { skip, read: rows.length, hasMore });
  const meta: PageMeta = { has_more: hasMore, page, page_size: limit };
  if (result) {
    meta.result_count = result.total;
    if (statesCountKind(options.count)) meta.result_count_is = result.kind;
  }
  return { _meta: meta, data: (hasMore ? rows.slice(0, limit) : rows) as T[] };
}
