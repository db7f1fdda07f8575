import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lease } from '../../src/core/lease.js';
import { loadPaymentsConfig } from '../../src/payments/config.js';
import { UNLOCKED } from '../../src/payments/transactions.js';
import { GATEWAY_LEASE } from '../../src/payments/worker.js';
import { createWorker } from '../../src/service.js';
import { killSpawned, spawnProcess } from '../helpers/processes.js';
import { handMadeBalance } from '../helpers/audit.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { walletEnv } from '../helpers/wallet-processes.js';
import { PARKS_UNREACHABLE } from '../helpers/payments-configs.js';

// the worker gives up on a withdrawal whose gateway never answers: one parked payment for the CLI to show
const payments = loadPaymentsConfig(PARKS_UNREACHABLE);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let t: TestService;
let walletId: string;
let parkedId: string;
let parkedMessage: string;

beforeAll(async () => {
  t = await startTestService({ payments });
  const account = (await t.call('/account/create', { name: 'c', phone: '17700000001', state: 100 })).body._id as string;
  walletId = (await t.call('/wallet/create', { account_id: account })).body._id as string;
  await handMadeBalance(t.db, walletId, 1000);
  await t.db.collection('wallet_transaction').insertOne({
    type: 'recharge',
    wallet_id: new ObjectId(walletId),
    to_wallet_id: null,
    money: 1000,
    out_trade_no: 'cli-fund',
    state: 'done',
    lock_until: UNLOCKED,
    created_at: new Date(),
    updated_at: new Date(),
  });
  parkedId = (await t.call('/wallet/withdraw', { wallet_id: walletId, money: 400, out_trade_no: 'unreachable-cli' })).body._id as string;
  const worker = createWorker(t.db, t.service.engine, payments, t.logger);
  for (let i = 0; i < 6; i++) {
    await worker.round();
    await sleep(30);
  }
  const tx = await t.db.collection('wallet_transaction').findOne({ _id: new ObjectId(parkedId) });
  expect(tx).toMatchObject({ parked: true, attempts: 2 });
  parkedMessage = tx?.error.message as string;
  await sleep(350); // the worker's lease lapses
});
afterAll(async () => {
  killSpawned();
  await t.close();
});

/** `npm run cli -- <args>` as a process with a pipe for stdout: its exit code and what it printed there. */
async function cli(args: string[]): Promise<{ code: number | null; stdout: string; output: string }> {
  const proc = spawnProcess(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], walletEnv(t.db.databaseName));
  let stdout = '';
  proc.child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const { code } = await proc.exited;
  return { code, stdout, output: proc.output() };
}

describe('wallet verify', () => {
  it('prints the report as JSON with --json', async () => {
    const { code, stdout } = await cli(['wallet', 'verify', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      ok: true,
      wallets: 1,
      transactions: 2,
      by_state: { initial: 0, pending: 1, applied: 0, done: 1, canceling: 0, canceled: 0 },
      total_balance: 1000,
      total_frozen: 400,
      recharged: 1000,
      withdrawn: 0,
      // its open, the hand-made funding, the withdrawal's freeze
      audit: { ok: true, wallets_replayed: 1, records: 3, unaudited: 0 },
      breaks: [],
    });
  });

  it('keeps its plain lines when piped', async () => {
    const { code, stdout } = await cli(['wallet', 'verify']);
    expect(code).toBe(0);
    expect(stdout).toBe(
      'wallets: 1; transactions: 2 (initial 0, pending 1, applied 0, done 1, canceling 0, canceled 0)\n' +
        'total balance 1000, frozen 400; recharged 1000, withdrawn 0\n' +
        'audit trail replays to the balances: 1 wallet(s), 3 record(s)\nbooks OK\n',
    );
  });

  it('exits 1 with --json on a break, the break in the JSON', async () => {
    await t.db.collection('wallet').updateOne({ _id: new ObjectId(walletId) }, { $inc: { balance_money: 5 } });
    try {
      const { code, stdout } = await cli(['wallet', 'verify', '--json']);
      expect(code).toBe(1);
      const report = JSON.parse(stdout);
      expect(report.ok).toBe(false);
      expect(report.breaks).toContainEqual({
        kind: 'balance_mismatch',
        wallet_id: walletId,
        detail: 'balance_money is 1005, the ledger says 1000',
      });
    } finally {
      await t.db.collection('wallet').updateOne({ _id: new ObjectId(walletId) }, { $inc: { balance_money: -5 } });
    }
  });
});

describe('wallet parked', () => {
  it('lists the parked payments as JSON with --json', async () => {
    const { code, stdout } = await cli(['wallet', 'parked', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      parked: [
        { transaction_id: parkedId, type: 'withdraw', money: 400, out_trade_no: 'unreachable-cli', attempts: 2, error: parkedMessage },
      ],
    });
  });

  it('keeps one plain line per payment when piped', async () => {
    const { code, stdout } = await cli(['wallet', 'parked']);
    expect(code).toBe(0);
    expect(stdout).toBe(`${parkedId} withdraw 400 out_trade_no=unreachable-cli attempts=2: ${parkedMessage}\n`);
  });

  it('prints an aligned table on a terminal', async () => {
    // script(1) gives the CLI a pseudo-terminal, so its stdout is a TTY as in an operator's shell
    const command = [process.execPath, '--import', 'tsx', 'src/cli.ts', 'wallet', 'parked'].join(' ');
    const proc = spawnProcess('script', ['-qec', command, '/dev/null'], walletEnv(t.db.databaseName));
    expect((await proc.exited).code).toBe(0);
    const lines = proc.output().replace(/\r/g, '').split('\n');
    const header = lines.findIndex((line) => line.startsWith('transaction_id'));
    expect(lines.slice(header, header + 3)).toEqual([
      'transaction_id            type      money  out_trade_no     attempts  error',
      `${'─'.repeat(24)}  ${'─'.repeat(8)}  ${'─'.repeat(5)}  ${'─'.repeat(15)}  ${'─'.repeat(8)}  ${'─'.repeat(parkedMessage.length)}`,
      `${parkedId}  withdraw    400  unreachable-cli         2  ${parkedMessage}`,
    ]);
  });

  it('refuses an unknown option with exit 2', async () => {
    const { code, output } = await cli(['wallet', 'parked', '--yaml']);
    expect(code).toBe(2);
    expect(output).toMatch(/^unknown option --yaml\n\nusage: npm run cli/);
  });
});

describe('worker status', () => {
  it('names the lease holder as JSON with --json', async () => {
    const lease = new Lease(t.db, { name: GATEWAY_LEASE, owner: 'cli-output-test', ttlMs: 120_000 });
    expect(await lease.acquire()).toBe(true);
    try {
      const { code, stdout } = await cli(['worker', 'status', '--json']);
      expect(code).toBe(0);
      const status = JSON.parse(stdout);
      expect(status).toEqual({ held: true, owner: 'cli-output-test', expires_at: expect.any(String) });
      expect(Date.parse(status.expires_at)).toBeGreaterThan(Date.now());
    } finally {
      await lease.release();
    }
  });

  it('says nobody holds it as JSON with --json', async () => {
    const { code, stdout } = await cli(['worker', 'status', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ held: false, owner: null, expires_at: null });
  });

  it('keeps its plain line when piped', async () => {
    const { code, stdout } = await cli(['worker', 'status']);
    expect(code).toBe(0);
    expect(stdout).toBe('no worker holds the lease\n');
  });
});
