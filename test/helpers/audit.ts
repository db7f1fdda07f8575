import { type Db, ObjectId } from 'mongodb';
import { auditEntry, auditUpdate } from '../../src/payments/audit.js';

/**
 * Gives a fresh wallet a hand-made balance together with the audit entry the engine would have written with it (a
 * committed recharge), so the audit trail still replays to the balance. Tests pair it with a done recharge.
 */
export async function handMadeBalance(db: Db, wallet: string, money: number, txId?: ObjectId): Promise<void> {
  const entry = auditEntry({ who: 'test:hand-made', request_id: null }, 'commit', {
    balance: money,
    frozen: 0,
    tx_type: 'recharge',
    role: 'recharge_target',
    ...(txId ? { tx_id: txId } : {}),
  });
  const audit = auditUpdate(entry);
  await db
    .collection('wallet')
    .updateOne({ _id: new ObjectId(wallet) }, { $set: { balance_money: money }, $push: audit.push, $inc: audit.inc });
}
