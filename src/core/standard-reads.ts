import type { Document, ObjectId } from 'mongodb';
import { findBounded } from './find-command.js';
import type { ActionDefinition, HandlerContext } from './dispatch.js';
import { apiError } from './errors.js';
import { DeclarationError, DeclarationProblems } from './declaration-error.js';
import { compileFilters, type Filters } from './filters.js';
import { findQueriesOf } from './find-indexes.js';
import { parseSort, sortParam } from './paging.js';
import type { ParamsDeclaration } from './params.js';
import { queryFind } from './query-find.js';
import type { FindOptions, ResourceCore, ResultOption, SelectOptions } from './resource.js';

/** The most records `select` answers; beyond it the caller is sent to `find`. */
export const SELECT_CAP = 1000;

function readProjection(core: ResourceCore, ctx: HandlerContext): Document | undefined {
  return core.spec.derive ? undefined : ctx.resultProjection;
}

/** The hint an unknown param of a filtered action gets: the filters it does have. */
function filterHint(filters: Filters, extra: string[] = []): { hint: string } {
  const names = Object.keys(filters.params);
  const also = extra.length > 0 ? `; also ${extra.join(', ')}` : '';
  return { hint: `${names.length > 0 ? `filters: ${names.join(', ')}` : 'no filters'}${also}` };
}

/** `get {_id}`: the live record or 404. */
export function getAction(core: ResourceCore, { result, summary }: ResultOption & { result: string }): ActionDefinition {
  return {
    summary: summary ?? `Get one ${core.spec.name} by _id`,
    access: 'read',
    params: { _id: `M object_id` },
    result,
    envelope: 'object_result',
    handler: async ({ _id }, ctx) => core.derive(await core.model.loadOr404(ctx.db, _id as ObjectId, readProjection(core, ctx))),
  };
}

/** `find`: declared filters, `_sort`, `_meta` paging (DESIGN.md §6). */
export function findAction(core: ResourceCore, options: FindOptions): ActionDefinition {
  const problems = new DeclarationProblems();
  const sortable = options.sortable ?? ['_id'];
  for (const field of sortable) {
    if (!(field in core.fieldTypes)) problems.add({ code: 'bad_sort', where: '', message: `sortable ${field}: not a declared field` });
  }
  let compiled: Filters | undefined;
  try {
    compiled = compileFilters(options.filters ?? {}, core.fieldTypes);
  } catch (err) {
    problems.addError(err, '', 'bad_filter');
  }
  problems.throwIfAny();
  const filters = compiled as Filters;
  const defaultSort = options.defaultSort ?? { _id: -1 };
  const find = queryFind({
    model: core.model,
    result: options.result,
    summary: options.summary ?? `Find ${core.spec.name} records by filters, a page at a time`,
    params: { _sort: sortParam(sortable), ...filters.params },
    build: (params) => {
      const query = filters.toQuery(params);
      return {
        filter: core.model.live(query),
        sort: parseSort(params._sort as string | undefined, sortable, defaultSort),
        filtered: Object.keys(query).length > 0,
      };
    },
    ...(core.spec.derive ? { map: core.derive } : {}),
    ...(options.count ? { count: options.count } : {}),
    queries: findQueriesOf(options.filters ?? {}, sortable, defaultSort),
  });
  find.access = 'read';
  find.unknownParams = filterHint(filters, ['_meta', '_sort']);
  return find;
}

/** `find_one`: exactly one of the lookup keys (one key: it is required). */
export function findOneAction(
  core: ResourceCore,
  { result, keys, summary }: ResultOption & { result: string; keys: string[] },
): ActionDefinition {
  const params: ParamsDeclaration = {};
  for (const key of keys) {
    const type = core.fieldTypes[key];
    if (!type) throw new DeclarationError('', `find_one key ${key}: not a declared field`, 'bad_action');
    params[key] = `${keys.length > 1 ? 'C' : 'M'} ${type}`;
  }
  return {
    summary: summary ?? `Get one ${core.spec.name} by exactly one of ${keys.join(', ')}`,
    access: 'read',
    params,
    rules: keys.length > 1 ? [{ exactlyOne: keys }] : [],
    result,
    envelope: 'object_result',
    handler: async (given, ctx) => {
      const key = keys.find((k) => given[k] !== undefined) as string;
      const projection = readProjection(core, ctx);
      const [record] = await findBounded(ctx.db, core.model.collectionName, {
        filter: core.model.live({ [key]: { $eq: given[key] } }),
        projection,
        limit: 1,
      });
      if (!record) throw apiError('no_record_with_key', { resource: core.spec.name, key });
      return core.derive(record);
    },
  };
}

/** `select`: every matching `{_id, name}` without paging; more than the cap is refused, never cut silently. */
export function selectAction(core: ResourceCore, { result, filters: declared, limit, summary }: SelectOptions): ActionDefinition {
  const filters = compileFilters(declared ?? {}, core.fieldTypes);
  const cap = limit ?? SELECT_CAP;
  return {
    summary: summary ?? `All ${core.spec.name} options (_id, name) for a picker, no paging; 400 when more than ${cap} match (use find)`,
    access: 'read',
    params: filters.params,
    unknownParams: filterHint(filters),
    result,
    envelope: 'result_set',
    handler: async (params, ctx) => {
      const data = await findBounded(ctx.db, core.model.collectionName, {
        filter: core.model.live(filters.toQuery(params)),
        projection: ctx.resultProjection ?? { _id: 1, name: 1 },
        sort: { _id: -1 },
        limit: cap + 1,
      });
      if (data.length > cap) {
        throw apiError('too_many_results', { cap, resource: core.spec.name });
      }
      return { data };
    },
  };
}
