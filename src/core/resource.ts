import { MongoBulkWriteError, ObjectId, type AnyBulkWriteOperation, type Db, type Document, type IndexDescription } from 'mongodb';
import { ATOMIC_PARAM, DOC_ID_PARAM, createItemwise, requireFreeIds } from './batch-partial.js';
import type { ActionDefinition, HandlerContext, ResourceDefinition } from './dispatch.js';
import { ApiError, invalidParams, isDuplicateKeyError, toApiError, type FieldError } from './errors.js';
import { DeclarationError, DeclarationProblems } from './declaration-error.js';
import { checkResourceSpec, collectActionMistakes, derivedFields, recordActionMistakes } from './declarations.js';
import { compileFilters, type FilterDeclaration, type Filters } from './filters.js';
import { DELETED_AT, Model, type Reference } from './model.js';
import { parseSort, sortParam } from './paging.js';
import { queryFind } from './query-find.js';
import { parseParams, type ParamsDeclaration, type Params } from './params.js';

export const MAX_BATCH = 1000;
const SELECT_CAP = 1000;

/** How a backend engineer declares a resource; the framework derives params, filters and standard actions. */
export interface ResourceSpec {
  name: string;
  summary?: string;
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
  /** `{group_id: 'group'}`: must name a live record; that record cannot be deleted while referenced. */
  references?: Record<string, string>;
  indexes?: IndexDescription[];
  /** Computed fields added to records before shaping (get/find/find_one); the whole record is read. */
  derive?: (record: Document) => Document;
  actions: (std: StandardActions) => Record<string, ActionDefinition>;
}

interface ResultOption {
  result?: string;
  summary?: string;
}

/** The standard actions of seed 004, bound to one resource. */
export interface StandardActions {
  readonly model: Model;
  get(options: ResultOption & { result: string }): ActionDefinition;
  find(options: ResultOption & { result: string; filters?: FilterDeclaration; sortable?: string[]; defaultSort?: Record<string, 1 | -1> }): ActionDefinition;
  findOne(options: ResultOption & { result: string; keys: string[] }): ActionDefinition;
  select(options: ResultOption & { result: string; filters?: FilterDeclaration; limit?: number }): ActionDefinition;
  /** `fields`: the declared fields the caller may give (default all); defaults fill the rest. */
  create(options?: ResultOption & { fields?: string[] }): ActionDefinition;
  update(options?: ResultOption): ActionDefinition;
  mark(options: ResultOption & { field?: string; from: unknown[]; to: unknown }): ActionDefinition;
  markDelete(options?: ResultOption): ActionDefinition;
  batchMark(options: ResultOption & { field?: string; from: unknown[]; to: unknown }): ActionDefinition;
  batchMarkDelete(options?: ResultOption): ActionDefinition;
  batchCreate(options?: ResultOption): ActionDefinition;
  batchUpdate(options?: ResultOption): ActionDefinition;
}

/** Builds a resource module from its spec. */
export function defineResource(spec: ResourceSpec): ResourceDefinition {
  const references: Reference[] = Object.entries(spec.references ?? {}).map(([field, resource]) => ({ field, resource }));
  const model = new Model({
    name: spec.name,
    collection: spec.collection ?? spec.name,
    softDelete: spec.softDelete ?? false,
    references,
  });
  const indexes = [...(spec.indexes ?? [])];
  if (model.softDelete && !indexes.some((i) => Object.keys(i.key)[0] === DELETED_AT)) {
    indexes.push({ key: { [DELETED_AT]: 1 }, name: `${DELETED_AT}_1` });
  }
  // mistakes are collected, not thrown: the start reports every one of them (declarations.ts)
  const problems = new DeclarationProblems();
  for (const problem of checkResourceSpec(spec)) problems.add(problem);
  // a spec whose fields do not parse gives no standard actions to check; other mistakes leave them checkable
  const unbuildable = problems.list.some((p) => p.code === 'bad_param' || p.code === 'bad_resource');
  const actions = unbuildable ? {} : collectActionMistakes(spec.name, spec.actions(recordActionMistakes(new Standard(spec, model))), problems);
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
  return definition;
}

