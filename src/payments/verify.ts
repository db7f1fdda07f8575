import { ObjectId, type Db } from 'mongodb';
import { isWalletLeg, legEffect } from './legs.js';
import { legPhaseOf } from './flow.js';
import { transactions, wallets } from './collections.js';
import { TX_KINDS, TX_STATES, isFinal, type TxState } from './transactions.js';
import { type LedgerTx, SNAPSHOT_ATTEMPTS, TX_FIELDS } from './ledger-view.js';
import { RefundBooks, checkCollectAlone } from './verify-refunds.js';
import { replayAudit } from './verify-audit.js';
import type { WalletDoc } from './legs.js';

/** One inconsistency in the books. */
export interface Break {
  kind:
    | 'balance_mismatch'
    | 'frozen_mismatch'
    | 'negative'
    | 'dangling_pending'
    | 'final_still_pending'
    | 'leg_missing'
    | 'unsettled'
    | 'unverified'
    | 'conservation'
    | 'refund_mismatch'
    | 'audit_mismatch';
  wallet_id?: string;
  tx_id?: string;
  detail: string;
}

export interface VerifyReport {
  ok: boolean;
  wallets: number;
  transactions: number;
  by_state: Record<TxState, number>;
  /** Sums, exact (as a string when beyond 2^53). */
  total_balance: number | string;
  total_frozen: number | string;
  /** Money that entered (done recharges) and left (done withdrawals) the system. */
  recharged: number | string;
  withdrawn: number | string;
  /** The audit trail replayed (verify-audit.ts): how many wallets it replays to their money now. */
  audit: { ok: boolean; wallets_replayed: number; records: number; unaudited: number };
  breaks: Break[];
}

export interface VerifyOptions {
  /** Also count every transaction not in a final state as a break (after recovery, nothing should be left). */
  requireSettled?: boolean;
  /** Called now and then with how many transactions were read. */
  progress?: (read: number, total: number) => void;
}

type WalletMoney = Pick<WalletDoc, '_id' | 'balance_money' | 'frozen_money' | 'pending_transactions' | 'updated_at'>;

const MAX_BREAKS = 1_000;
const WALLET_FIELDS = { balance_money: 1, frozen_money: 1, pending_transactions: 1, updated_at: 1 } as const;

/**
 * Checks the books: every wallet's balance and frozen money must equal what its transactions say, by the same leg
 * table the engine applies (legs.ts); no wallet may be negative; every id in `pending_transactions` must name a
 * transaction that is still in flight and that has a leg on that wallet.
 *
 * A first pass reads all wallets, then the ledger with one cursor (one entry per wallet in memory). On a live
 * system money moves between those two reads, so every wallet that pass flags is checked again on its own, from a
 * consistent view: the wallet, the transactions touching it, the wallet again — if the wallet did not change
 * meanwhile, the view is exact (a transaction changes what a wallet should hold only together with a write to that
 * wallet: legs are applied, committed and rolled back before the state moves on). Only what that check confirms is
 * reported.
 */
