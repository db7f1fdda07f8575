import type { Collection, Db, Document, Filter, ObjectId, UpdateFilter, UpdateResult } from 'mongodb';
import { collectionOf } from './db.js';
import { ApiError, apiError } from './errors.js';
import { findBounded } from './find-command.js';
import { ownedFilter, stampOwner } from './ownership.js';

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
  /** The field holding the id of the user a record belongs to (ownership.ts), and the resource of the users. */
  owner?: { field: string; resource: string };
}

/** The field that marks a soft-deleted record. */
export const DELETED_AT = 'deleted_at';

/**
 * Data access shared by all resources: the collection, the soft-delete filter, load-or-404, the conditional update
 * that reports when nothing matched (the seed's `check_updated_state`); reference checks are in reference-guard.ts.
 */
export class Model {
  readonly name: string;
  readonly collectionName: string;
  readonly softDelete: boolean;
  readonly references: Reference[];
  /** The owner field (ownership.ts): a user caller reads and writes only the records that carry their id in it. */
  readonly ownerField: string | undefined;
  /** The resource whose records own this one's (`user`). */
  readonly ownerResource: string | undefined;
  /** Resources whose records this one's own (the users' resource: what deleting a user deletes); filled by `link`. */
  readonly owns: Array<{ model: Model; field: string }> = [];
  /** Resources whose records point at this one; filled by `link`. */
  readonly referencedBy: Array<{ model: Model; field: string }> = [];
  /** The referenced model of each reference field; filled by `link`. */
  readonly targets = new Map<string, Model>();

  constructor(options: ModelOptions) {
    this.name = options.name;
    this.collectionName = options.collection;
    this.softDelete = options.softDelete;
    this.references = options.references;
    this.ownerField = options.owner?.field;
    this.ownerResource = options.owner?.resource;
  }

  /** Resolves references by resource name once every model exists (at startup). */
  link(models: ReadonlyMap<string, Model>): void {
    for (const ref of this.references) {
      const target = models.get(ref.resource);
      if (!target) throw new Error(`resource ${this.name}: ${ref.field} references unknown resource "${ref.resource}"`);
      this.targets.set(ref.field, target);
      target.referencedBy.push({ model: this, field: ref.field });
    }
    if (this.ownerResource !== undefined) {
      const owner = models.get(this.ownerResource);
      if (!owner) throw new Error(`resource ${this.name}: owner references unknown resource "${this.ownerResource}"`);
      owner.owns.push({ model: this, field: this.ownerField as string });
    }
  }

  collection<T extends Document = Document>(db: Db): Collection<T> {
    return collectionOf<T>(db, this.collectionName);
  }

  /** The filter restricted to records that are not soft-deleted (and, for a user caller, to their own: ownership.ts). */
  live<T extends Document = Document>(filter: Filter<T>): Filter<T> {
    const scoped = this.scoped(filter);
    return this.softDelete ? ({ ...scoped, [DELETED_AT]: null } as Filter<T>) : scoped;
  }

  /** The filter restricted, for a user caller, to their own records (deleted ones included). */
  scoped<T extends Document = Document>(filter: Filter<T>): Filter<T> {
    return ownedFilter(this.ownerField, filter as Document) as Filter<T>;
  }

  /** A new record as it is stored: with its owner when a user creates it. */
  stamped<T extends Document>(doc: T): T {
    return stampOwner(this.ownerField, doc);
  }

  /** The live record with this id, or `not_found`. */
  async loadOr404<T extends Document = Document>(db: Db, id: ObjectId, projection?: Document): Promise<T> {
    const [record] = await findBounded(db, this.collectionName, { filter: this.live({ _id: id }), projection, limit: 1 });
    if (!record) throw apiError('record_not_found', { resource: this.name, id: id.toHexString() });
    return record as unknown as T;
  }

  /** Inserts with created_at/updated_at set (and `_id` when given); returns the new id. */
  async insert(db: Db, doc: Document, now = new Date(), _id?: ObjectId): Promise<ObjectId> {
    const result = await this.collection(db).insertOne(this.stamped({ ...doc, created_at: now, updated_at: now, ...(_id ? { _id } : {}) }));
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
  async updateCheckedBefore(
    db: Db,
    filter: Filter<Document> & { _id: ObjectId },
    update: UpdateFilter<Document>,
    now: Date,
  ): Promise<Document> {
    const before = await this.collection(db).findOneAndUpdate(this.live(filter), withUpdatedAt(update, now), { returnDocument: 'before' });
    return before ?? (await this.explainNoMatch(db, filter._id, () => new ApiError('conflict')));
  }

  private async explainNoMatch(db: Db, id: ObjectId, whenGuardFails: (record: Document) => ApiError): Promise<never> {
    const record = await this.collection(db).findOne(this.live({ _id: id }));
    if (!record) throw apiError('record_not_found', { resource: this.name, id: id.toHexString() });
    throw whenGuardFails(record);
  }
}

/** Adds `$set.updated_at` to an update document. */
function withUpdatedAt(update: UpdateFilter<Document>, now = new Date()): UpdateFilter<Document> {
  return { ...update, $set: { ...(update.$set ?? {}), updated_at: now } };
}