const SYSTEM_FIELD_TYPES: Record<string, string> = { _id: 'object_id', created_at: 'datetime', updated_at: 'datetime' };
const OK_RESULT = 'ok_result';
const SUMMARY_RESULT = 'generic_summary';
const BATCH_RESULT = 'batch_result';
const BATCH_CREATE_RESULT = 'batch_create_result';

class Standard implements StandardActions {
  readonly model: Model;
  private readonly fieldTypes: Record<string, string>;
  private readonly updatable: Record<string, { type: string; nullable: boolean }>;
  private readonly uniqueFields: string[];
  private readonly derive: (record: Document) => Document;

  constructor(
    private readonly spec: ResourceSpec,
    model: Model,
  ) {
    this.model = model;
    const parsed = parseParams(spec.fields);
    this.fieldTypes = { ...SYSTEM_FIELD_TYPES };
    this.updatable = {};
    for (const field of parsed) {
      this.fieldTypes[field.name] = field.typeText;
      if (spec.immutable?.includes(field.name)) continue;
      // in update every field is optional; an optional field given as null is removed
      this.updatable[field.name] = { type: `O ${field.typeText}`, nullable: field.presence === 'O' };
    }
    for (const field of parseParams(spec.stored ?? {})) this.fieldTypes[field.name] = field.typeText;
    for (const field of [...(spec.immutable ?? []), ...Object.keys(spec.references ?? {}), ...Object.keys(spec.defaults ?? {})]) {
      if (!(field in spec.fields)) throw new Error(`resource ${spec.name}: ${field} is not a declared field`);
    }
    this.uniqueFields = (spec.indexes ?? [])
      .filter((index) => index.unique && Object.keys(index.key).length === 1)
      .map((index) => Object.keys(index.key)[0] as string);
    this.derive = spec.derive ?? ((record) => record);
  }

  private readProjection(ctx: HandlerContext): Document | undefined {
    return this.spec.derive ? undefined : ctx.resultProjection;
  }

  get({ result, summary }: ResultOption & { result: string }): ActionDefinition {
    return {
      summary: summary ?? `Get one ${this.spec.name} by _id`,
      params: { _id: `M object_id` },
      result,
      envelope: 'object_result',
      handler: async ({ _id }, ctx) => this.derive(await this.model.loadOr404(ctx.db, _id as ObjectId, this.readProjection(ctx))),
    };
  }

  find(options: ResultOption & { result: string; filters?: FilterDeclaration; sortable?: string[]; defaultSort?: Record<string, 1 | -1> }): ActionDefinition {
    const problems = new DeclarationProblems();
    const sortable = options.sortable ?? ['_id'];
    for (const field of sortable) {
      if (!(field in this.fieldTypes)) problems.add({ code: 'bad_sort', where: '', message: `sortable ${field}: not a declared field` });
    }
    let filters: ReturnType<typeof compileFilters> | undefined;
    try {
      filters = compileFilters(options.filters ?? {}, this.fieldTypes);
    } catch (err) {
      problems.addError(err, '', 'bad_filter');
    }
    problems.throwIfAny();
    const defaultSort = options.defaultSort ?? { _id: -1 };
    return queryFind({
      model: this.model,
      result: options.result,
      summary: options.summary ?? `Find ${this.spec.name} records by filters, a page at a time`,
      params: { _sort: sortParam(sortable), ...filters?.params },
      build: (params) => ({
        filter: this.model.live((filters as Filters).toQuery(params)),
        sort: parseSort(params._sort as string | undefined, sortable, defaultSort),
      }),
      ...(this.spec.derive ? { map: this.derive } : {}),
    });
  }