export async function verifyBooks(db: Db, options: VerifyOptions = {}): Promise<VerifyReport> {
  const walletDocs = await wallets(db).find({}, { projection: WALLET_FIELDS }).toArray();
  const books = new Books(walletDocs);
  const byState = Object.fromEntries(TX_STATES.map((s) => [s, 0])) as Record<TxState, number>;
  const total = await transactions(db).estimatedDocumentCount();
  let read = 0;
  let recharged = 0n;
  let withdrawn = 0n;
  let inFlight = 0;
  const unsettled: LedgerTx[] = [];
  const refunds = new RefundBooks();
  for await (const tx of transactions(db).find({}, { projection: TX_FIELDS })) {
    refunds.add(tx);
    read += 1;
    if (options.progress && read % 10_000 === 0) options.progress(read, total);
    byState[tx.state] += 1;
    if (tx.state === 'done' && tx.type === 'recharge') recharged += BigInt(tx.money);
    if (tx.state === 'done' && tx.type === 'withdraw') withdrawn += BigInt(tx.money);
    if (!isFinal(tx.state)) inFlight += 1;
    if (options.requireSettled && !isFinal(tx.state)) unsettled.push(tx);
    books.add(tx);
  }
  options.progress?.(read, total);

  const breaks: Break[] = [];
  const flagged = new Set<string>();
  for (const b of books.check()) {
    if (b.wallet_id) flagged.add(b.wallet_id);
    else breaks.push(b);
  }
  for (const walletId of flagged) breaks.push(...(await checkWalletAlone(db, walletId)));
  for (const collectId of refunds.flagged()) breaks.push(...(await checkCollectAlone(db, collectId)));
  for (const tx of unsettled) {
    const now = await transactions(db).findOne({ _id: tx._id }, { projection: { state: 1 } });
    if (now && !isFinal(now.state))
      breaks.push({ kind: 'unsettled', tx_id: tx._id.toHexString(), detail: `${tx.type} is still ${now.state}` });
  }

  // independent of the leg table: with nothing in flight, transfers only move money around, so what the wallets
  // hold is what came in minus what went out, and nothing is frozen
  const totalBalance = walletDocs.reduce((sum, w) => sum + BigInt(w.balance_money), 0n);
  const totalFrozen = walletDocs.reduce((sum, w) => sum + BigInt(w.frozen_money), 0n);
  if (inFlight === 0 && (totalBalance !== recharged - withdrawn || totalFrozen !== 0n)) {
    breaks.push({
      kind: 'conservation',
      detail: `the wallets hold ${totalBalance} (frozen ${totalFrozen}); recharges minus withdrawals are ${recharged - withdrawn}`,
    });
  }

  const audit = await replayAudit(db);
  for (const p of audit.problems) breaks.push({ kind: 'audit_mismatch', wallet_id: p.wallet_id, detail: p.detail });

  return {
    ok: breaks.length === 0,
    wallets: walletDocs.length,
    transactions: read,
    by_state: byState,
    total_balance: exact(totalBalance),
    total_frozen: exact(totalFrozen),
    recharged: exact(recharged),
    withdrawn: exact(withdrawn),
    audit: {
      ok: audit.problems.length === 0,
      wallets_replayed: audit.wallets_replayed,
      records: audit.records,
      unaudited: audit.unaudited,
    },
    breaks: breaks.slice(0, MAX_BREAKS),
  };
}

/** The breaks of one wallet from a consistent view of it (see verifyBooks). */
async function checkWalletAlone(db: Db, walletId: string): Promise<Break[]> {
  let found: Break[] = [];
  for (let attempt = 0; attempt < SNAPSHOT_ATTEMPTS; attempt++) {
    const before = await wallets(db).findOne({ _id: ObjectId.createFromHexString(walletId) }, { projection: WALLET_FIELDS });
    if (!before) return [];
    const ledger = await transactions(db)
      .find(
        { $or: [{ wallet_id: before._id }, { to_wallet_id: before._id }, { _id: { $in: before.pending_transactions } }] },
        { projection: TX_FIELDS },
      )
      .toArray();
    const after = await wallets(db).findOne({ _id: before._id }, { projection: WALLET_FIELDS });
    const books = new Books([before]);
    for (const tx of ledger) books.add(tx);
    found = books.check().filter((b) => b.wallet_id === walletId);
    if (after && sameMoney(before, after)) return found;
  }
  // the wallet never stood still long enough for an exact look: say so, whatever the last look saw
  return [
    {
      kind: 'unverified',
      wallet_id: walletId,
      detail: `the wallet kept changing during ${SNAPSHOT_ATTEMPTS} attempts to check it; run verify again when it is quieter`,
    },
    ...found.map((b) => ({ ...b, detail: `${b.detail} (seen while the wallet was changing)` })),
  ];
}

function exact(value: bigint): number | string {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString();
}

