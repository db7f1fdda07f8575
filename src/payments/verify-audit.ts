import type { Db, ObjectId } from 'mongodb';
import { type AuditRecord, auditRecords, recordsOfOutbox } from './audit.js';
import { wallets } from './collections.js';
import { SNAPSHOT_ATTEMPTS } from './ledger-view.js';

/** What replaying the audit trail found (`wallet verify`'s "audit" part). */
export interface AuditReplay {
  /** Wallets whose records replay, change by change from nothing, to their balance and frozen money now. */
  wallets_replayed: number;
  /** Records read (those still in wallets' outboxes included). */
  records: number;
  /** Wallets with no trail at all (made before the trail existed, or written around the engine). */
  unaudited: number;
  problems: Array<{ wallet_id: string; detail: string }>;
}

type AuditedWallet = {
  _id: ObjectId;
  balance_money: unknown;
  frozen_money: unknown;
  state: number;
  audit_seq?: number;
  audit_outbox?: never[];
};
const FIELDS = { balance_money: 1, frozen_money: 1, state: 1, audit_seq: 1, audit_outbox: 1 } as const;

/**
 * Replays every wallet's audit trail: its records in `seq` order must be 1…audit_seq without a gap, start with the
 * create from nothing, each `before` the previous `after`, and the last `after` the wallet's money now. Records
 * still in the wallet's outbox count as written (they are, in the same update as their change). One pass over the
 * wallets and one over the records in index order; a wallet that moved between the two is replayed again alone,
 * from its records read between two identical reads of it.
 */
export async function replayAudit(db: Db): Promise<AuditReplay> {
  const replay: AuditReplay = { wallets_replayed: 0, records: 0, unaudited: 0, problems: [] };
  const byId = new Map<string, AuditedWallet>();
  for await (const wallet of wallets(db).find({}, { projection: FIELDS }) as AsyncIterable<AuditedWallet>)
    byId.set(wallet._id.toHexString(), wallet);
  const trails = new Map<string, AuditRecord[]>();
  for await (const record of auditRecords(db)
    .find({ seq: { $ne: null } })
    .sort({ wallet_id: 1, seq: 1 })) {
    const key = record.wallet_id.toHexString();
    const trail = trails.get(key);
    if (trail) trail.push(record);
    else trails.set(key, [record]);
  }
  for (const [key, wallet] of byId) {
    let problem = checkTrail(wallet, trails.get(key) ?? []);
    if (problem) problem = await checkWalletAlone(db, wallet._id);
    const records = (trails.get(key)?.length ?? 0) + (wallet.audit_outbox?.length ?? 0);
    replay.records += records;
    if (problem === 'unaudited') replay.unaudited += 1;
    else if (problem) replay.problems.push({ wallet_id: key, detail: problem });
    else replay.wallets_replayed += 1;
  }
  return replay;
}

/** Null when the trail replays to the wallet; 'unaudited' when there is none; else what is wrong. */
function checkTrail(wallet: AuditedWallet, flushed: AuditRecord[]): string | null {
  if (wallet.audit_seq === undefined && flushed.length === 0) return 'unaudited';
  // an entry flushed but not yet pulled from the outbox is in both: the same record (same id)
  const pending = recordsOfOutbox(wallet as never).filter((r) => !flushed.some((f) => f._id.equals(r._id)));
  const trail = [...flushed, ...pending].sort((a, b) => (a.seq as number) - (b.seq as number));
  let balance = 0;
  let frozen = 0;
  for (const [i, record] of trail.entries()) {
    if (record.seq !== i + 1) return `record ${record._id.toHexString()} has seq ${record.seq}, expected ${i + 1}`;
    if (i === 0 && record.action !== 'create') return `the trail starts with ${record.action}, not create`;
    if (record.balance_before !== balance || record.frozen_before !== frozen)
      return `seq ${record.seq} starts from ${record.balance_before}/${record.frozen_before}, the trail stood at ${balance}/${frozen}`;
    balance = record.balance_after as number;
    frozen = record.frozen_after as number;
  }
  if (trail.length !== (wallet.audit_seq ?? 0)) return `${trail.length} records for ${wallet.audit_seq ?? 0} changes`;
  const [nowBalance, nowFrozen] = [Number(wallet.balance_money), Number(wallet.frozen_money)];
  if (balance !== nowBalance || frozen !== nowFrozen)
    return `the trail replays to ${balance} (frozen ${frozen}); the wallet holds ${nowBalance} (frozen ${nowFrozen})`;
  return null;
}

async function checkWalletAlone(db: Db, id: ObjectId): Promise<string | null> {
  let problem: string | null = null;
  for (let attempt = 0; attempt < SNAPSHOT_ATTEMPTS; attempt++) {
    const before = (await wallets(db).findOne({ _id: id }, { projection: FIELDS })) as AuditedWallet | null;
    if (!before) return null;
    const trail = await auditRecords(db)
      .find({ wallet_id: id, seq: { $ne: null } })
      .sort({ seq: 1 })
      .toArray();
    const after = (await wallets(db).findOne({ _id: id }, { projection: FIELDS })) as AuditedWallet | null;
    problem = checkTrail(before, trail);
    // no change in between (every change counts in audit_seq): the records read are exactly the wallet's
    if (after && after.audit_seq === before.audit_seq) return problem;
  }
  return problem && `${problem} (the wallet kept changing while it was checked)`;
}
