import { MongoClient, ObjectId, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applyLeg, settleLeg } from '../../src/payments/legs.js';
import { killSpawned } from '../helpers/processes.js';
import { uniqueDbName } from '../helpers/service.js';
import { runVerify, startApi, startWorker, walletEnv, type ApiProcess } from '../helpers/wallet-processes.js';

// An actor that freezes between checking its lock and writing to a wallet, while recovery takes its transaction
// over and finishes it, must not move the money a second time when it wakes up.
const dbName = uniqueDbName('stale');
let client: MongoClient;
let db: Db;
let api: ApiProcess;

beforeAll(async () => {
  client = new MongoClient(inject('mongoUrl'));
  db = client.db(dbName);
  api = await startApi(walletEnv(dbName, { WORKER: 'off' }));
}, 60_000);

afterAll(async () => {
  await api?.stop();
  killSpawned();
  await db?.dropDatabase();
  await client?.close();
});

async function fundedWallets(): Promise<[string, string]> {
  const ids: string[] = [];
  for (const phone of [`1550000${Date.now() % 10000}`, `1560000${Date.now() % 10000}`]) {
    const account = await api.call('/account/create', { name: 'stale', phone, state: 100 });
    ids.push((await api.call('/wallet/create', { account_id: account.body._id })).body._id as string);
  }
  await api.call('/wallet/recharge', { wallet_id: ids[0], money: 5_000, out_trade_no: `stale-fund-${Date.now()}` });
  return ids as [string, string];
}

/** The audit trail's actor of these direct leg writes. */
const BY = { actor: { who: 'test:wallet-stale', request_id: null }, txType: 'transfer' } as const;

describe('a wallet write that arrives after its lock could have run out', () => {
  it('is refused by the database (the fence), whatever the actor believes', async () => {
    const [walletHex] = await fundedWallets();
    const wallet = new ObjectId(walletHex);
    const tx = new ObjectId();
    const past = new Date(Date.now() - 1);
    expect(await applyLeg(db, wallet, 'transfer_destination', tx, 100, past, BY)).toEqual({ ok: false, reason: 'fenced' });
    expect((await db.collection('wallet').findOne({ _id: wallet }))?.pending_transactions).not.toContainEqual(tx);
    const later = new Date(Date.now() + 60_000);
    expect(await applyLeg(db, wallet, 'transfer_destination', tx, 100, later, BY)).toEqual({ ok: true, already: false });
    expect(await settleLeg(db, wallet, 'transfer_destination', tx, 100, 'rollback', BY)).toBe(true);
  });

  it('lets a request that froze mid-transfer wake up after recovery finished it, the money moved once', async () => {
    const [from, to] = await fundedWallets();
    const rescuer = await startWorker(walletEnv(dbName)); // settles the funding recharge, then sweeps every 200 ms
    const funded = Date.now() + 15_000;
    while ((await db.collection('wallet').findOne({ _id: new ObjectId(from) }))?.frozen_money !== 0 && Date.now() < funded) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // this API process freezes for 3 s right before crediting the destination; its lock lasts 800 ms
    const frozen = await startApi(
      walletEnv(dbName, { WORKER: 'off', STALL_AT: 'transfer.before_apply_transfer_destination', STALL_MS: '3000' }),
    );
    const answer = await frozen.call('/wallet/transfer', {
      from_wallet_id: from,
      to_wallet_id: to,
      money: 700,
      out_trade_no: 'stale-transfer',
    });
    expect(frozen.proc.output()).toContain('fault injection: stalling 3000 ms at transfer.before_apply_transfer_destination');
    expect(frozen.proc.output()).toContain('fault injection: resumed at transfer.before_apply_transfer_destination');
    // recovery finished the transfer while the request slept; the late credit was refused, the request says so
    expect(answer).toEqual({ status: 200, body: { _id: expect.any(String), state: 'done' } });
    expect(frozen.proc.output()).toContain('lost the transaction lock; answering with its current state');
    await frozen.stop();
    rescuer.child.kill('SIGTERM');
    await rescuer.exited;

    const walletOf = async (id: string) => {
      const doc = await db.collection('wallet').findOne({ _id: new ObjectId(id) });
      return { balance: doc?.balance_money, frozen: doc?.frozen_money, pending: doc?.pending_transactions.length };
    };
    expect(await walletOf(from)).toEqual({ balance: 4_300, frozen: 0, pending: 0 });
    expect(await walletOf(to)).toEqual({ balance: 700, frozen: 0, pending: 0 });
    const verify = await runVerify(walletEnv(dbName));
    expect(verify.output).toContain('books OK');
    expect(verify.code).toBe(0);
  });
});