  findOne({ result, keys, summary }: ResultOption & { result: string; keys: string[] }): ActionDefinition {
    const params: ParamsDeclaration = {};
    for (const key of keys) {
      const type = this.fieldTypes[key];
      if (!type) throw new DeclarationError('', `find_one key ${key}: not a declared field`, 'bad_action');
      // with one key there is nothing to choose between: it is required
      params[key] = `${keys.length > 1 ? 'C' : 'M'} ${type}`;
    }
    return {
      summary: summary ?? `Get one ${this.spec.name} by exactly one of ${keys.join(', ')}`,
      params,
      rules: keys.length > 1 ? [{ exactlyOne: keys }] : [],
      result,
      envelope: 'object_result',
      handler: async (given, ctx) => {
        const key = keys.find((k) => given[k] !== undefined) as string;
        const projection = this.readProjection(ctx);
        const record = await this.model
          .collection(ctx.db)
          .findOne(this.model.live({ [key]: { $eq: given[key] } }), projection ? { projection } : {});
        if (!record) throw new ApiError('not_found', { message: `no ${this.spec.name} with this ${key}` });
        return this.derive(record);
      },
    };
  }

  select({ result, filters: declared, limit, summary }: ResultOption & { result: string; filters?: FilterDeclaration; limit?: number }): ActionDefinition {
    const filters = compileFilters(declared ?? {}, this.fieldTypes);
    const cap = limit ?? SELECT_CAP;
    return {
      summary: summary ?? `All ${this.spec.name} options (_id, name) for a picker, at most ${cap}, no paging`,
      params: filters.params,
      result,
      envelope: 'result_set',
      handler: async (params, ctx) => {
        const data = await this.model
          .collection(ctx.db)
          .find(this.model.live(filters.toQuery(params)), { projection: ctx.resultProjection ?? { _id: 1, name: 1 } })
          .sort({ _id: -1 })
          .limit(cap)
          .toArray();
        return { data };
      },
    };
  }

  create({ result, summary, fields }: ResultOption & { fields?: string[] } = {}): ActionDefinition {
    const params: ParamsDeclaration = {};
    for (const field of fields ?? Object.keys(this.spec.fields)) {
      this.requireField(field);
      params[field] = this.spec.fields[field] as ParamsDeclaration[string];
    }
    return {
      summary: summary ?? `Create a ${this.spec.name}`,
      params,
      result: result ?? SUMMARY_RESULT,
      envelope: 'object_result',
      handler: async (params, ctx) => {
        const doc: Document = { ...this.spec.defaults, ...params };
        await this.requireReferences(ctx.db, [doc], (_, field) => field);
        const _id = await this.model.insert(ctx.db, doc);
        await this.undoIfReferencesVanished(ctx.db, [doc], [_id], (_, field) => field);
        return { _id };
      },
    };
  }

  update({ result, summary }: ResultOption = {}): ActionDefinition {
    const fields = Object.keys(this.updatable);
    const rules = fields.length > 1 ? [{ atLeastOne: fields }] : [];
    const params: ParamsDeclaration = { _id: 'M object_id', ...this.updatable };
    if (fields.length === 1) {
      // with a single changeable field there is nothing to choose: it is required
      const only = fields[0] as string;
      params[only] = { type: (this.updatable[only] as { type: string }).type.replace(/^O /, 'M ') };
    }
    return {
      summary: summary ?? `Change the given fields of a ${this.spec.name} (null removes an optional field)`,
      params,
      rules,
      result: result ?? SUMMARY_RESULT,
      envelope: 'object_result',
      handler: async ({ _id, ...changes }, ctx) => {
        const id = _id as ObjectId;
        const change = splitChanges(changes);
        await this.requireReferences(ctx.db, [change.$set], (_, field) => field);
        const update: Document = { $set: change.$set };
        if (Object.keys(change.$unset).length > 0) update.$unset = change.$unset;
        if (!this.model.references.some((ref) => ref.field in change.$set)) {
          await this.model.updateChecked(ctx.db, { _id: id }, update);
          return { _id };
        }
        // a referenced record deleted between our check and our write: put the record back as it was and refuse
        const now = new Date();
        const before = await this.model.updateCheckedBefore(ctx.db, { _id: id }, update, now);
        const vanished = await this.model.missingReferences(ctx.db, [change.$set], (_, field) => field);
        if (vanished.length > 0) {
          await this.undoWrites(ctx.db, [{ _id: id, change, before }], now);
          throw invalidParams(vanished);
        }
        return { _id };
      },
    };
  }

