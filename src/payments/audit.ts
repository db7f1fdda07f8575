import { userInfo } from 'node:os';
import { type Collection, type Db, type Document, type IndexDescription, MongoBulkWriteError, ObjectId } from 'mongodb';
import { type Caller, callerKey } from '../core/callers.js';
import { collectionOf } from '../core/db.js';
import { isDuplicateKeyError } from '../core/errors.js';
import { TX_COLLECTION, wallets } from './collections.js';
import type { LegRole } from './legs.js';
import type { TxType } from './transactions.js';

/**
 * The audit trail of money: one immutable record per change of a wallet (created, disabled, enabled, and every leg
 * of a transaction applied, committed or rolled back), with who did it, what, and the amounts before and after.
 *
 * No change without its record, whatever crashes: the change and its audit *entry* are one single-document update
 * of the wallet (`$push` onto `audit_outbox`, `$inc` of `audit_seq`), so neither exists without the other. Entries
 * move from the wallet's outbox into `wallet_audit` right after (flushAudit, at the end of every engine drive and of
 * every wallet write); what a crash left in an outbox is moved by the recovery sweep (flushStaleAudit), and
 * `wallet verify` counts it as written. The amounts are not known when the update is built (other money moves at the
 * same time), so the flush computes them from one read of the wallet: its money now is the `after` of the last entry
 * in the outbox, and going back entry by entry gives every `before` and `after` exactly. Flushing twice writes the
 * same records (their ids are the entries' ids), so any actor may flush any wallet at any time.
 */
export const AUDIT_COLLECTION = 'wallet_audit';

/** Who changes money: an API caller (key name or user), the gateway worker, recovery, or an operator at the CLI. */
export interface AuditActor {
  who: string;
  request_id: string | null;
}

/** What a record says happened: a wallet change, or an operator's decision on a transaction (`resolve`, `retry`). */
export type AuditAction = 'create' | 'disable' | 'enable' | 'apply' | 'commit' | 'rollback' | OperatorAction;
export type OperatorAction = 'resolve' | 'retry';

/** One change as the wallet's update pushes it onto `audit_outbox`. */
export interface AuditEntry {
  id: ObjectId;
  at: Date;
  who: string;
  request_id: string | null;
  action: AuditAction;
  /** The change of `balance_money` and `frozen_money` (minor units). */
  balance: number;
  frozen: number;
  /** The wallet's state after a create, disable or enable. */
  state?: number;
  tx_id?: ObjectId;
  tx_type?: TxType;
  role?: LegRole;
}

/** One record of `wallet_audit` (never changed once written). */
export interface AuditRecord {
  _id: ObjectId;
  wallet_id: ObjectId;
  /** 1, 2, 3 … per wallet: the order of its changes, without gaps (null for an operator's decision). */
  seq: number | null;
  at: Date;
  who: string;
  request_id: string | null;
  action: AuditAction;
  tx_id: ObjectId | null;
  tx_type: TxType | null;
  role: LegRole | null;
  balance_before: number | null;
  balance_after: number | null;
  frozen_before: number | null;
  frozen_after: number | null;
  state_before: number | null;
  state_after: number | null;
  /** An operator's decision in words (`succeeded G123`, `declined: …`). */
  detail?: string;
}

/** The audit records. */
export function auditRecords(db: Db): Collection<AuditRecord> {
  return collectionOf<AuditRecord>(db, AUDIT_COLLECTION);
}

/** The indexes of the trail: a wallet's records in order, and each filter and sort of wallet_audit/find. */
export const AUDIT_INDEXES: IndexDescription[] = [
  // not unique: operators' decisions have no seq; the records' ids are the entries' ids, and verify checks the order
  { key: { wallet_id: 1, seq: 1 }, name: 'wallet_id_1_seq_1' },
  { key: { tx_id: 1 }, name: 'tx_id_1', sparse: true },
  // wallet_audit/find: each filter in the default order, each sort (test/core/find-indexes.test.ts)
  { key: { wallet_id: 1, _id: -1 }, name: 'wallet_id_1__id_-1' },
  { key: { tx_id: 1, _id: -1 }, name: 'tx_id_1__id_-1' },
  { key: { action: 1, _id: -1 }, name: 'action_1__id_-1' },
  { key: { who: 1, _id: -1 }, name: 'who_1__id_-1' },
  { key: { seq: 1, _id: 1 }, name: 'seq_1__id_1' },
  { key: { at: -1, _id: -1 }, name: 'at_-1__id_-1' },
];