/** Nothing was written to the wallet between two reads (every write moves updated_at). */
function sameMoney(a: WalletMoney, b: WalletMoney): boolean {
  return (
    a.updated_at?.getTime() === b.updated_at?.getTime() &&
    a.balance_money === b.balance_money &&
    a.frozen_money === b.frozen_money &&
    a.pending_transactions.length === b.pending_transactions.length &&
    a.pending_transactions.every((id, i) => id.equals(b.pending_transactions[i] as ObjectId))
  );
}

/** What each wallet should hold according to the transactions added, and what breaks that shows. */
class Books {
  private readonly expected = new Map<string, { balance: number; frozen: number }>();
  private readonly held = new Map<string, Set<string>>();
  /** In-flight transactions and the wallets they have legs on. */
  private readonly inFlight = new Map<string, Set<string>>();
  private readonly breaks: Break[] = [];

  constructor(private readonly walletDocs: WalletMoney[]) {
    for (const wallet of walletDocs) {
      const id = wallet._id.toHexString();
      this.expected.set(id, { balance: 0, frozen: 0 });
      this.held.set(id, new Set(wallet.pending_transactions.map((tx) => tx.toHexString())));
    }
  }

  add(tx: LedgerTx): void {
    const txId = tx._id.toHexString();
    const legWallets = new Set<string>();
    if (!isFinal(tx.state)) this.inFlight.set(txId, legWallets);
    for (const leg of TX_KINDS[tx.type].legs(tx)) {
      if (!isWalletLeg(leg.role)) continue; // a refund's reservation: RefundBooks checks it
      const walletId = leg.wallet.toHexString();
      legWallets.add(walletId);
      const sum = this.expected.get(walletId);
      if (!sum) continue; // a wallet outside this view (or one that does not exist: such a leg can only be 'none')
      const isHeld = this.held.get(walletId)?.has(txId) ?? false;
      const { phase, consistent } = legPhaseOf(tx.type, tx.state, isHeld);
      if (!consistent) {
        this.breaks.push({
          kind: isFinal(tx.state) ? 'final_still_pending' : 'leg_missing',
          wallet_id: walletId,
          tx_id: txId,
          detail: `${tx.type} is ${tx.state} but the wallet ${isHeld ? 'still holds' : 'does not hold'} it`,
        });
      }
      if (phase === 'none') continue;
      const effect = legEffect(leg.role, tx.money, phase);
      sum.balance += effect.balance;
      sum.frozen += effect.frozen;
    }
  }

  check(): Break[] {
    const breaks = [...this.breaks];
    for (const wallet of this.walletDocs) {
      const id = wallet._id.toHexString();
      const want = this.expected.get(id) as { balance: number; frozen: number };
      if (wallet.balance_money !== want.balance)
        breaks.push({
          kind: 'balance_mismatch',
          wallet_id: id,
          detail: `balance_money is ${wallet.balance_money}, the ledger says ${want.balance}`,
        });
      if (wallet.frozen_money !== want.frozen)
        breaks.push({
          kind: 'frozen_mismatch',
          wallet_id: id,
          detail: `frozen_money is ${wallet.frozen_money}, the ledger says ${want.frozen}`,
        });
      if (wallet.balance_money < 0 || wallet.frozen_money < 0 || wallet.balance_money < wallet.frozen_money) {
        breaks.push({ kind: 'negative', wallet_id: id, detail: `balance ${wallet.balance_money}, frozen ${wallet.frozen_money}` });
      }
      for (const txId of this.held.get(id) ?? []) {
        const legs = this.inFlight.get(txId);
        if (!legs)
          breaks.push({
            kind: 'dangling_pending',
            wallet_id: id,
            tx_id: txId,
            detail: 'pending_transactions names a transaction that is final or does not exist',
          });
        else if (!legs.has(id))
          breaks.push({
            kind: 'dangling_pending',
            wallet_id: id,
            tx_id: txId,
            detail: 'pending_transactions names a transaction of other wallets',
          });
      }
    }
    return breaks;
  }
}