  mark({ field = 'state', from, to, result, summary }: ResultOption & { field?: string; from: unknown[]; to: unknown }): ActionDefinition {
    this.requireField(field);
    return {
      summary: summary ?? `Set ${field} to ${String(to)} when it is ${from.join(' or ')}`,
      params: { _id: 'M object_id' },
      result: result ?? OK_RESULT,
      envelope: 'ok_result',
      handler: async ({ _id }, ctx) => {
        await this.model.updateChecked(ctx.db, { _id: _id as ObjectId, [field]: { $in: from } }, { $set: { [field]: to } }, (record) =>
          transitionConflict(field, record[field], from),
        );
        return {};
      },
    };
  }

  markDelete({ result, summary }: ResultOption = {}): ActionDefinition {
    this.requireSoftDelete('mark_delete');
    return {
      summary: summary ?? `Delete a ${this.spec.name} (soft: it disappears from every read)`,
      params: { _id: 'M object_id' },
      result: result ?? OK_RESULT,
      envelope: 'ok_result',
      handler: async ({ _id }, ctx) => {
        const id = _id as ObjectId;
        await this.refuseIfReferenced(ctx.db, [id]);
        const now = new Date();
        await this.model.updateChecked(ctx.db, { _id: id }, { $set: { [DELETED_AT]: now } });
        // a record created meanwhile may point at this one: whoever writes second sees the other and backs out
        await this.restoreIfReferenced(ctx.db, [id], now);
        return {};
      },
    };
  }

  batchMark({ field = 'state', from, to, result, summary }: ResultOption & { field?: string; from: unknown[]; to: unknown }): ActionDefinition {
    this.requireField(field);
    return {
      summary: summary ?? `Set ${field} to ${String(to)} on every listed ${this.spec.name} whose ${field} is ${from.join(' or ')}`,
      params: { _ids: `M list<object_id>(1,${MAX_BATCH})` },
      result: result ?? BATCH_RESULT,
      envelope: 'ok_result',
      handler: async ({ _ids }, ctx) => {
        const outcome = await this.model
          .collection(ctx.db)
          .updateMany(this.model.live({ _id: { $in: _ids as ObjectId[] }, [field]: { $in: from } }), {
            $set: { [field]: to, updated_at: new Date() },
          });
        return { matched_count: outcome.matchedCount, modified_count: outcome.modifiedCount };
      },
    };
  }

  batchMarkDelete({ result, summary }: ResultOption = {}): ActionDefinition {
    this.requireSoftDelete('batch_delete');
    return {
      summary: summary ?? `Delete every listed ${this.spec.name} (soft); refused as a whole if one is still referenced`,
      params: { _ids: `M list<object_id>(1,${MAX_BATCH})` },
      result: result ?? BATCH_RESULT,
      envelope: 'ok_result',
      handler: async ({ _ids }, ctx) => {
        const ids = _ids as ObjectId[];
        await this.refuseIfReferenced(ctx.db, ids);
        const now = new Date();
        const outcome = await this.model
          .collection(ctx.db)
          .updateMany(this.model.live({ _id: { $in: ids } }), { $set: { [DELETED_AT]: now, updated_at: now } });
        await this.restoreIfReferenced(ctx.db, ids, now);
        return { matched_count: outcome.matchedCount, modified_count: outcome.modifiedCount };
      },
    };
  }

