import type { Db, ObjectId } from 'mongodb';
import { legEffect } from './legs.js';
import { TX_KINDS, TX_STATES, isFinal, transactions, wallets, type TxDoc, type TxState } from './transactions.js';

/** One inconsistency in the books. */
export interface Break {
  kind: 'balance_mismatch' | 'frozen_mismatch' | 'negative' | 'dangling_pending' | 'final_still_pending' | 'leg_missing' | 'unsettled';
  wallet_id?: string;
  tx_id?: string;
  /** For mismatches: stored minus expected. A real break keeps it while money moves; a passing read does not. */
  delta?: number;
  detail: string;
}

export interface VerifyReport {
  ok: boolean;
  wallets: number;
  transactions: number;
  by_state: Record<TxState, number>;
  total_balance: number;
  total_frozen: number;
  /** Money that entered (done recharges) and left (done withdrawals) the system. */
  recharged: number;
  withdrawn: number;
  breaks: Break[];
}

export interface VerifyOptions {
  /** Also count every transaction not in a final state as a break (after recovery, nothing should be left). */
  requireSettled?: boolean;
  /**
   * When breaks are found, read the books again this many times (`recheckDelayMs` apart) and report only the breaks
   * seen every time: money moving while the books are read shows for one pass, a real break in all. Default 3.
   */
  rechecks?: number;
  recheckDelayMs?: number;
  /** Called now and then with how many transactions were read. */
  progress?: (read: number, total: number) => void;
}

interface Expected {
  balance: number;
  frozen: number;
}

const MAX_BREAKS = 1_000;

/**
 * Checks the books: every wallet's balance and frozen money must equal what its transactions say, by the same leg
 * table the engine applies (legs.ts); no wallet may be negative; every id in `pending_transactions` must name a
 * transaction that is still in flight and that has a leg on that wallet. Reads the ledger with one cursor and
 * keeps one entry per wallet. The wallets and the ledger cannot be read at one instant without transactions, so on
 * a live system a transfer finishing between the two reads looks broken for one pass: breaks are re-checked and
 * only those seen in every pass are reported.
 */
export async function verifyBooks(db: Db, options: VerifyOptions = {}): Promise<VerifyReport> {
  let report = await readBooks(db, options);
  const rechecks = options.rechecks ?? 3;
  for (let pass = 0; pass < rechecks && !report.ok; pass++) {
    await new Promise((resolve) => setTimeout(resolve, options.recheckDelayMs ?? 250));
    const again = await readBooks(db, { ...options, progress: undefined });
    const seen = new Set(report.breaks.map(breakKey));
    const persistent = again.breaks.filter((b) => seen.has(breakKey(b)));
    report = { ...again, breaks: persistent, ok: persistent.length === 0 };
  }
  return report;
}

function breakKey(b: Break): string {
  return `${b.kind}|${b.wallet_id ?? ''}|${b.tx_id ?? ''}|${b.delta ?? ''}`;
}

