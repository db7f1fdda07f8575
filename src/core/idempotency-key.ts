import { createHash, randomBytes } from 'node:crypto';
import { ObjectId } from 'mongodb';
import { apiError } from './errors.js';

/**
 * The pure half of Idempotency-Key (Stripe's conventions): the header's format, the caller it is scoped to, the
 * fingerprint of the params it was first used with, and the write plan a keyed request hands its handler.
 */

/** 1..255 printable ASCII characters (space to tilde), as Stripe takes it. */
const KEY_FORMAT = /^[\x20-\x7e]{1,255}$/;

/** The header's name, as requests send it and the OpenAPI documents it. */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
/** The header set on an answer that was stored by an earlier request with the same key. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';

/** Whether an action honours the header: every write action that is not public and does not opt out. */
export function isKeyed(action: { access: 'read' | 'write'; public: boolean; definition: { idempotent?: false } }): boolean {
  return action.access === 'write' && !action.public && action.definition.idempotent !== false;
}

/** Throws 400 `invalid_params` (naming the header) when the key is not 1..255 printable ASCII characters. */
export function checkIdempotencyKey(key: string): void {
  if (!KEY_FORMAT.test(key)) {
    throw apiError(
      'bad_idempotency_key',
      {},
      { fields: [{ field: IDEMPOTENCY_HEADER, messages: ['must be 1 to 255 printable ASCII characters'] }] },
    );
  }
}

/** A hash of the converted params that does not depend on the order of their keys. */
export function paramsFingerprint(params: unknown): string {
  return createHash('sha256').update(canonical(params)).digest('base64url');
}

function canonical(value: unknown): string {
  if (value === undefined) return 'u';
  if (value === null || typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') {
    return JSON.stringify(value);
  }
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof ObjectId) return `oid(${value.toHexString()})`;
  if (value instanceof Date) return `date(${Number.isNaN(value.getTime()) ? 'invalid' : value.toISOString()})`;
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return `${typeof value}(${String(value)})`;
}

/**
 * What a write will use, fixed before it runs: the time its records are stamped with and the ids of the records it
 * creates. A keyed request takes both from its key record, so a retry after a crash writes the same records again
 * (and finds the ones already written) instead of new ones.
 */
export interface WritePlan {
  /** `created_at` / `updated_at` of the records this request creates. */
  readonly now: Date;
  /** The id of the next record this request creates (the same sequence on every attempt of one key). */
  newId(): ObjectId;
  /** An earlier attempt of this key died while running: some of its records may exist already. */
  readonly resumed: boolean;
}

/** The plan of a request without a key: now, fresh ids. */
export function freshWritePlan(): WritePlan {
  return { now: new Date(), newId: () => new ObjectId(), resumed: false };
}

/**
 * A new seed for the ids of one key: its first 4 bytes the time (ids still sort by creation), 5 random bytes of
 * its own (an ObjectId's random part is the process's, shared with every id the process makes), a zero counter.
 */
export function newIdSeed(now: Date): ObjectId {
  const bytes = Buffer.alloc(12);
  bytes.writeUInt32BE(Math.floor(now.getTime() / 1000), 0);
  randomBytes(5).copy(bytes, 4);
  return new ObjectId(bytes);
}

/** The plan of one attempt of a key: the i-th created record gets the seed with counter i. */
export function seededWritePlan(seed: ObjectId, now: Date, resumed: boolean): WritePlan {
  const base = Buffer.from(seed.id);
  let next = 0;
  return {
    now,
    resumed,
    newId() {
      const bytes = Buffer.from(base);
      bytes.writeUIntBE(next++ & 0xffffff, 9, 3);
      return new ObjectId(bytes);
    },
  };
}
