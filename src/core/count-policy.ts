import type { Collection, Document, Filter } from 'mongodb';
import { DeclarationError } from './declaration-error.js';
import { countRows } from './find-command.js';

/**
 * How a `find` counts its matches for `_meta.result_count` (DESIGN.md §9 "Counts"):
 * - `'exact'` (the default, as the seed shows it): `countDocuments` over every match;
 * - `{cap: n}`: counts at most n matches; past that `result_count` is a lower bound (`result_count_is: "at_least"`);
 * - `'estimated'`: a request without filters reads the collection's size from its metadata (`estimatedDocumentCount`:
 *   soft-deleted records included, so `result_count_is: "estimate"`); a filtered one counts exactly, or up to `cap` in
 *   the form `{estimated: true, cap: n}`;
 * - `'none'`: no count at all; `_meta` has `has_more` (from the one extra row fetched) but no `result_count`.
 */
export type CountPolicy = 'exact' | 'estimated' | 'none' | { cap: number; estimated?: boolean };

/** What `_meta.result_count_is` says about `result_count` (present on finds whose policy is not `exact`). */
export type CountKind = 'exact' | 'at_least' | 'estimate';

/** The count one page asks for, once the policy met the request (is there a caller filter?). */
export type PageCount = { kind: 'exact' } | { kind: 'capped'; cap: number } | { kind: 'estimated' } | { kind: 'none' };

/** The largest cap a policy may state: a count up to it is what the cap exists to bound. */
const MAX_CAP = 1_000_000;

/** Throws a DeclarationError for a policy that cannot be applied (a cap that is not a positive integer). */
export function checkCountPolicy(policy: CountPolicy | undefined): void {
  if (policy === undefined || typeof policy === 'string') return;
  if (!Number.isInteger(policy.cap) || policy.cap < 1 || policy.cap > MAX_CAP) {
    throw new DeclarationError('', `count: cap must be an integer 1..${MAX_CAP} (got ${String(policy.cap)})`, 'bad_action');
  }
}

/** The count a request gets: `estimated` applies only when the caller gave no filter. */
export function pageCountOf(policy: CountPolicy | undefined, filtered: boolean): PageCount {
  if (policy === undefined || policy === 'exact') return { kind: 'exact' };
  if (policy === 'none') return { kind: 'none' };
  if (policy === 'estimated') return filtered ? { kind: 'exact' } : { kind: 'estimated' };
  if (policy.estimated && !filtered) return { kind: 'estimated' };
  return { kind: 'capped', cap: policy.cap };
}

/** Whether `_meta` carries `result_count_is` (every policy but the seed's exact count). */
export function statesCountKind(policy: CountPolicy | undefined): boolean {
  return policy !== undefined && policy !== 'exact' && policy !== 'none';
}

/** What the rows of a page already prove about the total: skip + rows, exact when the page is the last one. */
interface PageEvidence {
  skip: number;
  /** Rows read, including the one extra row that says has_more. */
  read: number;
  hasMore: boolean;
}

/**
 * The count query of a page, or undefined when the page's rows say all a capped count could: a window reaching
 * the cap (skip + limit + 1 ≥ cap) proves "at least cap" or, on the last page, the exact total.
 */
export function countQuery<T extends Document>(
  collection: Collection<T>,
  filter: Filter<T>,
  count: PageCount,
  window: { skip: number; limit: number },
): Promise<number> | undefined {
  switch (count.kind) {
    case 'exact':
      return countRows(collection, filter);
    case 'estimated':
      return collection.estimatedDocumentCount();
    case 'capped':
      return window.skip + window.limit + 1 >= count.cap ? undefined : countRows(collection, filter, count.cap);
    case 'none':
      return undefined;
  }
}

/** `result_count` and what it is, from the count (when one ran) and what the page's rows prove. */
export function countResult(
  count: PageCount,
  counted: number | undefined,
  page: PageEvidence,
): { total: number; kind: CountKind } | undefined {
  if (count.kind === 'none') return undefined;
  if (count.kind === 'exact') return { total: counted ?? 0, kind: 'exact' };
  if (count.kind === 'estimated') return { total: counted ?? 0, kind: 'estimate' };
  // capped: the last page (or an empty first one) knows the total; otherwise the count or the rows give a lower bound
  if (!page.hasMore && (page.read > 0 || page.skip === 0)) return { total: page.skip + page.read, kind: 'exact' };
  // rows on the page prove skip + rows records; an empty page past the end proves nothing
  const seen = page.read > 0 ? page.skip + page.read : 0;
  if (counted !== undefined && counted < count.cap) return { total: Math.max(counted, seen), kind: 'exact' };
  return { total: Math.max(counted ?? 0, seen), kind: 'at_least' };
}

/** One field of a find's `_meta`, as the docs and the OpenAPI state it. */
export interface MetaField {
  name: string;
  type: 'bool' | 'int' | 'enum';
  description: string;
  values?: readonly CountKind[];
}

/** The `_meta` fields of a find under its count policy: one description for the SEP-12 docs and the OpenAPI. */
export function pageMetaFields(policy: CountPolicy | undefined): MetaField[] {
  const fields: MetaField[] = [
    { name: 'has_more', type: 'bool', description: 'a next page exists' },
    { name: 'page', type: 'int', description: 'the page answered' },
    { name: 'page_size', type: 'int', description: 'the limit used' },
  ];
  if (policy === 'none') return fields;
  fields.push({ name: 'result_count', type: 'int', description: countDescription(policy) });
  if (statesCountKind(policy)) {
    const values = kindsOf(policy);
    fields.push({ name: 'result_count_is', type: 'enum', values, description: values.map((kind) => KIND_MEANING[kind]).join('; ') });
  }
  return fields;
}

const KIND_MEANING: Record<CountKind, string> = {
  exact: 'exact: result_count is the total',
  at_least: 'at_least: the count stopped at its cap, there are at least result_count',
  estimate: "estimate: the collection's size from its metadata",
};

function countDescription(policy: CountPolicy | undefined): string {
  if (policy === undefined || policy === 'exact') return 'the number of matching records';
  if (policy === 'estimated') return 'the number of matching records; without filters an estimate (soft-deleted records included)';
  if (policy === 'none') return '';
  const capped = `the number of matching records, counted up to ${policy.cap} (a lower bound beyond)`;
  return policy.estimated ? `${capped}; without filters an estimate (soft-deleted records included)` : capped;
}

function kindsOf(policy: CountPolicy | undefined): CountKind[] {
  if (policy === 'estimated') return ['exact', 'estimate'];
  if (typeof policy === 'object') return policy.estimated ? ['exact', 'at_least', 'estimate'] : ['exact', 'at_least'];
  return ['exact'];
}
