import type { Document, IndexDescription } from 'mongodb';
import type { CallerDeclaration } from './callers.js';
import type { CountPolicy } from './count-policy.js';
import type { ActionDefinition, ResourceDefinition } from './dispatch.js';
import { DeclarationError, DeclarationProblems } from './declaration-error.js';
import type { TypedResourceSpec } from './declared-types.js';
import { checkResourceSpec, collectActionMistakes, derivedFields, recordActionMistakes } from './declarations.js';
import type { FilterDeclaration } from './filters.js';
import { DELETED_AT, Model, type Reference } from './model.js';
import { parseParams, type ParamsDeclaration, type ParsedParam } from './params.js';
import { batchCreateAction, batchDeleteAction, batchMarkAction, batchUpdateAction } from './standard-batch.js';
import { findAction, findOneAction, getAction, selectAction } from './standard-reads.js';
import { createAction, markAction, markDeleteAction, markRestoreAction, updateAction } from './standard-writes.js';

/** How a backend engineer declares a resource; the framework derives params, filters and standard actions. */
export interface ResourceSpec {
  name: string;
  summary?: string;
  /** The short Chinese name in SEP-12 titles (`产品护照` → `/passport/get 产品护照详情`). */
  titleZh?: string;
  /** Defaults to the resource name. */
  collection?: string;
  /** `mark_delete` sets `deleted_at`; such records count as absent everywhere. */
  softDelete?: boolean;
  /** The stored fields in SEP-12 notation; presence is what `create` requires. */
  fields: ParamsDeclaration;
  /** Fields other code (an engine) writes: readable, filterable and sortable, never given by callers. */
  stored?: ParamsDeclaration;
  /** Values `create` stores for fields the caller left out. */
  defaults?: Record<string, unknown>;
  /** Fields `update` may not change. */
  immutable?: string[];
  /** Fields that `mark_*` transitions drive and that `update` may change all the same (default: none may). */
  updatableTransitionFields?: string[];
  /**
   * Records belong to a user: `field` (declared in `stored` as object_id) holds the id of a `resource` record. A user
   * caller reads and writes only their own; a create by a user stores their id (ownership.ts).
   */
  owner?: { field: string; resource: string };
  /** Who may call the resource's actions unless an action declares its own `callers` or `public` (default: service). */
  callers?: CallerDeclaration[];
  /** `{group_id: 'group'}`: must name a live record; that record cannot be deleted while referenced. */
  references?: Record<string, string>;
  indexes?: IndexDescription[];
  /** Computed fields added to records before shaping (get/find/find_one); the whole record is read. */
  derive?: (record: Document) => Document;
  actions: (std: StandardActions) => Record<string, ActionDefinition>;
}

/** The options every standard action takes. */
export interface ResultOption {
  result?: string;
  summary?: string;
}

/** A `mark_*` transition: one conditional update of `field` from one of `from` to `to`. */
export type MarkOptions = ResultOption & { field?: string; from: unknown[]; to: unknown };
export type FindOptions = ResultOption & {
  result: string;
  filters?: FilterDeclaration;
  sortable?: string[];
  defaultSort?: Record<string, 1 | -1>;
  /** How `_meta.result_count` is counted: exact (default), `{cap}`, `estimated` or `none` (count-policy.ts). */
  count?: CountPolicy;
};
export type SelectOptions = ResultOption & { result: string; filters?: FilterDeclaration; limit?: number };

/** The standard actions of seed 004, bound to one resource. */
export interface StandardActions {
  readonly model: Model;
  get(options: ResultOption & { result: string }): ActionDefinition;
  find(options: FindOptions): ActionDefinition;
  findOne(options: ResultOption & { result: string; keys: string[] }): ActionDefinition;
  /** Refuses (400) rather than cut the list when more than `limit` records match. */
  select(options: SelectOptions): ActionDefinition;
  /** `fields`: the declared fields the caller may give (default all); defaults fill the rest. */
  create(options?: ResultOption & { fields?: string[] }): ActionDefinition;
  update(options?: ResultOption): ActionDefinition;
  mark(options: MarkOptions): ActionDefinition;
  markDelete(options?: ResultOption): ActionDefinition;
  /** Brings a soft-deleted record back (409 when a live record holds one of its unique values or a reference is gone). */
  markRestore(options?: ResultOption): ActionDefinition;
  batchMark(options: MarkOptions): ActionDefinition;
  batchMarkDelete(options?: ResultOption): ActionDefinition;
  batchCreate(options?: ResultOption): ActionDefinition;
  batchUpdate(options?: ResultOption): ActionDefinition;
}