/** Creates the trail's indexes (idempotent) and the wallets' outbox index. */
export async function ensureAuditIndexes(db: Db): Promise<void> {
  await auditRecords(db).createIndexes(AUDIT_INDEXES);
  // the recovery sweep's question: which wallets hold entries a crash left behind
  await wallets(db).createIndexes([{ key: { 'audit_outbox.at': 1 }, name: 'audit_outbox.at_1', sparse: true }]);
}

/** The update parts that record `entry` with a wallet change: merged into the change's own single update. */
export function auditUpdate(entry: AuditEntry): { push: Document; inc: Document } {
  return { push: { audit_outbox: entry }, inc: { audit_seq: 1 } };
}

/** A new entry by `actor`. */
export function auditEntry(
  actor: AuditActor,
  action: AuditAction,
  change: Omit<AuditEntry, 'id' | 'at' | 'who' | 'request_id' | 'action'>,
): AuditEntry {
  return { id: new ObjectId(), at: new Date(), who: actor.who, request_id: actor.request_id, action, ...change };
}

/**
 * An operator's decision on a transaction (`wallet resolve`, `wallet unpark`), written before it is carried out: a
 * crash between the two leaves the record of a decision that changed nothing, never a change without a record (the
 * money the decision moves is recorded with each wallet write, naming the same operator).
 */
export async function recordOperatorAction(
  db: Db,
  actor: AuditActor,
  action: OperatorAction,
  txId: ObjectId,
  detail: string,
): Promise<void> {
  const tx = await db.collection(TX_COLLECTION).findOne({ _id: txId }, { projection: { wallet_id: 1, type: 1 } });
  if (!tx) return;
  await auditRecords(db).insertOne({
    _id: new ObjectId(),
    wallet_id: tx.wallet_id as ObjectId,
    seq: null,
    at: new Date(),
    who: actor.who,
    request_id: actor.request_id,
    action,
    tx_id: txId,
    tx_type: tx.type as TxType,
    role: null,
    balance_before: null,
    balance_after: null,
    frozen_before: null,
    frozen_after: null,
    state_before: null,
    state_after: null,
    detail,
  });
}

/**
 * The audit fields of a wallet written with money outside the engine (a seed, a migration): its open and its
 * opening money as the first two entries of its outbox, so its trail replays like any other.
 */
export function openingAudit(
  actor: AuditActor,
  money: { balance: number; frozen: number },
): { audit_seq: number; audit_outbox: AuditEntry[] } {
  return {
    audit_seq: 2,
    audit_outbox: [
      auditEntry(actor, 'create', { balance: 0, frozen: 0, state: 100 }),
      auditEntry(actor, money.frozen > 0 ? 'apply' : 'commit', { ...money, tx_type: 'recharge', role: 'recharge_target' }),
    ],
  };
}

/** The actor of an API request: `service:<key name>` or `user:<id>`, with the request's id. */
export function actorOfCaller(caller: Caller, requestId: string): AuditActor {
  return { who: callerKey(caller) ?? 'anonymous', request_id: requestId };
}

/** The actor for a lock owner named by actorName(): `worker:<host>:<pid>`, `cli:<user>`, `api:<host>:<pid>`. */
export function actorOfOwner(owner: string, requestId: string | null = null): AuditActor {
  const [kind, host, pid] = owner.split(':');
  return { who: kind === 'cli' ? cliUser() : `${kind}:${host}:${pid}`, request_id: requestId };
}

/** The operator at the CLI: `cli:<login name>`. */
export function cliUser(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}

