import { Long, type Db, type Document, type ObjectId } from 'mongodb';
import { type AuditActor, auditEntry } from './audit.js';
import { transactions, wallets } from './collections.js';
import type { TxType } from './transactions.js';

/**
 * Every change to a wallet's money, as in seed 004 §10 (`pre_recharge_money` / `commit_recharge_money` /
 * `rollback_recharge_money`): one conditional update with `$inc` plus `$push`/`$pull` of the transaction id on
 * `pending_transactions`. `apply` is guarded by `pending_transactions: {$ne: tx}` (so it happens once),
 * `commit` and `rollback` by `pending_transactions: tx` (so they happen once, and only after apply).
 *
 * Money that comes in (a recharge, the receiving side of a transfer) is added to `balance_money` and to
 * `frozen_money` at apply and unfrozen at commit: until then it cannot be spent, so a rollback can never drive a
 * balance below zero. Money that goes out is frozen (withdraw) or taken (transfer) at apply, guarded by
 * `balance - frozen >= money`, so concurrent debits can never overdraw.
 *
 * A refund has one more leg, first: its *reservation* on the collect it pays back (`refunded_money` + `$push` of
 * the refund's id on the collect's `refunds`, guarded by `refunds: {$ne: tx}` and `refunded_money + money <=
 * money`), so racing refunds can never return more than was collected; its rollback gives the amount back.
 *
 * This table is the single source of truth: the engine applies it, and `verify` recomputes every balance from it.
 */
export const LEG_ROLES = [
  'recharge_target',
  'withdraw_source',
  'transfer_source',
  'transfer_destination',
  'collect_payer',
  'collect_merchant',
  'refund_reservation',
  'refund_merchant',
  'refund_payer',
] as const;
export type LegRole = (typeof LEG_ROLES)[number];

/** Deltas in units of the transaction's money: +1 adds it, -1 takes it. */
interface Delta {
  balance: -1 | 0 | 1;
  frozen: -1 | 0 | 1;
}

interface LegRule {
  apply: Delta;
  commit: Delta;
  rollback: Delta;
  /** What apply checks besides the wallet being active: available money (debit), the balance ceiling (credit), or
   * what is left to refund of a collect (a reservation). */
  guard: 'available' | 'ceiling' | 'refundable';
}

const DEBIT: LegRule = {
  apply: { balance: -1, frozen: 0 },
  commit: { balance: 0, frozen: 0 },
  rollback: { balance: 1, frozen: 0 },
  guard: 'available',
};
const CREDIT: LegRule = {
  apply: { balance: 1, frozen: 1 },
  commit: { balance: 0, frozen: -1 },
  rollback: { balance: -1, frozen: -1 },
  guard: 'ceiling',
};
const NO_MONEY: Delta = { balance: 0, frozen: 0 };

export const LEG_RULES: Record<LegRole, LegRule> = {
  recharge_target: {
    apply: { balance: 1, frozen: 1 },
    commit: { balance: 0, frozen: -1 },
    rollback: { balance: -1, frozen: -1 },
    guard: 'ceiling',
  },
  withdraw_source: {
    apply: { balance: 0, frozen: 1 },
    commit: { balance: -1, frozen: -1 },
    rollback: { balance: 0, frozen: -1 },
    guard: 'available',
  },
  transfer_source: DEBIT,
  transfer_destination: CREDIT,
  collect_payer: DEBIT,
  collect_merchant: CREDIT,
  // not a wallet: the collect's refundable amount (see applyReservation)
  refund_reservation: { apply: NO_MONEY, commit: NO_MONEY, rollback: NO_MONEY, guard: 'refundable' },
  refund_merchant: DEBIT,
  refund_payer: CREDIT,
};

/** Whether a leg changes a wallet's money (all but a refund's reservation on its collect). */
export function isWalletLeg(role: LegRole): boolean {
  return LEG_RULES[role].guard !== 'refundable';
}

/** Balances stay exact as JavaScript numbers (and far from int64 overflow, which the embedded server wraps). */
export const MAX_BALANCE = 1_000_000_000_000_000;

