import type { Document, Sort } from 'mongodb';
import { checkCountPolicy, type CountPolicy } from './count-policy.js';
import type { ParamsOf, RuleOf } from './declared-types.js';
import type { ActionDefinition } from './dispatch.js';
import type { FindQueries } from './find-indexes.js';
import { META_PARAM, findPage, pageOf } from './paging.js';
import type { ParamsDeclaration } from './params.js';
import { withQuerySource, type QuerySource } from './query-source.js';

/** A find over any query: its own params, one `build` from params to filter and sort; paging and export come with it. */
export interface QueryFindOptions<D extends ParamsDeclaration = ParamsDeclaration> extends Omit<QuerySource, 'rules' | 'params' | 'build'> {
  result: string;
  summary?: string;
  /** The find's params without `_meta` (paging). */
  params: D;
  rules?: RuleOf<D>[];
  /** The filter (live records only) and the sort for the converted params, typed by their declaration. */
  build(params: ParamsOf<D>): { filter: Document; sort: Sort };
  /** How `_meta.result_count` is counted (default exact, the seed's). */
  count?: CountPolicy;
  /** The queries `build` can give, for the index check (find-indexes.ts). */
  queries?: FindQueries;
}

/**
 * A `find` action (seed 004 paging: `_meta`, `{_meta, data}`) for a query the declared filters cannot say, e.g. a
 * date range plus "batch id or creator id". The action is exportable with `exportOf`.
 */
export function queryFind<const D extends ParamsDeclaration>(options: QueryFindOptions<D>): ActionDefinition {
  const { model, result, summary, map, count } = options;
  checkCountPolicy(count);
  // the validator yields what ParamsOf<D> states; the export re-runs the same build on the same params
  const build = options.build as QuerySource['build'];
  const source: QuerySource = { model, params: options.params, rules: options.rules ?? [], build, ...(map ? { map } : {}) };
  return withQuerySource(
    {
      summary: summary ?? `Find ${model.name} records, a page at a time`,
      params: { _meta: META_PARAM, ...options.params },
      rules: source.rules,
      result,
      envelope: 'result_set_with_meta',
      ...(count ? { count } : {}),
      ...(options.queries ? { queries: options.queries } : {}),
      handler: async (params, ctx) => {
        const { filter, sort, filtered } = build(params);
        // derive() may read any field, so the whole record is read then
        const projection = map ? undefined : ctx.resultProjection;
        const page = await findPage(model.collection(ctx.db), filter, {
          ...(ctx.window ?? pageOf(params)),
          sort,
          ...(projection ? { projection } : {}),
          ...(count ? { count, filtered: filtered ?? true } : {}),
        });
        return { _meta: page._meta, data: map ? page.data.map((record: Document) => map(record)) : page.data };
      },
    },
    source,
  );
}
