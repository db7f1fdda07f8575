import type { Document } from 'mongodb';
import { checkCountPolicy, type CountPolicy } from './count-policy.js';
import type { ActionDefinition } from './dispatch.js';
import { META_PARAM, findPage, pageOf } from './paging.js';
import { withQuerySource, type QuerySource } from './query-source.js';

/** A find over any query: its own params, one `build` from params to filter and sort; paging and export come with it. */
export interface QueryFindOptions extends Omit<QuerySource, 'rules'> {
  result: string;
  summary?: string;
  rules?: QuerySource['rules'];
  /** How `_meta.result_count` is counted (default exact, the seed's). */
  count?: CountPolicy;
}

/**
 * A `find` action (seed 004 paging: `_meta`, `{_meta, data}`) for a query the declared filters cannot say, e.g. a
 * date range plus "batch id or creator id". The action is exportable with `exportOf`.
 */
export function queryFind(options: QueryFindOptions): ActionDefinition {
  const { model, result, summary, build, map, count } = options;
  checkCountPolicy(count);
  const source: QuerySource = { model, params: options.params, rules: options.rules ?? [], build, ...(map ? { map } : {}) };
  return withQuerySource(
    {
      summary: summary ?? `Find ${model.name} records, a page at a time`,
      params: { _meta: META_PARAM, ...options.params },
      rules: source.rules,
      result,
      envelope: 'result_set_with_meta',
      ...(count ? { count } : {}),
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