  batchCreate({ result, summary }: ResultOption = {}): ActionDefinition {
    return {
      summary:
        summary ??
        `Create up to ${MAX_BATCH} ${this.spec.name} records; all are checked first and either all are written or none (atomic: false creates the valid ones)`,
      params: { docs: { type: `M list<dict>(1,${MAX_BATCH})`, fields: { _id: DOC_ID_PARAM, ...this.spec.fields } }, atomic: ATOMIC_PARAM },
      itemwise: true,
      result: result ?? BATCH_CREATE_RESULT,
      envelope: 'ok_result',
      handler: async (params, ctx) => {
        if (params.atomic === false) {
          return await createItemwise(params, { model: this.model, db: ctx.db, uniqueFields: this.uniqueFields, defaults: this.spec.defaults });
        }
        const docs = (params.docs as Document[]).map((doc) => ({ ...this.spec.defaults, ...doc }));
        const path = (i: number, field: string) => `docs[${i}].${field}`;
        await this.requireReferences(ctx.db, docs, path);
        await this.requireUnique(ctx.db, docs, path, []);
        if (docs.some((doc) => doc._id !== undefined)) await requireFreeIds(this.model, ctx.db, docs, path);
        const now = new Date();
        const ids = docs.map((doc) => (doc._id as ObjectId | undefined) ?? new ObjectId());
        const rows = docs.map((doc, i) => ({ ...doc, _id: ids[i], created_at: now, updated_at: now }));
        try {
          await this.model.collection(ctx.db).insertMany(rows, { ordered: true });
        } catch (err) {
          // created_at: only what this call wrote, never a record that already had one of the given ids
          await this.model.collection(ctx.db).deleteMany({ _id: { $in: ids }, created_at: now });
          throw bulkError(err, path);
        }
        await this.undoIfReferencesVanished(ctx.db, docs, ids, path);
        return { created_count: ids.length, failed_count: 0, _ids: ids, errors: [] };
      },
    };
  }

  batchUpdate({ result, summary }: ResultOption = {}): ActionDefinition {
    return {
      summary: summary ?? `Change up to ${MAX_BATCH} ${this.spec.name} records by _id; all are checked first and either all are written or none`,
      params: { docs: { type: `M list<dict>(1,${MAX_BATCH})`, fields: { _id: 'M object_id', ...this.updatable } } },
      result: result ?? BATCH_RESULT,
      envelope: 'ok_result',
      handler: async (params, ctx) => {
        const docs = params.docs as Array<Document & { _id: ObjectId }>;
        const path = (i: number, field: string) => `docs[${i}].${field}`;
        const changes = docs.map(({ _id, ...rest }) => splitChanges(rest));
        const problems: FieldError[] = [];
        const seen = new Map<string, number>();
        docs.forEach((doc, i) => {
          const key = doc._id.toHexString();
          if (seen.has(key)) problems.push({ field: path(i, '_id'), messages: [`repeats docs[${seen.get(key)}]._id`] });
          seen.set(key, i);
          const change = changes[i] as Change;
          if (Object.keys(change.$set).length + Object.keys(change.$unset).length === 0) {
            problems.push({ field: `docs[${i}]`, messages: ['gives no field to change'] });
          }
        });
        if (problems.length > 0) throw invalidParams(problems);

        const ids = docs.map((doc) => doc._id);
        const before = await this.model.collection(ctx.db).find(this.model.live({ _id: { $in: ids } })).toArray();
        const byId = new Map(before.map((doc) => [(doc._id as ObjectId).toHexString(), doc]));
        const missing = docs.flatMap((doc, i) => (byId.has(doc._id.toHexString()) ? [] : [{ field: path(i, '_id'), messages: [`no ${this.spec.name} with this id`] }]));
        if (missing.length > 0) throw new ApiError('not_found', { message: `${missing.length} of the records do not exist`, fields: missing });
        const sets = changes.map((c) => c.$set);
        await this.requireReferences(ctx.db, sets, path);
        await this.requireUnique(ctx.db, sets, path, ids);

        const now = new Date();
        const operations: AnyBulkWriteOperation[] = docs.map((doc, i) => {
          const change = changes[i] as Change;
          const update: Document = { $set: { ...change.$set, updated_at: now } };
          if (Object.keys(change.$unset).length > 0) update.$unset = change.$unset;
          return { updateOne: { filter: this.model.live({ _id: doc._id }), update } };
        });
        const writes = docs.map((doc, i) => ({ _id: doc._id, change: changes[i] as Change, before: byId.get(doc._id.toHexString()) as Document }));
        let outcome: { matchedCount: number; modifiedCount: number };
        try {
          outcome = await this.model.collection(ctx.db).bulkWrite(operations, { ordered: true });
        } catch (err) {
          // an ordered bulk write stops at the failing doc: what came before it was written
          const failedAt = err instanceof MongoBulkWriteError ? firstWriteErrorIndex(err) : docs.length;
          await this.undoWrites(ctx.db, writes.slice(0, failedAt), now);
          throw bulkError(err, path);
        }
        if (outcome.matchedCount < docs.length) {
          await this.undoWrites(ctx.db, writes, now);
          const live = await this.model.collection(ctx.db).find(this.model.live({ _id: { $in: ids } }), { projection: { _id: 1 } }).toArray();
          const liveIds = new Set(live.map((doc) => (doc._id as ObjectId).toHexString()));
          const gone = docs.flatMap((doc, i) => (liveIds.has(doc._id.toHexString()) ? [] : [{ field: path(i, '_id'), messages: [`no ${this.spec.name} with this id`] }]));
          throw new ApiError('not_found', { message: `${gone.length} of the records were deleted meanwhile`, fields: gone });
        }
        const vanished = await this.model.missingReferences(ctx.db, sets, path);
        if (vanished.length > 0) {
          await this.undoWrites(ctx.db, writes, now);
          throw invalidParams(vanished);
        }
        return { matched_count: outcome.matchedCount, modified_count: outcome.modifiedCount };
      },
    };
  }

