import { ObjectId, type Db } from 'mongodb';
import { transactions } from './collections.js';
import { type LedgerTx, SNAPSHOT_ATTEMPTS, TX_FIELDS } from './ledger-view.js';
import type { Break } from './verify.js';

/**
 * What each collect's refunds should have reserved on it: `refunded_money` is the sum of the refunds it lists in
 * `refunds`, never more than it collected; a listed refund exists and is not canceled, and every refund that got
 * past its legs (applied, done) is listed.
 */
export class RefundBooks {
  private readonly collects = new Map<string, LedgerTx>();
  private readonly refundsOf = new Map<string, LedgerTx[]>();

  add(tx: LedgerTx): void {
    if (tx.type === 'collect') this.collects.set(tx._id.toHexString(), tx);
    if (tx.type === 'refund' && tx.refund_of) {
      const key = tx.refund_of.toHexString();
      this.refundsOf.set(key, [...(this.refundsOf.get(key) ?? []), tx]);
    }
  }

  /** The collects whose refunds do not add up in this view. */
  flagged(): string[] {
    const ids = new Set([
      ...this.refundsOf.keys(),
      ...[...this.collects.values()]
        .filter((c) => (c.refunds ?? []).length > 0 || Number(c.refunded_money ?? 0) !== 0)
        .map((c) => c._id.toHexString()),
    ]);
    return [...ids].filter((id) => refundBreaks(id, this.collects.get(id), this.refundsOf.get(id) ?? []).length > 0);
  }
}

function refundBreaks(collectId: string, collect: LedgerTx | undefined, refunds: LedgerTx[]): Break[] {
  const breaks: Break[] = [];
  const broken = (detail: string) => breaks.push({ kind: 'refund_mismatch', tx_id: collectId, detail });
  if (collect?.type !== 'collect') {
    if (refunds.some((r) => r.state === 'applied' || r.state === 'done'))
      broken('refunds that moved money name a collect that does not exist');
    return breaks;
  }
  const byId = new Map(refunds.map((r) => [r._id.toHexString(), r]));
  const listed = (collect.refunds ?? []).map((id) => id.toHexString());
  let sum = 0;
  for (const id of listed) {
    const refund = byId.get(id);
    if (!refund) broken(`lists refund ${id}, which is not a refund of it`);
    else if (refund.state === 'canceled') broken(`still holds the amount of refund ${id}, which was canceled`);
    else sum += Number(refund.money);
  }
  for (const refund of refunds) {
    const id = refund._id.toHexString();
    if ((refund.state === 'applied' || refund.state === 'done') && !listed.includes(id))
      broken(`refund ${id} is ${refund.state} but not reserved on it`);
  }
  const refunded = Number(collect.refunded_money ?? 0);
  if (refunded !== sum) broken(`refunded_money is ${refunded}, its refunds hold ${sum}`);
  if (refunded > Number(collect.money)) broken(`refunded_money ${refunded} is more than it collected (${collect.money})`);
  return breaks;
}

/** The refund breaks of one collect from a consistent view: the collect, its refunds, the collect unchanged. */
export async function checkCollectAlone(db: Db, collectId: string): Promise<Break[]> {
  const _id = ObjectId.createFromHexString(collectId);
  let found: Break[] = [];
  for (let attempt = 0; attempt < SNAPSHOT_ATTEMPTS; attempt++) {
    const before = await transactions(db).findOne({ _id }, { projection: TX_FIELDS });
    const refunds = await transactions(db).find({ refund_of: _id }, { projection: TX_FIELDS }).toArray();
    const after = await transactions(db).findOne({ _id }, { projection: TX_FIELDS });
    found = refundBreaks(collectId, before ?? undefined, refunds);
    if (before?.updated_at?.getTime() === after?.updated_at?.getTime()) return found;
  }
  return [
    { kind: 'unverified', tx_id: collectId, detail: `the collect kept changing during ${SNAPSHOT_ATTEMPTS} attempts to check its refunds` },
    ...found,
  ];
}
