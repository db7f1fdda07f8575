import type { IndexDescription } from 'mongodb';
import type { ResourceDefinition } from './dispatch.js';
import type { FilterDeclaration } from './filters.js';

/** One sort: field → direction, `_id` last (parseSort's tie-breaker). */
export type SortSpec = Record<string, 1 | -1>;

/**
 * The queries a find can send, for the check that a declared index serves each (docs/counts.md): each filter
 * alone with the default sort, and each single-field sort without a filter. std.find and queryFind derive them
 * from their declarations; a hand-written find states them.
 */
export interface FindQueries {
  /** Fields filtered by a value (`eq`, `in`, `isnull`): served by an index on the field followed by the sort. */
  equality: string[];
  /** Fields filtered by a range or a text match: served by an index that starts with the field. */
  ranges: string[];
  /** The default sort first, then each other sort a caller can ask for. */
  sorts: SortSpec[];
  /** Filters no index serves (a substring over several fields), applied to the records read in sort order. */
  scanned?: string[];
}

/** One line of the plan: a query of a find and the declared index that serves it (null: none does). */
export interface FindPlanLine {
  find: string;
  query: string;
  index: string | null;
}

const EQUALITY_OPERATORS = new Set(['eq', 'in', 'isnull']);

/** The queries of a std.find: its filters (a field with a value operator counts as equality) and sortable fields. */
export function findQueriesOf(filters: FilterDeclaration, sortable: readonly string[], defaultSort: SortSpec): FindQueries {
  const equality: string[] = [];
  const ranges: string[] = [];
  for (const [field, ops] of Object.entries(filters)) {
    if (ops.some((op) => EQUALITY_OPERATORS.has(op))) equality.push(field);
    else ranges.push(field);
  }
  const first = Object.keys(defaultSort)[0];
  const others = sortable
    .filter((field) => field !== first)
    .map((field): SortSpec => (field === '_id' ? { _id: 1 } : { [field]: 1, _id: 1 }));
  return { equality, ranges, sorts: [defaultSort, ...others] };
}

/** Every query of one find and the index serving it; `_id_` is MongoDB's own index on `_id`. */
export function planFind(find: string, queries: FindQueries, indexes: readonly IndexDescription[]): FindPlanLine[] {
  const keys = [{ name: '_id_', key: [['_id', 1]] as Array<[string, number]> }, ...indexes.map(keyListOf)];
  const [defaultSort = { _id: -1 }] = queries.sorts;
  const lines: FindPlanLine[] = queries.sorts.map((sort) => ({
    find,
    query: `sort ${sortText(sort)}`,
    index: servingSort(keys, [], sort),
  }));
  for (const field of queries.equality) {
    // a value of a unique field matches one record at most: its index serves, there is nothing to sort
    const index =
      servingSort(keys, [field], defaultSort) ??
      keys.find(({ key, unique }) => unique && key.length === 1 && key[0]?.[0] === field)?.name ??
      null;
    lines.push({ find, query: `${field} = value, sort ${sortText(defaultSort)}`, index });
  }
  for (const field of queries.ranges) {
    // a range on the sort's own field is served in order; otherwise the index finds the matches and they are sorted
    const served = Object.keys(defaultSort)[0] === field ? servingSort(keys, [], defaultSort) : startingWith(keys, field);
    lines.push({ find, query: `${field} range/text, sort ${sortText(defaultSort)}`, index: served });
  }
  for (const field of queries.scanned ?? []) {
    lines.push({ find, query: `${field} (scanned in sort order)`, index: servingSort(keys, [], defaultSort) });
  }
  return lines;
}

interface KeyList {
  name: string;
  key: Array<[string, number]>;
  unique?: boolean;
}

function keyListOf(index: IndexDescription): KeyList {
  const key = Object.entries(index.key as Record<string, number>);
  return { name: index.name ?? key.map(([field, dir]) => `${field}_${dir}`).join('_'), key, unique: index.unique === true };
}

/** An index whose keys are the equality fields (any direction) then the sort, in its direction or all reversed. */
function servingSort(indexes: readonly KeyList[], equality: readonly string[], sort: SortSpec): string | null {
  const wanted = Object.entries(sort);
  for (const { name, key } of indexes) {
    if (key.length < equality.length + wanted.length) continue;
    if (!equality.every((field, i) => key[i]?.[0] === field)) continue;
    const rest = key.slice(equality.length, equality.length + wanted.length);
    const same = rest.every(([field, dir], i) => field === wanted[i]?.[0] && dir === wanted[i]?.[1]);
    const reversed = rest.every(([field, dir], i) => field === wanted[i]?.[0] && dir === -(wanted[i]?.[1] ?? 0));
    if (same || reversed) return name;
  }
  return null;
}

function startingWith(indexes: readonly KeyList[], field: string): string | null {
  return indexes.find(({ key }) => key[0]?.[0] === field)?.name ?? null;
}

function sortText(sort: SortSpec): string {
  return Object.entries(sort)
    .map(([field, dir]) => `${dir < 0 ? '-' : ''}${field}`)
    .join(',');
}

/**
 * The plan of every find of these resources (actions answering `result_set_with_meta`); a find that states no
 * queries gets one line with `query: 'queries not declared'` and no index.
 */
export function planFinds(
  resources: readonly ResourceDefinition[],
  indexesOf: (resource: ResourceDefinition) => IndexDescription[],
): FindPlanLine[] {
  const lines: FindPlanLine[] = [];
  for (const resource of resources) {
    for (const [name, action] of Object.entries(resource.actions)) {
      if (action.envelope !== 'result_set_with_meta') continue;
      const find = `${resource.name}/${name}`;
      if (!action.queries) lines.push({ find, query: 'queries not declared', index: null });
      else lines.push(...planFind(find, action.queries, indexesOf(resource)));
    }
  }
  return lines;
}
