import type { Db, ObjectId } from 'mongodb';
import { collectionOf } from '../core/db.js';
import { isDuplicateKeyError } from '../core/errors.js';
import { ledgerHash } from './canonical.js';
import type { PublishingConfig } from './config.js';

/** The content store of the local publisher: canonical bytes by CID. */
export const CONTENT_COLLECTION = 'passport_content';
/** The local ledger (the seed's Robonomics datalog): one record per passport. */
export const LEDGER_COLLECTION = 'passport_ledger';

/** One ledger entry: the CID of a passport's published document. */
export interface LedgerEntry {
  passport_id: ObjectId;
  internal_id: string;
  cid: string;
}

/**
 * Where a passport is published. Both steps must be idempotent: the publish job repeats a step after a crash or a
 * timeout, and repeating it must neither store a second document nor write a second record.
 */
export interface Publisher {
  /** Stores the canonical bytes under their CID (the same CID again changes nothing). */
  store(cid: string, bytes: Uint8Array): Promise<void>;
  /** Writes the ledger record of the passport (once per passport) and returns its transaction hash. */
  record(entry: LedgerEntry): Promise<string>;
}

interface ContentDoc {
  _id: string;
  /** The canonical bytes as text (DAG-JSON is UTF-8 JSON), readable in the database and exact on the way back. */
  json: string;
  stored_at: Date;
}

interface LedgerDoc {
  _id: ObjectId;
  internal_id: string;
  cid: string;
  txn_hash: string;
  recorded_at: Date;
}

/** The default publisher: a content store and a ledger in our own database, so every CID can be resolved and re-verified. */
export class LocalPublisher implements Publisher {
  constructor(private readonly db: Db) {}

  async store(cid: string, bytes: Uint8Array): Promise<void> {
    // content-addressed: the id is the hash of the bytes, so an upsert that only inserts is the whole idempotency
    await collectionOf<ContentDoc>(this.db, CONTENT_COLLECTION).updateOne(
      { _id: cid },
      { $setOnInsert: { json: new TextDecoder().decode(bytes), stored_at: new Date() } },
      { upsert: true },
    );
  }

  async record(entry: LedgerEntry): Promise<string> {
    const ledger = collectionOf<LedgerDoc>(this.db, LEDGER_COLLECTION);
    const txn_hash = ledgerHash(entry.internal_id, entry.cid);
    try {
      // keyed by the passport: a second record for it collides on _id
      await ledger.insertOne({ _id: entry.passport_id, internal_id: entry.internal_id, cid: entry.cid, txn_hash, recorded_at: new Date() });
      return txn_hash;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      const existing = await ledger.findOne({ _id: entry.passport_id });
      if (!existing || existing.cid !== entry.cid)
        throw new Error(`passport ${entry.internal_id} already has a ledger record for another CID`);
      return existing.txn_hash;
    }
  }

  /** The stored bytes of a CID, or null. */
  async fetch(cid: string): Promise<Uint8Array | null> {
    const doc = await collectionOf<ContentDoc>(this.db, CONTENT_COLLECTION).findOne({ _id: cid });
    return doc ? new TextEncoder().encode(doc.json) : null;
  }
}

/**
 * A Feecc IPFS gateway over HTTP: `POST /ipfs` with the canonical bytes answers `{"cid": "..."}` (which must be the
 * CID we computed), `POST /datalog` with `{cid, internal_id}` answers `{"txn_hash": "..."}`. Each call carries an
 * `Idempotency-Key` (the CID, the passport id) so the gateway can answer a repeat without a second effect.
 */
export class HttpPublisher implements Publisher {
  constructor(private readonly options: { url: string; timeoutMs: number }) {}

  async store(cid: string, bytes: Uint8Array): Promise<void> {
    const answer = await this.post('/ipfs', cid, bytes);
    if (answer.cid !== cid) throw new Error(`the gateway stored the passport as ${String(answer.cid)}, not ${cid}`);
  }

  async record(entry: LedgerEntry): Promise<string> {
    const answer = await this.post(
      '/datalog',
      entry.passport_id.toHexString(),
      new TextEncoder().encode(JSON.stringify({ cid: entry.cid, internal_id: entry.internal_id })),
    );
    if (typeof answer.txn_hash !== 'string' || answer.txn_hash === '') throw new Error('the gateway answered without a txn_hash');
    return answer.txn_hash;
  }

  private async post(path: string, key: string, body: Uint8Array): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.options.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body,
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    if (!res.ok) throw new Error(`gateway ${path} answered HTTP ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  }
}

/** The publisher the configuration names. */
export function createPublisher(db: Db, gateway: PublishingConfig['gateway']): Publisher {
  return gateway.kind === 'http' ? new HttpPublisher(gateway) : new LocalPublisher(db);
}
