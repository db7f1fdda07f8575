import type { VerifyReport } from '../payments/verify.js';
import { renderTable } from './table.js';

/** How a command prints: `--json`; aligned tables on a terminal; else the plain lines scripts and logs have always had. */
export type OutputMode = 'json' | 'table' | 'plain';

/** The output mode for these flags and this stdout. */
export function outputMode(flags: string[], isTTY = process.stdout.isTTY === true): OutputMode {
  if (flags.includes('--json')) return 'json';
  return isTTY ? 'table' : 'plain';
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** `wallet verify` output. */
export function renderVerify(report: VerifyReport, mode: OutputMode): string {
  if (mode === 'json') return json(report);
  const verdict = report.ok ? 'books OK' : `BOOKS BROKEN: ${report.breaks.length} problem(s)`;
  if (mode === 'plain') {
    const states = Object.entries(report.by_state)
      .map(([state, n]) => `${state} ${n}`)
      .join(', ');
    const lines = [
      `wallets: ${report.wallets}; transactions: ${report.transactions} (${states})`,
      `total balance ${report.total_balance}, frozen ${report.total_frozen}; recharged ${report.recharged}, withdrawn ${report.withdrawn}`,
      auditLine(report),
      verdict,
      ...report.breaks.map((b) => `  ${b.kind} ${b.wallet_id ?? ''} ${b.tx_id ?? ''}: ${b.detail}`),
    ];
    return `${lines.join('\n')}\n`;
  }
  const figures = renderTable(
    [{ header: 'books' }, { header: 'value', align: 'right' }],
    [
      ['wallets', report.wallets],
      ['transactions', report.transactions],
      ...Object.entries(report.by_state).map(([state, n]) => [`  ${state}`, n]),
      ['total balance', report.total_balance],
      ['total frozen', report.total_frozen],
      ['recharged', report.recharged],
      ['withdrawn', report.withdrawn],
      // the audit trail (wallet_audit): wallets that replay to their money, records, wallets without a trail
      ['audited', report.audit.wallets_replayed],
      ['audit records', report.audit.records],
      ['unaudited', report.audit.unaudited],
    ],
  );
  const breaks =
    report.breaks.length === 0
      ? ''
      : `\n${renderTable(
          [{ header: 'break' }, { header: 'wallet_id' }, { header: 'tx_id' }, { header: 'detail' }],
          report.breaks.map((b) => [b.kind, b.wallet_id, b.tx_id, b.detail]),
        )}`;
  return `${figures}${breaks}\n${auditLine(report)}\n${verdict}\n`;
}

/** The audit trail's verdict in words. */
function auditLine(report: VerifyReport): string {
  const { audit } = report;
  const without = audit.unaudited > 0 ? `; ${audit.unaudited} wallet(s) without a trail` : '';
  return audit.ok
    ? `audit trail replays to the balances: ${audit.wallets_replayed} wallet(s), ${audit.records} record(s)${without}`
    : `AUDIT TRAIL DOES NOT REPLAY to the balances (see audit_mismatch)${without}`;
}

/** One parked payment as the CLI shows it. */
export interface ParkedRow {
  transaction_id: string;
  type: string;
  money: number;
  out_trade_no: string;
  attempts: number;
  error: string | null;
}

/** `wallet parked` output. */
export function renderParked(parked: ParkedRow[], mode: OutputMode): string {
  if (mode === 'json') return json({ parked });
  if (parked.length === 0) return 'no parked payments\n';
  if (mode === 'plain') {
    return `${parked.map((p) => `${p.transaction_id} ${p.type} ${p.money} out_trade_no=${p.out_trade_no} attempts=${p.attempts}: ${p.error ?? ''}`).join('\n')}\n`;
  }
  return renderTable(
    ['transaction_id', 'type', 'money', 'out_trade_no', 'attempts', 'error'].map((header) => ({ header })),
    parked.map((p) => [p.transaction_id, p.type, p.money, p.out_trade_no, p.attempts, p.error]),
  );
}

/** `worker status` as data: the live holder of the payment worker lease, if any. */
export interface WorkerStatus {
  held: boolean;
  owner: string | null;
  expires_at: string | null;
}

/** `worker status` output; `now` is for the "expires in" column. */
export function renderWorkerStatus(status: WorkerStatus, mode: OutputMode, now = Date.now()): string {
  if (mode === 'json') return json(status);
  if (!status.held || status.owner === null || status.expires_at === null) return 'no worker holds the lease\n';
  if (mode === 'plain') return `lease held by ${status.owner} until ${status.expires_at}\n`;
  const seconds = ((Date.parse(status.expires_at) - now) / 1000).toFixed(1);
  return renderTable(
    [{ header: 'lease holder' }, { header: 'expires_at' }, { header: 'expires in (s)' }],
    [[status.owner, status.expires_at, seconds]],
  );
}