export const WALLET_STATE = { active: 100, disabled: 200 } as const;

/** The money fields of a wallet document. */
export interface WalletDoc {
  _id: ObjectId;
  account_id: ObjectId;
  balance_money: number;
  frozen_money: number;
  pending_transactions: ObjectId[];
  state: number;
  created_at: Date;
  updated_at: Date;
}

/** Why an apply did not happen: a refusal, answered the same on every retry. */
export const REFUSALS = [
  'insufficient_funds',
  'wallet_not_found',
  'wallet_disabled',
  'balance_limit',
  'not_refundable',
  'refund_exceeds_collected',
] as const;
export type Refusal = (typeof REFUSALS)[number];

/** Who moves the money of a leg, and for which kind of transaction: each wallet write carries its audit entry (audit.ts). */
export interface LegAudit {
  actor: AuditActor;
  txType: TxType;
}

/** The audit parts of one leg's wallet write: its entry pushed onto the outbox and the wallet's change counter. */
function auditOf(by: LegAudit, action: 'apply' | 'commit' | 'rollback', delta: Delta, role: LegRole, txId: ObjectId, money: number) {
  const entry = auditEntry(by.actor, action, {
    balance: delta.balance * money,
    frozen: delta.frozen * money,
    tx_id: txId,
    tx_type: by.txType,
    role,
  });
  return { entry, inc: { audit_seq: 1 } };
}

/** `fenced`: the caller's lock could have run out, so the server refused the write (see applyLeg). */
export type ApplyOutcome = { ok: true; already: boolean } | { ok: false; reason: Refusal | 'fenced' };

function incOf(delta: Delta, money: number): Document | undefined {
  const inc: Document = {};
  if (delta.balance !== 0) inc.balance_money = Long.fromNumber(delta.balance * money);
  if (delta.frozen !== 0) inc.frozen_money = Long.fromNumber(delta.frozen * money);
  return Object.keys(inc).length > 0 ? inc : undefined;
}

/**
 * The guarded apply of one leg: one updateOne. On no match, one read tells "already applied" from a refusal.
 *
 * `fence` closes the one gap a lock alone leaves: an actor that stalls between checking its lock and this write
 * (a long pause, a write held up in a failover) while recovery takes the transaction over and finishes it would
 * otherwise apply the leg a second time, since a committed leg is no longer in `pending_transactions`. The server
 * compares its own clock (`$$NOW`) with the fence, set well before the lock runs out, so such a late write is
 * refused however late it arrives.
 */
export async function applyLeg(
  db: Db,
  walletId: ObjectId,
  role: LegRole,
  txId: ObjectId,
  money: number,
  fence: Date,
  by: LegAudit,
): Promise<ApplyOutcome> {
  const rule = LEG_RULES[role];
  if (rule.guard === 'refundable') return await applyReservation(db, walletId, txId, money, fence);
  const funds =
    rule.guard === 'available'
      ? { $gte: [{ $subtract: ['$balance_money', '$frozen_money'] }, money] }
      : { $lte: [{ $add: ['$balance_money', money] }, MAX_BALANCE] };
  const guard = { $expr: { $and: [funds, { $lt: ['$$NOW', fence] }] } };
  const audit = auditOf(by, 'apply', rule.apply, role, txId, money);
  const update: Document = {
    $push: { pending_transactions: txId, audit_outbox: audit.entry },
    $set: { updated_at: new Date() },
    $inc: { ...incOf(rule.apply, money), ...audit.inc },
  };
  const result = await wallets(db).updateOne(
    { _id: walletId, state: WALLET_STATE.active, pending_transactions: { $ne: txId }, ...guard },
    update,
  );
  if (result.matchedCount === 1) return { ok: true, already: false };
  // why not. The fence is asked of the database's clock, not ours: if it is still open now, it was open at the
  // write, so the money (or the state) refused. The balance is not re-read for that: other money may have moved
  // since, and the write's own verdict is the one that counts.
  const wallet = await wallets(db).findOne({ _id: walletId }, { projection: { state: 1, pending_transactions: 1 } });
  if (!wallet) return { ok: false, reason: 'wallet_not_found' };
  if (wallet.pending_transactions.some((id) => id.equals(txId))) return { ok: true, already: true };
  const fenceOpen = (await wallets(db).countDocuments({ _id: walletId, $expr: { $lt: ['$$NOW', fence] } })) === 1;
  if (!fenceOpen) return { ok: false, reason: 'fenced' };
  if (wallet.state !== WALLET_STATE.active) return { ok: false, reason: 'wallet_disabled' };
  return { ok: false, reason: rule.guard === 'available' ? 'insufficient_funds' : 'balance_limit' };
}

