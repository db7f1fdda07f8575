import { AsyncLocalStorage } from 'node:async_hooks';
import { ObjectId, type Document } from 'mongodb';
import type { Caller } from './callers.js';

/**
 * Row-level ownership (DESIGN.md §9). A resource declares an owner field (`owner: 'user_id'`); while an action runs
 * for a user caller, every query that goes through `Model.live` — get, find, find_one, select, update, mark, batch,
 * delete and the reference checks — carries `{<owner field>: <the caller's id>}`, and every insert stamps it. So a
 * handler cannot forget the scope, and another user's id matches nothing: 404, existence not revealed.
 *
 * Why a request-scoped store and not a parameter: the scope has to reach every query of the standard actions, the
 * reference guard and custom handlers alike; threading the caller through each Model call would leave one call site
 * free to forget it. Service callers (API keys), background work and the CLI run outside the store: they see all.
 */

/** The user whose records the current action may touch. */
interface OwnerScope {
  ownerId: ObjectId;
}

const scope = new AsyncLocalStorage<OwnerScope>();

/** Runs `work` scoped to the caller's own records when the caller is a user; as it is otherwise. */
export function runAsCaller<T>(caller: Caller, work: () => Promise<T>): Promise<T> {
  if (caller.kind !== 'user' || caller.id === null) return work();
  return scope.run({ ownerId: new ObjectId(caller.id) }, work);
}

/** The owner id the current action is scoped to, or undefined (service caller, background work). */
export function currentOwner(): ObjectId | undefined {
  return scope.getStore()?.ownerId;
}

/** `filter` narrowed to the current user's records when `ownerField` is declared and a user is calling. */
export function ownedFilter<T extends Document>(ownerField: string | undefined, filter: T): T {
  if (ownerField === undefined) return filter;
  const owner = currentOwner();
  return owner === undefined ? filter : { ...filter, [ownerField]: owner };
}

/** `doc` with the owner field set to the current user (a user never creates a record for someone else). */
export function stampOwner<T extends Document>(ownerField: string | undefined, doc: T): T {
  if (ownerField === undefined) return doc;
  const owner = currentOwner();
  return owner === undefined ? doc : { ...doc, [ownerField]: owner };
}
