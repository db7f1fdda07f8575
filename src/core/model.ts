import type { Collection, Db, Document, Filter, ObjectId, UpdateFilter, UpdateResult } from 'mongodb';
import { collectionOf } from './db.js';
import { ApiError, type FieldError } from './errors.js';

/** A field that holds the id of a record of another resource (`references: {group_id: 'group'}`). */
export interface Reference {
  field: string;
  resource: string;
}

export interface ModelOptions {
  name: string;
  collection: string;
  /** Soft-deleted records carry `deleted_at` and count as absent everywhere. */
  softDelete: boolean;
  references: Reference[];
}

/** The field that marks a soft-deleted record. */
export const DELETED_AT = 'deleted_at';

/**
 * Data access shared by all resources: the collection, the soft-delete filter, load-or-404, the conditional update
 * that reports when nothing matched (the seed's `check_updated_state`), and referential checks.
 */
export class Model {
  readonly name: string;
  readonly collectionName: string;
  readonly softDelete: boolean;
  readonly references: Reference[];
  /** Resources whose records point at this one; filled by `link`. */
  private referencedBy: Array<{ model: Model; field: string }> = [];
  private targets = new Map<string, Model>();

  constructor(options: ModelOptions) {
    this.name = options.name;
    this.collectionName = options.collection;
    this.softDelete = options.softDelete;
    this.references = options.references;
  }

  /** Resolves references by resource name once every model exists (at startup). */
  link(models: ReadonlyMap<string, Model>): void {
    for (const ref of this.references) {
      const target = models.get(ref.resource);
      if (!target) throw new Error(`resource ${this.name}: ${ref.field} references unknown resource "${ref.resource}"`);
      this.targets.set(ref.field, target);
      target.referencedBy.push({ model: this, field: ref.field });
    }
  }

  collection<T extends Document = Document>(db: Db): Collection<T> {
    return collectionOf<T>(db, this.collectionName);
  }

  /** The filter restricted to records that are not soft-deleted. */
  live<T extends Document = Document>(filter: Filter<T>): Filter<T> {
    return this.softDelete ? ({ ...filter, [DELETED_AT]: null } as Filter<T>) : filter;
  }

  /** The live record with this id, or `not_found`. */
  async loadOr404<T extends Document = Document>(db: Db, id: ObjectId, projection?: Document): Promise<T> {
    const record = await this.collection(db).findOne(this.live({ _id: id }), projection ? { projection } : {});
    if (!record) throw new ApiError('not_found', { message: `${this.name} ${id.toHexString()} not found` });
    return record as unknown as T;
  }

  /** Inserts with created_at/updated_at set; returns the new id. */
  async insert(db: Db, doc: Document, now = new Date()): Promise<ObjectId> {
    const result = await this.collection(db).insertOne({ ...doc, created_at: now, updated_at: now });
    return result.insertedId;
  }

  /**
   * One conditional update of one live record (`filter` must hold `_id`), updated_at maintained. When nothing
   * matched: `not_found` if the record is absent, else the error `whenGuardFails` gives (default `conflict`).
   */
  async updateChecked(
    db: Db,
    filter: Filter<Document> & { _id: ObjectId },
    update: UpdateFilter<Document>,
    whenGuardFails: (record: Document) => ApiError = () => new ApiError('conflict'),
  ): Promise<UpdateResult> {
    const result = await this.collection(db).updateOne(this.live(filter), withUpdatedAt(update));
    if (result.matchedCount === 1) return result;
    return await this.explainNoMatch(db, filter._id, whenGuardFails);
  }

  /** updateChecked that also returns the record as it was, to put it back if a later check fails. */
  async updateCheckedBefore(db: Db, filter: Filter<Document> & { _id: ObjectId }, update: UpdateFilter<Document>, now: Date): Promise<Document> {
    const before = await this.collection(db).findOneAndUpdate(this.live(filter), withUpdatedAt(update, now), { returnDocument: 'before' });
    return before ?? (await this.explainNoMatch(db, filter._id, () => new ApiError('conflict')));
  }

  private async explainNoMatch(db: Db, id: ObjectId, whenGuardFails: (record: Document) => ApiError): Promise<never> {
    const record = await this.collection(db).findOne(this.live({ _id: id }));
    if (!record) throw new ApiError('not_found', { message: `${this.name} ${id.toHexString()} not found` });
    throw whenGuardFails(record);
  }

  /**
   * Field errors for references in `docs` that do not name a live record: one `$in` per reference field for the
   * whole batch. `fieldPath(i, field)` names the offending field (e.g. `docs[3].group_id`).
   */
  async missingReferences(db: Db, docs: readonly Document[], fieldPath: (index: number, field: string) => string): Promise<FieldError[]> {
    const errors: FieldError[] = [];
    for (const [field, target] of this.targets) {
      const wanted = docs.map((doc) => doc[field] as ObjectId | null | undefined);
      const ids = [...new Map(wanted.filter((id): id is ObjectId => id != null).map((id) => [id.toHexString(), id])).values()];
      if (ids.length === 0) continue;
      const found = await target
        .collection(db)
        .find(target.live({ _id: { $in: ids } }), { projection: { _id: 1 } })
        .toArray();
      const present = new Set(found.map((doc) => (doc._id as ObjectId).toHexString()));
      wanted.forEach((id, index) => {
        if (id != null && !present.has(id.toHexString())) {
          errors.push({ field: fieldPath(index, field), messages: [`no ${target.name} with this id`] });
        }
      });
    }
    return errors;
  }

  /** The first resource/field whose live records still point at `id`, or null. */
  async findReferrer(db: Db, id: ObjectId): Promise<{ resource: string; field: string } | null> {
    for (const { model, field } of this.referencedBy) {
      const referrer = await model.collection(db).findOne(model.live({ [field]: id }), { projection: { _id: 1 } });
      if (referrer) return { resource: model.name, field };
    }
    return null;
  }
}

/** Adds `$set.updated_at` to an update document. */
function withUpdatedAt(update: UpdateFilter<Document>, now = new Date()): UpdateFilter<Document> {
  return { ...update, $set: { ...(update.$set ?? {}), updated_at: now } };
}