  // ---- shared checks ----

  private requireField(field: string): void {
    if (!(field in this.spec.fields)) throw new DeclarationError('', `${field}: not a declared field`, 'bad_action');
  }

  private requireSoftDelete(action: string): void {
    if (!this.model.softDelete) throw new DeclarationError('', `${action} needs softDelete: true`, 'bad_action');
  }

  private async requireReferences(db: Db, docs: Document[], path: (i: number, field: string) => string): Promise<void> {
    const errors = await this.model.missingReferences(db, docs, path);
    if (errors.length > 0) throw invalidParams(errors);
  }

  /** After a write: if a referenced record was deleted meanwhile, take back what was inserted and refuse. */
  private async undoIfReferencesVanished(db: Db, docs: Document[], insertedIds: ObjectId[], path: (i: number, field: string) => string): Promise<void> {
    if (this.model.references.length === 0) return;
    const errors = await this.model.missingReferences(db, docs, path);
    if (errors.length === 0) return;
    if (insertedIds.length > 0) await this.model.collection(db).deleteMany({ _id: { $in: insertedIds } });
    throw invalidParams(errors);
  }

  /** 409 when any of `ids` is still referenced, naming each (`_id`, or `_ids[i]` in a batch). */
  private async refuseIfReferenced(db: Db, ids: ObjectId[]): Promise<void> {
    const error = await this.referencedError(db, ids);
    if (error) throw error;
  }

  /** After deleting `ids`: if one got referenced meanwhile, undelete all of them (all or nothing) and refuse. */
  private async restoreIfReferenced(db: Db, ids: ObjectId[], deletedAt: Date): Promise<void> {
    const error = await this.referencedError(db, ids);
    if (!error) return;
    await this.model.collection(db).updateMany({ _id: { $in: ids }, [DELETED_AT]: deletedAt }, { $unset: { [DELETED_AT]: '' } });
    throw error;
  }

  private async referencedError(db: Db, ids: ObjectId[]): Promise<ApiError | null> {
    const fields: FieldError[] = [];
    let first: { id: ObjectId; resource: string; field: string } | undefined;
    for (const [index, id] of ids.entries()) {
      const referrer = await this.model.findReferrer(db, id);
      if (!referrer) continue;
      first ??= { id, ...referrer };
      fields.push({ field: ids.length === 1 ? '_id' : `_ids[${index}]`, messages: [`still referenced by ${referrer.resource}`] });
    }
    if (!first) return null;
    return new ApiError('conflict', {
      message: `${this.spec.name} ${first.id.toHexString()} is still referenced by ${first.resource}.${first.field}`,
      zhMessage: '该记录仍被引用，无法删除',
      fields,
    });
  }