type WalletAudit = {
  _id: ObjectId;
  balance_money: unknown;
  frozen_money: unknown;
  state: number;
  audit_seq?: number;
  audit_outbox?: AuditEntry[];
};

/**
 * The records of what a wallet's outbox holds, from one read of it: its money now is the `after` of the last entry;
 * each earlier `after` is the next one's `before`.
 */
export function recordsOfOutbox(wallet: WalletAudit): AuditRecord[] {
  const outbox = wallet.audit_outbox ?? [];
  const records: AuditRecord[] = [];
  let balance = Number(wallet.balance_money);
  let frozen = Number(wallet.frozen_money);
  let state = wallet.state;
  let seq = wallet.audit_seq ?? outbox.length;
  for (let i = outbox.length - 1; i >= 0; i--) {
    const entry = outbox[i] as AuditEntry;
    const stateBefore = entry.action === 'create' ? null : entry.state !== undefined ? previousState(entry) : state;
    records.push({
      _id: entry.id,
      wallet_id: wallet._id,
      seq,
      at: entry.at,
      who: entry.who,
      request_id: entry.request_id,
      action: entry.action,
      tx_id: entry.tx_id ?? null,
      tx_type: entry.tx_type ?? null,
      role: entry.role ?? null,
      balance_before: balance - entry.balance,
      balance_after: balance,
      frozen_before: frozen - entry.frozen,
      frozen_after: frozen,
      state_before: stateBefore,
      state_after: state,
    });
    balance -= entry.balance;
    frozen -= entry.frozen;
    state = stateBefore ?? state;
    seq -= 1;
  }
  return records.reverse();
}

/** disable goes from active (100) to disabled (200), enable back: the state a state entry left. */
function previousState(entry: AuditEntry): number {
  return entry.action === 'disable' ? 100 : 200;
}

const OUTBOX_FIELDS = { balance_money: 1, frozen_money: 1, state: 1, audit_seq: 1, audit_outbox: 1 } as const;

/** Moves the outbox entries of these wallets into `wallet_audit`: one read, one insert, one pull. */
export async function flushAudit(db: Db, walletIds: readonly ObjectId[]): Promise<number> {
  if (walletIds.length === 0) return 0;
  const docs = (await wallets(db)
    .find({ _id: { $in: [...walletIds] }, 'audit_outbox.0': { $exists: true } } as Document, { projection: OUTBOX_FIELDS })
    .toArray()) as unknown as WalletAudit[];
  return await writeRecords(db, docs);
}

/** The recovery sweep's part: outboxes a crash left (entries older than `olderThanMs`), moved like any other. */
export async function flushStaleAudit(db: Db, olderThanMs: number, limit = 500): Promise<number> {
  const docs = (await wallets(db)
    .find({ 'audit_outbox.at': { $lt: new Date(Date.now() - olderThanMs) } } as Document, { projection: OUTBOX_FIELDS })
    .limit(limit)
    .toArray()) as unknown as WalletAudit[];
  return await writeRecords(db, docs);
}

async function writeRecords(db: Db, docs: WalletAudit[]): Promise<number> {
  const records = docs.flatMap(recordsOfOutbox);
  if (records.length === 0) return 0;
  let written = records.map((r) => r._id);
  try {
    await auditRecords(db).insertMany(records, { ordered: false });
  } catch (err) {
    // some were written before by another flush (the same ids, the same content); whatever the server did with
    // the rest, only entries whose records are now stored leave the outbox
    const duplicates =
      err instanceof MongoBulkWriteError ? [err.writeErrors].flat().every((e) => e.code === 11000) : isDuplicateKeyError(err);
    if (!duplicates) throw err;
    const stored = await auditRecords(db)
      .find({ _id: { $in: written } }, { projection: { _id: 1 } })
      .toArray();
    written = stored.map((r) => r._id);
  }
  await wallets(db).updateMany({ _id: { $in: docs.map((d) => d._id) } }, {
    $pull: { audit_outbox: { id: { $in: written } } },
  } as Document);
  return written.length;
}
