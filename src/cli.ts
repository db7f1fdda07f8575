import { createLogger } from './core/logger.js';
import { Lease } from './core/lease.js';
import { loadConfigsOrExit, openDatabase } from './process.js';
import { verifyBooks, type VerifyReport } from './payments/verify.js';
import { GATEWAY_LEASE } from './payments/worker.js';
import { createEngine } from './service.js';

const USAGE = `usage: npm run cli -- <command>

  wallet verify [--require-settled] [--json]
        check the books: every wallet's balance and frozen money against its transactions, no negative
        wallet, no dangling ids in pending_transactions. --require-settled also fails on transactions that
        are not done or canceled. Exits 1 on any break.
  wallet recover
        drive every stuck transaction (lock run out) to its end once, as the worker's sweep does
  worker status
        who holds the payment worker lease

Database: MONGODB_URL, else the local database of a running npm start / npm run worker.
`;

/** `npm run cli -- ...`: operator commands. */
async function main(argv: string[]): Promise<number> {
  const [group, command, ...flags] = argv;
  const known = ['wallet verify', 'wallet recover', 'worker status'];
  if (!group || !command || !known.includes(`${group} ${command}`) || flags.some((f) => !['--require-settled', '--json'].includes(f))) {
    process.stderr.write(USAGE);
    return 2;
  }
  const { config, payments } = loadConfigsOrExit();
  const logger = createLogger({ level: 'warn', pretty: false, name: 'cli', destination: process.stderr as never });
  const opened = await openDatabase(config, logger);
  try {
    const db = opened.database.db;
    if (group === 'worker') {
      const holder = await new Lease(db, { name: GATEWAY_LEASE, owner: 'cli', ttlMs: 1 }).current();
      const live = holder && holder.expires_at.getTime() > Date.now();
      process.stdout.write(live ? `lease held by ${holder.owner} until ${holder.expires_at.toISOString()}\n` : 'no worker holds the lease\n');
      return 0;
    }
    if (command === 'recover') {
      const recovered = await createEngine(payments).recoverStuck(db, `cli:${process.pid}`);
      process.stdout.write(`recovered ${recovered.length} transaction(s)${recovered.map((tx) => `\n  ${tx._id.toHexString()} ${tx.type} → ${tx.state}`).join('')}\n`);
      return 0;
    }
    const report = await verifyBooks(db, {
      requireSettled: flags.includes('--require-settled'),
      progress: process.stderr.isTTY ? (read, total) => process.stderr.write(`\rchecked ${read}/${total} transactions`) : undefined,
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    process.stdout.write(flags.includes('--json') ? `${JSON.stringify(report, null, 2)}\n` : describe(report));
    return report.ok ? 0 : 1;
  } finally {
    await opened.close();
  }
}

function describe(report: VerifyReport): string {
  const states = Object.entries(report.by_state).map(([state, n]) => `${state} ${n}`).join(', ');
  const lines = [
    `wallets: ${report.wallets}; transactions: ${report.transactions} (${states})`,
    `total balance ${report.total_balance}, frozen ${report.total_frozen}; recharged ${report.recharged}, withdrawn ${report.withdrawn}`,
  ];
  if (report.ok) lines.push('books OK');
  else lines.push(`BOOKS BROKEN: ${report.breaks.length} problem(s)`, ...report.breaks.map((b) => `  ${b.kind} ${b.wallet_id ?? ''} ${b.tx_id ?? ''}: ${b.detail}`));
  return `${lines.join('\n')}\n`;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
