import { GraphQLInt, GraphQLList, GraphQLObjectType, GraphQLString, type GraphQLFieldConfig } from 'graphql';
import type { CompiledAction } from '../core/dispatch.js';
import { ApiError } from '../core/errors.js';
import type { PageMeta, RowWindow } from '../core/paging.js';
import { inputFields } from './input-types.js';
import { filterArgName, snakeCase } from './names.js';
import { runAction, toGraphqlError, type GraphqlContext } from './run.js';
import { wantedFields } from './selection.js';

/** Seed 001: `results(limit: Int = 20, …)`, at most 50 rows. */
export const DEFAULT_RESULTS_LIMIT = 20;
export const MAX_RESULTS_LIMIT = 50;

/** Params of `find` that GraphQL spells its own way (`results(limit, offset, ordering)`), not as filter arguments. */
const PAGING_PARAMS = new Set(['_meta', '_sort']);
const RENAMED = { _sort: 'ordering' };

interface FoundPage {
  _meta: PageMeta;
  data: unknown[];
}

interface ResultsArgs {
  limit?: number | null;
  offset?: number | null;
  ordering?: string | null;
}

/**
 * The list field of a resource, made from its `find` action: one argument per declared filter in Talpa spelling
 * and `{totalCount, results(limit, offset, ordering)}`. Every page is the `find` action's own run.
 */
export function listField(
  find: CompiledAction,
  typeBase: string,
  rowType: GraphQLObjectType,
  claimName: (name: string, where: string) => void,
): GraphQLFieldConfig<unknown, GraphqlContext> {
  const filterParams = find.validator.params.filter((p) => !PAGING_PARAMS.has(p.name));
  const filters = inputFields(filterParams, filterArgName, `${typeBase}Filter`, claimName);
  const sortNote = find.validator.params.find((p) => p.name === '_sort')?.note;
  const listTypeName = `${typeBase}ListType`;
  claimName(listTypeName, `${find.resource}/find`);
  const listType = new GraphQLObjectType<ListSource, GraphqlContext>({
    name: listTypeName,
    fields: {
      totalCount: { type: GraphQLInt, description: 'How many records match the filters', resolve: (source) => source.totalCount() },
      results: {
        type: new GraphQLList(rowType),
        args: {
          limit: { type: GraphQLInt, defaultValue: DEFAULT_RESULTS_LIMIT, description: `rows per page, 1..${MAX_RESULTS_LIMIT}` },
          offset: { type: GraphQLInt, description: 'rows to skip (default 0)' },
          ordering: {
            type: GraphQLString,
            description: `e.g. "name, -id": snake_case (or camelCase) field names, "-" for descending${sortNote ? `; ${sortNote.replace(/^.*sortable: /, 'sortable: ').replace(/\b_id\b/g, 'id')}` : ''}`,
          },
        },
        resolve: (source, args: ResultsArgs, _ctx, info) => source.results(args, wantedFields(find.schema.fields, info)),
      },
    },
  });
  return {
    type: listType,
    args: filters.fields,
    description: find.definition.summary,
    resolve: (_root, args: Record<string, unknown>, ctx) => new ListSource(find, filters.toParams(args), ctx),
  };
}

/** One list field of one request: its filters, the pages asked of it, and the count that comes with the first page. */
class ListSource {
  private first: Promise<FoundPage> | undefined;
  private readonly pagesByMeta: boolean;

  constructor(
    private readonly find: CompiledAction,
    private readonly filters: Record<string, unknown>,
    private readonly ctx: GraphqlContext,
  ) {
    this.pagesByMeta = find.validator.params.some((p) => p.name === '_meta');
  }

  /** One page of rows; `wanted`: the row fields the query selects (the refs of the others are not loaded). */
  results(args: ResultsArgs, wanted?: ReadonlySet<string>): Promise<unknown[]> {
    const window = this.window(args);
    const body: Record<string, unknown> = { ...this.filters };
    // a find that pages itself (not through queryFind/std.find) reads _meta, not the window: give it the same rows when a page can say them
    if (this.pagesByMeta && window.offset % window.limit === 0)
      body._meta = { page: window.offset / window.limit + 1, limit: window.limit };
    if (args.ordering !== undefined && args.ordering !== null) body._sort = toSortParam(args.ordering);
    const page = this.run(body, window, wanted);
    this.first ??= page;
    return page.then((p) => p.data);
  }

  async totalCount(): Promise<number | null> {
    // `results` beside it is resolved in the same tick: waiting one turn lets its page bring the count along
    await null;
    // alone: a window of no rows, so nothing is shaped and no refs are loaded (the count and a 1-row find)
    const page = this.first ?? this.run(this.filters, { offset: 0, limit: 0 });
    // a find whose count policy is none has no count to give
    return (await page)._meta.result_count ?? null;
  }

  private async run(body: Record<string, unknown>, window: RowWindow, wanted?: ReadonlySet<string>): Promise<FoundPage> {
    try {
      return (await runAction(this.find, body, this.ctx, window, wanted)) as FoundPage;
    } catch (err) {
      throw toGraphqlError(err, this.ctx, RENAMED);
    }
  }

  private window({ limit, offset }: ResultsArgs): RowWindow {
    const problems = [];
    const rows = limit ?? DEFAULT_RESULTS_LIMIT;
    if (!Number.isInteger(rows) || rows < 1 || rows > MAX_RESULTS_LIMIT)
      problems.push({ field: 'limit', messages: [`must be between 1 and ${MAX_RESULTS_LIMIT}`] });
    const skip = offset ?? 0;
    if (!Number.isInteger(skip) || skip < 0) problems.push({ field: 'offset', messages: ['must be >= 0'] });
    if (problems.length > 0) {
      throw toGraphqlError(new ApiError('invalid_params', { fields: problems }), this.ctx);
    }
    return { offset: skip, limit: rows };
  }
}

/** Seed 001's ordering `"name, -id"` as the `_sort` param of `find` (`"name,-_id"`); `find` checks the fields. */
export function toSortParam(ordering: string): string {
  return ordering
    .split(',')
    .map((item) => item.trim())
    .map((item) => (item.startsWith('-') ? `-${snakeCase(item.slice(1).trim())}` : snakeCase(item.replace(/^\+/, ''))))
    .join(',');
}
