import { createHash } from 'node:crypto';
import * as dagJson from '@ipld/dag-json';
import type { Document } from 'mongodb';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';

/**
 * What a published passport says: its content fields, not its workflow (status), not what publishing adds
 * (passport_ipfs_cid, txn_hash) and not bookkeeping (is_in_db, timestamps, ids of our database).
 */
const CONTENT_FIELDS = [
  'schema_id',
  'uuid',
  'internal_id',
  'passport_short_url',
  'featured_in_int_id',
  'biography',
  'components_internal_ids',
  'model',
  'date',
  'type',
  'parential_unit',
  'serial_number',
] as const;

/** The published form of a passport as plain JSON: dates as ISO 8601 strings, absent and null values left out. */
export function publishedDocument(passport: Document): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  for (const field of CONTENT_FIELDS) {
    const value = plain(passport[field]);
    if (value !== undefined) doc[field] = value;
  }
  return doc;
}

function plain(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => plain(item) ?? null);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const converted = plain(item);
      if (converted !== undefined) out[key] = converted;
    }
    return out;
  }
  return value;
}

/** The canonical bytes of a document: DAG-JSON (sorted keys, no whitespace), as IPFS stores it. */
export function canonicalBytes(doc: Record<string, unknown>): Uint8Array {
  return dagJson.encode(doc);
}

/** The IPFS content address of canonical bytes: CIDv1, dag-json codec, sha2-256, base32 text. */
export async function cidOf(bytes: Uint8Array): Promise<string> {
  return CID.create(1, dagJson.code, await sha256.digest(bytes)).toString();
}

/** The document's canonical bytes and CID in one step. */
export async function contentAddress(passport: Document): Promise<{ bytes: Uint8Array; cid: string }> {
  const bytes = canonicalBytes(publishedDocument(passport));
  return { bytes, cid: await cidOf(bytes) };
}

/** The hash of a local ledger record: the same passport and CID always give the same hash. */
export function ledgerHash(internalId: string, cid: string): string {
  return `0x${createHash('sha256')
    .update(canonicalBytes({ cid, internal_id: internalId }))
    .digest('hex')}`;
}
