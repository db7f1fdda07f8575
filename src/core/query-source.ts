import type { Document, Sort } from 'mongodb';
import type { ActionDefinition } from './dispatch.js';
import type { Model } from './model.js';
import type { Params, ParamRule, ParamsDeclaration } from './params.js';

/** How a `find`-like action turns its params into one query: what an export re-runs without paging. */
export interface QuerySource {
  model: Model;
  /** The find's params without `_meta` (paging). */
  params: ParamsDeclaration;
  rules: ParamRule[];
  /**
   * The filter (live records only) and the sort for the converted params; throws ApiError for bad combinations.
   * `filtered: false` says the caller gave no filter (a count policy `estimated` reads the collection's size then).
   */
  build(params: Params): { filter: Document; sort: Sort; filtered?: boolean };
  /** Computed fields added before shaping (the resource's `derive`). */
  map?: (record: Document) => Document;
}

const SOURCES = new WeakMap<ActionDefinition, QuerySource>();

/** Marks a find action as exportable by recording how it queries. */
export function withQuerySource(action: ActionDefinition, source: QuerySource): ActionDefinition {
  SOURCES.set(action, source);
  return action;
}

/** The query behind a find action, if it declared one. */
export function querySourceOf(action: ActionDefinition): QuerySource | undefined {
  return SOURCES.get(action);
}
