import { describe, expect, it } from 'vitest';
import { outputMode, renderParked, renderVerify, renderWorkerStatus, type ParkedRow } from '../../src/cli/views.js';
import type { VerifyReport } from '../../src/payments/verify.js';

const report: VerifyReport = {
  ok: false,
  wallets: 2,
  transactions: 3,
  by_state: { initial: 0, pending: 1, applied: 0, done: 2, canceling: 0, canceled: 0 } as VerifyReport['by_state'],
  total_balance: 1000,
  total_frozen: 100,
  recharged: 1000,
  withdrawn: 0,
  audit: { ok: true, wallets_replayed: 2, records: 9, unaudited: 0 },
  breaks: [{ kind: 'balance_mismatch', wallet_id: 'w1', detail: 'balance_money is 7, the ledger says 0' }],
};

const parked: ParkedRow[] = [
  { transaction_id: 'aaaaaaaaaaaaaaaaaaaaaaaa', type: 'withdraw', money: 400, out_trade_no: 'o-1', attempts: 2, error: 'gave up' },
  { transaction_id: 'bbbbbbbbbbbbbbbbbbbbbbbb', type: 'recharge', money: 12000, out_trade_no: 'o-22', attempts: 10, error: null },
];

describe('outputMode', () => {
  it('is json with --json, even on a terminal', () => {
    expect(outputMode(['--json'], true)).toBe('json');
  });

  it('is table on a terminal, plain when piped', () => {
    expect([outputMode([], true), outputMode([], false)]).toEqual(['table', 'plain']);
  });
});

describe('renderVerify as a table', () => {
  it('lists the figures right-aligned, then the breaks, then the verdict', () => {
    expect(renderVerify(report, 'table')).toBe(
      [
        'books          value',
        '─────────────  ─────',
        'wallets            2',
        'transactions       3',
        '  initial          0',
        '  pending          1',
        '  applied          0',
        '  done             2',
        '  canceling        0',
        '  canceled         0',
        'total balance   1000',
        'total frozen     100',
        'recharged       1000',
        'withdrawn          0',
        'audited            2',
        'audit records      9',
        'unaudited          0',
        '',
        'break             wallet_id  tx_id  detail',
        '────────────────  ─────────  ─────  ─────────────────────────────────────',
        'balance_mismatch  w1                balance_money is 7, the ledger says 0',
        '',
        'audit trail replays to the balances: 2 wallet(s), 9 record(s)',
        'BOOKS BROKEN: 1 problem(s)',
        '',
      ].join('\n'),
    );
  });
});

describe('renderParked as a table', () => {
  it('puts one payment per row, its money, attempts right-aligned', () => {
    expect(renderParked(parked, 'table')).toBe(
      [
        'transaction_id            type      money  out_trade_no  attempts  error',
        '────────────────────────  ────────  ─────  ────────────  ────────  ───────',
        'aaaaaaaaaaaaaaaaaaaaaaaa  withdraw    400  o-1                  2  gave up',
        'bbbbbbbbbbbbbbbbbbbbbbbb  recharge  12000  o-22                10',
        '',
      ].join('\n'),
    );
  });

  it('says so when nothing is parked', () => {
    expect(renderParked([], 'table')).toBe('no parked payments\n');
  });
});

describe('renderWorkerStatus as a table', () => {
  it('shows the holder, the expiry, the seconds left', () => {
    const status = { held: true, owner: 'worker:host:1', expires_at: '2026-12-01T16:00:05.000Z' };
    expect(renderWorkerStatus(status, 'table', Date.parse('2026-12-01T16:00:00.000Z'))).toBe(
      [
        'lease holder   expires_at                expires in (s)',
        '─────────────  ────────────────────────  ──────────────',
        'worker:host:1  2026-12-01T16:00:05.000Z             5.0',
        '',
      ].join('\n'),
    );
  });
});