/** What the standard actions of one resource share: its spec, model and what was derived from its fields. */
export interface ResourceCore {
  readonly spec: ResourceSpec;
  readonly model: Model;
  readonly fields: ParsedParam[];
  /** SEP-12 type (without presence) of every declared field and of `_id`, `created_at`, `updated_at`. */
  readonly fieldTypes: Record<string, string>;
  readonly uniqueFields: string[];
  readonly derive: (record: Document) => Document;
  /** Transition-owned field → the `mark_*` actions that drive it; complete once every action is declared. */
  readonly transitions: Map<string, string[]>;
  /** Runs once every action of the resource is declared (update's params depend on the transitions). */
  whenDeclared(step: () => void): void;
  /** Throws naming the resource when `field` is not declared. */
  requireField(field: string): void;
  requireSoftDelete(action: string): void;
}

/** Builds a resource module from its spec; the names its options give are typed against its fields (declared-types.ts). */
export function defineResource<const F extends ParamsDeclaration, const S extends ParamsDeclaration = Record<never, never>>(
  typed: TypedResourceSpec<F, S>,
): ResourceDefinition {
  const spec = typed as unknown as ResourceSpec;
  const references: Reference[] = Object.entries(spec.references ?? {}).map(([field, resource]) => ({ field, resource }));
  const model = new Model({
    name: spec.name,
    collection: spec.collection ?? spec.name,
    softDelete: spec.softDelete ?? false,
    references,
    ...(spec.owner ? { owner: spec.owner } : {}),
  });
  const indexes = [...(spec.indexes ?? [])];
  if (model.softDelete && !indexes.some((i) => Object.keys(i.key)[0] === DELETED_AT)) {
    indexes.push({ key: { [DELETED_AT]: 1 }, name: `${DELETED_AT}_1` });
  }
  // mistakes are collected, not thrown: the start reports every one of them (declarations.ts)
  const problems = new DeclarationProblems();
  for (const problem of checkResourceSpec(spec)) problems.add(problem);
  for (const field of spec.updatableTransitionFields ?? []) {
    if (!(field in spec.fields))
      problems.add({
        code: 'bad_resource',
        where: `resource ${spec.name}`,
        message: `updatableTransitionFields: ${field} is not a declared field`,
      });
  }
  const ownerDeclaration = spec.owner ? spec.stored?.[spec.owner.field] : undefined;
  const ownerType = typeof ownerDeclaration === 'string' ? ownerDeclaration : ownerDeclaration?.type;
  if (spec.owner && !/^[MO] object_id$/.test(ownerType?.trim() ?? '')) {
    problems.add({
      code: 'bad_resource',
      where: `resource ${spec.name}`,
      message: `owner: ${spec.owner.field} must be declared in stored as object_id (callers never give it)`,
    });
  }
  // a spec whose fields do not parse gives no standard actions to check; other mistakes leave them checkable
  const unbuildable = problems.list.some((p) => p.code === 'bad_param' || p.code === 'bad_resource');
  let actions: Record<string, ActionDefinition> = {};
  if (!unbuildable) {
    const { core, finish, marks } = createCore(spec, model);
    actions = collectActionMistakes(spec.name, spec.actions(recordActionMistakes(standardActions(core, marks))), problems);
    finish(actions);
    if (spec.callers) {
      for (const action of Object.values(actions))
        if (action.callers === undefined && action.public === undefined) action.callers = spec.callers;
    }
  }
  const definition: ResourceDefinition = {
    name: spec.name,
    model,
    indexes,
    actions,
    fields: { ...spec.fields, ...spec.stored },
    derived: derivedFields(spec.derive),
    problems: problems.list,
  };
  if (spec.summary !== undefined) definition.summary = spec.summary;
  if (spec.titleZh !== undefined) definition.titleZh = spec.titleZh;
  if (!unbuildable) definition.presentFields = presentFields(spec, definition.derived ?? []);
  return definition;
}

/** For the docs (which fields can be null): the M and defaulted fields, the system fields and what `derive` adds. */
function presentFields(spec: ResourceSpec, derived: readonly string[]): string[] {
  const declared = parseParams(spec.fields).filter((field) => field.presence === 'M' || spec.defaults?.[field.name] !== undefined);
  return [...Object.keys(SYSTEM_FIELD_TYPES), ...declared.map((field) => field.name), ...derived];
}

