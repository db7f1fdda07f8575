import type { Db } from 'mongodb';
import { collectionOf } from '../core/db.js';
import { passports } from '../resources/passport/fields.js';
import { canonicalBytes, cidOf, contentAddress, publishedDocument } from './canonical.js';
import { LEDGER_COLLECTION, LocalPublisher } from './publisher.js';

/** One check of `passport verify` and whether it held. */
export interface VerifyCheck {
  check: string;
  ok: boolean;
  detail: string;
}

/** What `passport verify <internal_id>` found. */
export interface PassportVerifyReport {
  internal_id: string;
  ok: boolean;
  checks: VerifyCheck[];
}

/**
 * Recomputes the CID of a published passport from its stored record and compares it with passport_ipfs_cid; with
 * the local publisher it also re-hashes the bytes in the content store and checks the ledger record.
 */
export async function verifyPassport(db: Db, internalId: string, options: { local: boolean }): Promise<PassportVerifyReport> {
  const checks: VerifyCheck[] = [];
  const add = (check: string, ok: boolean, detail: string) => checks.push({ check, ok, detail });
  const passport = await passports(db).findOne({ internal_id: internalId, deleted_at: null });
  if (!passport) {
    add('passport', false, 'no passport with this internal_id');
    return { internal_id: internalId, ok: false, checks };
  }
  const stored = passport.passport_ipfs_cid as string | undefined;
  if (!stored) {
    add('published', false, `the passport has no passport_ipfs_cid (status ${String(passport.status)})`);
    return { internal_id: internalId, ok: false, checks };
  }
  const { cid } = await contentAddress(passport);
  add('cid', cid === stored, cid === stored ? `recomputed ${cid}` : `recomputed ${cid}, stored ${stored}`);
  if (options.local) {
    const bytes = await new LocalPublisher(db).fetch(stored);
    if (!bytes) add('content', false, 'the content store has nothing under this CID');
    else {
      const rehashed = await cidOf(bytes);
      const same = Buffer.from(bytes).equals(Buffer.from(canonicalBytes(publishedDocument(passport))));
      add(
        'content',
        rehashed === stored && same,
        rehashed !== stored
          ? `the stored bytes hash to ${rehashed}`
          : same
            ? 'the stored document hashes to the CID and matches the passport'
            : 'the stored document differs from the passport',
      );
    }
    const records = await collectionOf(db, LEDGER_COLLECTION).find({ _id: passport._id }).toArray();
    const record = records[0];
    const fits = records.length === 1 && record?.cid === stored && record?.txn_hash === passport.txn_hash;
    add('ledger', fits, record ? `record ${String(record.txn_hash)} for ${String(record.cid)}` : 'no ledger record');
  }
  if (passport.status !== 'finalized') add('status', false, `status is ${String(passport.status)}, not finalized (publishing unfinished)`);
  return { internal_id: internalId, ok: checks.every((c) => c.ok), checks };
}