async function readBooks(db: Db, options: VerifyOptions): Promise<VerifyReport> {
  const byState = Object.fromEntries(TX_STATES.map((s) => [s, 0])) as Record<TxState, number>;
  const breaks: Break[] = [];
  const report = (b: Break) => {
    if (breaks.length < MAX_BREAKS) breaks.push(b);
  };

  const held = new Map<string, Set<string>>();
  const walletDocs = await wallets(db)
    .find({}, { projection: { balance_money: 1, frozen_money: 1, pending_transactions: 1 } })
    .toArray();
  const expected = new Map<string, Expected>();
  for (const wallet of walletDocs) {
    const id = wallet._id.toHexString();
    expected.set(id, { balance: 0, frozen: 0 });
    held.set(id, new Set(wallet.pending_transactions.map((tx) => tx.toHexString())));
  }

  const total = await transactions(db).estimatedDocumentCount();
  let read = 0;
  let recharged = 0;
  let withdrawn = 0;
  const inFlight = new Map<string, { tx: TxDoc; wallets: Set<string> }>();
  const cursor = transactions(db).find({}, { projection: { type: 1, wallet_id: 1, to_wallet_id: 1, money: 1, state: 1 } });
  for await (const tx of cursor) {
    read += 1;
    if (options.progress && read % 10_000 === 0) options.progress(read, total);
    byState[tx.state] += 1;
    const txId = tx._id.toHexString();
    if (!isFinal(tx.state)) {
      inFlight.set(txId, { tx, wallets: new Set() });
      if (options.requireSettled) report({ kind: 'unsettled', tx_id: txId, detail: `${tx.type} is still ${tx.state}` });
    }
    if (tx.state === 'done' && tx.type === 'recharge') recharged += tx.money;
    if (tx.state === 'done' && tx.type === 'withdraw') withdrawn += tx.money;
    for (const leg of TX_KINDS[tx.type].legs(tx)) {
      const walletId = (leg.wallet as ObjectId).toHexString();
      inFlight.get(txId)?.wallets.add(walletId);
      const sum = expected.get(walletId);
      const isHeld = held.get(walletId)?.has(txId) ?? false;
      const { phase, consistent } = phaseOf(tx.state, isHeld, TX_KINDS[tx.type].applyIn);
      if (!consistent) {
        report({ kind: isFinal(tx.state) ? 'final_still_pending' : 'leg_missing', wallet_id: walletId, tx_id: txId, detail: `${tx.type} is ${tx.state} but the wallet ${isHeld ? 'still holds' : 'does not hold'} it` });
      }
      if (!sum) {
        if (phase !== 'none') report({ kind: 'leg_missing', wallet_id: walletId, tx_id: txId, detail: `${tx.type} moved money on a wallet that does not exist` });
        continue;
      }
      if (phase === 'none') continue;
      const effect = legEffect(leg.role, tx.money, phase);
      sum.balance += effect.balance;
      sum.frozen += effect.frozen;
    }
  }
  options.progress?.(read, total);

  let totalBalance = 0;
  let totalFrozen = 0;
  for (const wallet of walletDocs) {
    const id = wallet._id.toHexString();
    const want = expected.get(id) as Expected;
    totalBalance += wallet.balance_money;
    totalFrozen += wallet.frozen_money;
    if (wallet.balance_money !== want.balance) {
      report({ kind: 'balance_mismatch', wallet_id: id, delta: wallet.balance_money - want.balance, detail: `balance_money is ${wallet.balance_money}, the ledger says ${want.balance}` });
    }
    if (wallet.frozen_money !== want.frozen) {
      report({ kind: 'frozen_mismatch', wallet_id: id, delta: wallet.frozen_money - want.frozen, detail: `frozen_money is ${wallet.frozen_money}, the ledger says ${want.frozen}` });
    }
    if (wallet.balance_money < 0 || wallet.frozen_money < 0 || wallet.balance_money < wallet.frozen_money) {
      report({ kind: 'negative', wallet_id: id, detail: `balance ${wallet.balance_money}, frozen ${wallet.frozen_money}` });
    }
    for (const txId of held.get(id) ?? []) {
      const flight = inFlight.get(txId);
      if (!flight) report({ kind: 'dangling_pending', wallet_id: id, tx_id: txId, detail: 'pending_transactions names a transaction that is final or does not exist' });
      else if (!flight.wallets.has(id)) report({ kind: 'dangling_pending', wallet_id: id, tx_id: txId, detail: 'pending_transactions names a transaction of other wallets' });
    }
  }

  return {
    ok: breaks.length === 0,
    wallets: walletDocs.length,
    transactions: read,
    by_state: byState,
    total_balance: totalBalance,
    total_frozen: totalFrozen,
    recharged,
    withdrawn,
    breaks,
  };
}

/**
 * What a leg of a transaction in `state` has done to its wallet, given whether the wallet holds the id: held
 * (applied, not settled), committed, or none (never applied, or rolled back). A combination that cannot happen is
 * flagged and counted as what the state says, so one anomaly does not also show as a money mismatch; money that
 * really is off still does.
 */
function phaseOf(state: TxState, isHeld: boolean, applyIn: 'initial' | 'pending'): { phase: 'held' | 'committed' | 'none'; consistent: boolean } {
  switch (state) {
    case 'pending':
      // a gateway payment applies its leg before it becomes pending
      if (applyIn === 'initial') return { phase: 'held', consistent: isHeld };
      return { phase: isHeld ? 'held' : 'none', consistent: true };
    case 'initial':
    case 'canceling':
      // applied or not yet / rolled back already: a crash can stop between any two legs
      return { phase: isHeld ? 'held' : 'none', consistent: true };
    case 'applied':
      // every leg was applied before `applied`; one that is no longer held has been committed
      return { phase: isHeld ? 'held' : 'committed', consistent: true };
    case 'done':
      return { phase: 'committed', consistent: !isHeld };
    case 'canceled':
      return { phase: 'none', consistent: !isHeld };
  }
}