const SYSTEM_FIELD_TYPES: Record<string, string> = { _id: 'object_id', created_at: 'datetime', updated_at: 'datetime' };

function createCore(spec: ResourceSpec, model: Model) {
  const fields = parseParams(spec.fields);
  const fieldTypes: Record<string, string> = { ...SYSTEM_FIELD_TYPES };
  for (const field of fields) fieldTypes[field.name] = field.typeText;
  for (const field of parseParams(spec.stored ?? {})) fieldTypes[field.name] = field.typeText;
  const requireField = (field: string): void => {
    if (!(field in spec.fields)) throw new DeclarationError('', `${field}: not a declared field`, 'bad_action');
  };
  const steps: Array<() => void> = [];
  /** The field each standard mark action drives, to find the actions' names once they are declared. */
  const marks = new Map<ActionDefinition, string>();
  const core: ResourceCore = {
    spec,
    model,
    fields,
    fieldTypes,
    uniqueFields: (spec.indexes ?? [])
      .filter((index) => index.unique && Object.keys(index.key).length === 1)
      .map((index) => Object.keys(index.key)[0] as string),
    derive: spec.derive ?? ((record) => record),
    transitions: new Map(),
    whenDeclared: (step) => steps.push(step),
    requireField,
    requireSoftDelete(action) {
      if (!model.softDelete) throw new DeclarationError('', `${action} needs softDelete: true`, 'bad_action');
    },
  };
  const finish = (actions: Record<string, ActionDefinition>): void => {
    for (const [name, definition] of Object.entries(actions)) {
      const field = marks.get(definition);
      if (field === undefined || spec.updatableTransitionFields?.includes(field)) continue;
      core.transitions.set(field, [...(core.transitions.get(field) ?? []), name]);
    }
    for (const step of steps) step();
  };
  return { core, finish, marks };
}

function standardActions(core: ResourceCore, marks: Map<ActionDefinition, string>): StandardActions {
  const marking = (definition: ActionDefinition, field: string | undefined): ActionDefinition => {
    marks.set(definition, field ?? 'state');
    return definition;
  };
  return {
    model: core.model,
    get: (options) => getAction(core, options),
    find: (options) => findAction(core, options),
    findOne: (options) => findOneAction(core, options),
    select: (options) => selectAction(core, options),
    create: (options = {}) => createAction(core, options),
    update: (options = {}) => updateAction(core, options),
    mark: (options) => marking(markAction(core, options), options.field),
    markDelete: (options = {}) => markDeleteAction(core, options),
    markRestore: (options = {}) => markRestoreAction(core, options),
    batchMark: (options) => marking(batchMarkAction(core, options), options.field),
    batchMarkDelete: (options = {}) => batchDeleteAction(core, options),
    batchCreate: (options = {}) => batchCreateAction(core, options),
    batchUpdate: (options = {}) => batchUpdateAction(core, options),
  };
}

/**
 * The params `update` (and each doc of `batch_update`) takes: every declared field but the immutable ones and those
 * a transition drives, optional; null removes a field only when it is optional and has no default. Also the reasons
 * given for the fields it refuses.
 */
export function updatableParams(core: ResourceCore): { params: ParamsDeclaration; refused: Record<string, string> } {
  const params: ParamsDeclaration = {};
  const refused: Record<string, string> = {};
  for (const field of core.fields) {
    if (core.spec.immutable?.includes(field.name)) {
      refused[field.name] = 'cannot be changed once created';
      continue;
    }
    const drivenBy = core.transitions.get(field.name);
    if (drivenBy) {
      refused[field.name] = `is changed by ${drivenBy.join(', ')}, not by update`;
      continue;
    }
    const hasDefault = core.spec.defaults !== undefined && field.name in core.spec.defaults;
    const removable = field.presence === 'O' && !hasDefault;
    const param: ParamsDeclaration[string] = { type: `O ${field.typeText}` };
    if (removable) param.nullable = true;
    else param.nullMessage = `cannot be removed (${hasDefault ? 'it has a default' : 'it is required'})`;
    // a required string stays non-blank when it is changed
    if (field.presence !== 'M') param.blank = true;
    else param.blank = field.blank === true;
    if (field.note) param.note = field.note;
    // a dict (or list of dicts) keeps its declared fields, and a stated pattern stays stated
    const declared = core.spec.fields[field.name];
    if (typeof declared === 'object' && declared.fields) param.fields = declared.fields;
    if (typeof declared === 'object' && declared.stated) param.stated = declared.stated;
    params[field.name] = param;
  }
  return { params, refused };
}