/** Commit (`settle: 'commit'`) or roll back one leg: guarded by the id being pending, so it happens at most once. */
export async function settleLeg(
  db: Db,
  walletId: ObjectId,
  role: LegRole,
  txId: ObjectId,
  money: number,
  settle: 'commit' | 'rollback',
  by: LegAudit,
): Promise<boolean> {
  if (!isWalletLeg(role)) {
    // a reservation stays with its collect once the refund is done; a rollback gives the amount back
    if (settle === 'commit') return true;
    const back = await transactions(db).updateOne({ _id: walletId, refunds: txId }, {
      $pull: { refunds: txId },
      $inc: { refunded_money: Long.fromNumber(-money) },
      $set: { updated_at: new Date() },
    } as Document);
    return back.matchedCount === 1;
  }
  const audit = auditOf(by, settle, LEG_RULES[role][settle], role, txId, money);
  const update: Document = {
    $pull: { pending_transactions: txId },
    $push: { audit_outbox: audit.entry },
    $set: { updated_at: new Date() },
    $inc: { ...incOf(LEG_RULES[role][settle], money), ...audit.inc },
  };
  const result = await wallets(db).updateOne({ _id: walletId, pending_transactions: txId }, update);
  return result.matchedCount === 1;
}

/**
 * A refund's reservation on the collect it pays back: the collect must be a done collect, and the refunds it holds
 * plus this one must not exceed what it collected. The same fence as a wallet apply.
 */
async function applyReservation(db: Db, collectId: ObjectId, txId: ObjectId, money: number, fence: Date): Promise<ApplyOutcome> {
  const result = await transactions(db).updateOne(
    {
      _id: collectId,
      type: 'collect',
      state: 'done',
      refunds: { $ne: txId },
      $expr: { $and: [{ $lte: [{ $add: [{ $ifNull: ['$refunded_money', 0] }, money] }, '$money'] }, { $lt: ['$$NOW', fence] }] },
    } as Document,
    { $push: { refunds: txId }, $inc: { refunded_money: Long.fromNumber(money) }, $set: { updated_at: new Date() } } as Document,
  );
  if (result.matchedCount === 1) return { ok: true, already: false };
  const collect = await transactions(db).findOne({ _id: collectId }, { projection: { type: 1, state: 1, refunds: 1 } });
  if (collect?.type !== 'collect' || collect.state !== 'done') return { ok: false, reason: 'not_refundable' };
  if ((collect.refunds ?? []).some((id) => id.equals(txId))) return { ok: true, already: true };
  const fenceOpen = (await transactions(db).countDocuments({ _id: collectId, $expr: { $lt: ['$$NOW', fence] } })) === 1;
  return { ok: false, reason: fenceOpen ? 'refund_exceeds_collected' : 'fenced' };
}

/** What a leg contributes to a wallet while it is pending (held) or after commit: for `verify`. */
export function legEffect(role: LegRole, money: number, phase: 'held' | 'committed'): { balance: number; frozen: number } {
  const rule = LEG_RULES[role];
  const balance = rule.apply.balance + (phase === 'committed' ? rule.commit.balance : 0);
  const frozen = rule.apply.frozen + (phase === 'committed' ? rule.commit.frozen : 0);
  return { balance: balance * money, frozen: frozen * money };
}