  /** Values of single-field unique indexes must differ within the batch and from other stored records. */
  private async requireUnique(db: Db, docs: Document[], path: (i: number, field: string) => string, ownIds: ObjectId[]): Promise<void> {
    const errors: FieldError[] = [];
    for (const field of this.uniqueFields) {
      const firstAt = new Map<string, number>();
      docs.forEach((doc, i) => {
        const value = doc[field];
        if (value === undefined || value === null) return;
        const key = JSON.stringify(value);
        const first = firstAt.get(key);
        if (first === undefined) firstAt.set(key, i);
        else errors.push({ field: path(i, field), messages: [`repeats ${path(first, field)}`] });
      });
      const values = docs.map((doc) => doc[field]).filter((v) => v !== undefined && v !== null);
      if (values.length === 0) continue;
      const taken = await this.model
        .collection(db)
        .find({ [field]: { $in: values }, _id: { $nin: ownIds } }, { projection: { [field]: 1 } })
        .toArray();
      const takenValues = new Set(taken.map((doc) => JSON.stringify(doc[field])));
      docs.forEach((doc, i) => {
        if (takenValues.has(JSON.stringify(doc[field]))) errors.push({ field: path(i, field), messages: ['is already taken'] });
      });
    }
    if (errors.length > 0) {
      throw new ApiError('conflict', { message: 'Duplicate values in the batch', zhMessage: '数据重复，违反唯一约束', fields: errors });
    }
  }

  /**
   * Puts back the fields our writes changed, from the before-images — only on records that still carry our write
   * (`updated_at` is the time we wrote): a change someone made since is never overwritten.
   */
  private async undoWrites(db: Db, writes: Array<{ _id: ObjectId; change: Change; before: Document }>, writtenAt: Date): Promise<void> {
    if (writes.length === 0) return;
    const operations: AnyBulkWriteOperation[] = writes.map(({ _id, change, before }) => {
      const $set: Document = { updated_at: before.updated_at };
      const $unset: Document = {};
      for (const field of [...Object.keys(change.$set), ...Object.keys(change.$unset)]) {
        if (before[field] === undefined) $unset[field] = '';
        else $set[field] = before[field];
      }
      return { updateOne: { filter: { _id, updated_at: writtenAt }, update: Object.keys($unset).length > 0 ? { $set, $unset } : { $set } } };
    });
    await this.model.collection(db).bulkWrite(operations, { ordered: false });
  }
}

/** What one update sets and removes. */
type Change = { $set: Document; $unset: Document };

function firstWriteErrorIndex(err: MongoBulkWriteError): number {
  const first = Array.isArray(err.writeErrors) ? err.writeErrors[0] : err.writeErrors;
  return first?.index ?? 0;
}

function splitChanges(changes: Params): Change {
  const $set: Document = {};
  const $unset: Document = {};
  for (const [field, value] of Object.entries(changes)) {
    if (value === null) $unset[field] = '';
    else $set[field] = value;
  }
  return { $set, $unset };
}

function transitionConflict(field: string, current: unknown, from: unknown[]): ApiError {
  return new ApiError('conflict', {
    message: `${field} is ${JSON.stringify(current)}; this action needs ${from.map((v) => JSON.stringify(v)).join(' or ')}`,
    zhMessage: '当前状态不允许此操作',
    fields: [{ field, messages: [`is ${JSON.stringify(current)}`] }],
  });
}

/** A failed insertMany/bulkWrite as an API error naming the doc (`docs[3].phone`). */
function bulkError(err: unknown, path: (i: number, field: string) => string): ApiError {
  if (err instanceof MongoBulkWriteError && isDuplicateKeyError(err)) {
    return toApiError(err, path(firstWriteErrorIndex(err), ''));
  }
  return toApiError(err);
}
