import { ObjectId, type Db } from 'mongodb';
import { createLogger } from './core/logger.js';
import { IMPORT_USAGE, runImportCommand } from './import/command.js';
import { Lease } from './core/lease.js';
import type { PaymentsConfig } from './payments/config.js';
import { transactions } from './payments/collections.js';
import { actorName } from './payments/transactions.js';
import { verifyBooks } from './payments/verify.js';
import { cliUser } from './payments/audit.js';
import { loadPublishingConfig } from './publishing/config.js';
import { verifyPassport } from './publishing/verify.js';
import { GATEWAY_LEASE } from './payments/worker.js';
import { loadConfigsOrExit } from './boot/configs.js';
import { openDatabase } from './boot/open-database.js';
import { SCHEMAS_USAGE, UsageError, runSchemasCommand } from './schemas-cli.js';
import { createEngine } from './service.js';
import { outputMode, renderParked, renderVerify, renderWorkerStatus } from './cli/views.js';

const USAGE = `usage: npm run cli -- <command>     (--help: this text)

  wallet verify [--require-settled] [--json]
        check the books: every wallet's balance and frozen money against its transactions, no negative
        wallet, no dangling ids in pending_transactions; with nothing in flight, the money in the wallets
        equals what came in minus what went out; the audit trail (wallet_audit) replays to every balance.
        --require-settled also fails on transactions that are not done or canceled. Exits 1 on any break.
  wallet recover
        drive every stuck transaction (lock run out) to its end once, as the worker's sweep does
  wallet parked [--json]
        list the gateway payments the worker gave up on (after WORKER_MAX_ATTEMPTS failed calls)
  wallet resolve <transaction_id> succeeded <gateway_trade_no>
  wallet resolve <transaction_id> declined [reason]
        settle a gateway payment from the gateway's own records: succeeded moves the money, declined gives it back
  wallet unpark <transaction_id>
        put a parked payment back in the worker's queue
  worker status [--json]
        who holds the payment worker lease
  passport verify <internal_id> [--json]
        recompute the IPFS CID of a published passport and compare it with passport_ipfs_cid; with the local
        publisher also re-hash the stored document and check the ledger record. Exits 1 on any mismatch.
${SCHEMAS_USAGE}
${IMPORT_USAGE}
On a terminal wallet verify, wallet parked and worker status print aligned tables; piped, plain lines; --json: JSON.
Database: MONGODB_URL, else the local database of a running npm start / npm run worker.
`;

/** `npm run cli -- ...`: operator commands. */
async function main(argv: string[]): Promise<number> {
  const [group, command, ...rest] = argv;
  if (group === undefined || ['--help', '-h', 'help'].includes(group)) {
    // asked for (or nothing given): the usage is the answer, on stdout
    (group === undefined ? process.stderr : process.stdout).write(USAGE);
    return group === undefined ? 2 : 0;
  }
  if (group === 'schemas') {
    // no database for these (preview opens its own)
    try {
      const code = await runSchemasCommand(command, rest);
      if (code !== undefined) return code;
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      process.stderr.write(`${err.message}\n\n`);
    }
    process.stderr.write(USAGE);
    return 2;
  }
  // import talks to a running service over HTTP, not to the database
  if (group === 'import') return await runImportCommand(argv.slice(1));
  const run = COMMANDS[`${group} ${command}`];
  if (!run) {
    process.stderr.write(USAGE);
    return 2;
  }
  const { config, payments } = loadConfigsOrExit();
  const logger = createLogger({ level: 'warn', pretty: false, name: 'cli', destination: process.stderr as never });
  // an operator's command may read a whole collection (verify); it is watched, not bounded like a request
  const opened = await openDatabase({ ...config, dbTimeoutMs: 0 }, logger);
  try {
    return await run(opened.database.db, rest, payments);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  } finally {
    await opened.close();
  }
}

type Command = (db: Db, args: string[], payments: PaymentsConfig) => Promise<number>;

const owner = () => actorName('cli');
/** The operator the audit trail names (`cli:<login>`). */
const operator = () => ({ who: cliUser(), request_id: null });

const COMMANDS: Record<string, Command> = {
  'wallet verify': async (db, flags) => {
    onlyFlags(flags, ['--require-settled', '--json']);
    const report = await verifyBooks(db, {
      requireSettled: flags.includes('--require-settled'),
      progress: process.stderr.isTTY ? (read, total) => process.stderr.write(`\rchecked ${read}/${total} transactions`) : undefined,
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    process.stdout.write(renderVerify(report, outputMode(flags)));
    return report.ok ? 0 : 1;
  },
  'wallet recover': async (db, _args, payments) => {
    const { recovered, failed } = await createEngine(payments).recoverStuck(db, owner());
    process.stdout.write(
      `recovered ${recovered.length} transaction(s)${recovered.map((tx) => `\n  ${tx._id.toHexString()} ${tx.type} → ${tx.state}`).join('')}\n`,
    );
    for (const { id, error } of failed) process.stdout.write(`  FAILED ${id.toHexString()}: ${error.message}\n`);
    return failed.length === 0 ? 0 : 1;
  },
  'wallet parked': async (db, flags) => {
    onlyFlags(flags, ['--json']);
    const parked = await transactions(db).find({ parked: true, state: 'pending' }).sort({ _id: 1 }).toArray();
    const rows = parked.map((tx) => ({
      transaction_id: tx._id.toHexString(),
      type: tx.type,
      money: tx.money,
      out_trade_no: tx.out_trade_no,
      attempts: tx.attempts,
      error: tx.error?.message ?? null,
    }));
    process.stdout.write(renderParked(rows, outputMode(flags)));
    return 0;
  },
  'wallet resolve': async (db, [id, status, ...detail], payments) => {
    const txId = parseId(id);
    if (status === 'succeeded' && detail[0]) {
      const outcome = { status: 'succeeded' as const, gateway_trade_no: detail[0] };
      const tx = await createEngine(payments).resolve(db, txId, owner(), outcome, operator());
      process.stdout.write(`${tx._id.toHexString()} ${tx.type} → ${tx.state}\n`);
      return 0;
    }
    if (status === 'declined') {
      const outcome = { status: 'declined' as const, reason: detail.join(' ') || 'declined (resolved by an operator)' };
      const tx = await createEngine(payments).resolve(db, txId, owner(), outcome, operator());
      process.stdout.write(`${tx._id.toHexString()} ${tx.type} → ${tx.state}\n`);
      return 0;
    }
    throw new UsageError('resolve needs "succeeded <gateway_trade_no>" or "declined [reason]"');
  },
  'wallet unpark': async (db, [id], payments) => {
    const done = await createEngine(payments).unpark(db, parseId(id), operator());
    process.stdout.write(done ? 'back in the queue\n' : 'not a parked payment\n');
    return done ? 0 : 1;
  },
  'passport verify': async (db, [internalId, ...flags]) => {
    if (!internalId || internalId.startsWith('-')) throw new UsageError('passport verify needs an internal_id');
    onlyFlags(flags, ['--json']);
    const report = await verifyPassport(db, internalId, { local: loadPublishingConfig().gateway.kind === 'local' });
    const text = `${report.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.check}: ${c.detail}`).join('\n')}\n${report.ok ? 'passport OK' : 'PASSPORT NOT VERIFIED'}\n`;
    process.stdout.write(flags.includes('--json') ? `${JSON.stringify(report, null, 2)}\n` : text);
    return report.ok ? 0 : 1;
  },
  'worker status': async (db, flags) => {
    onlyFlags(flags, ['--json']);
    const holder = await new Lease(db, { name: GATEWAY_LEASE, owner: 'cli', ttlMs: 1 }).current();
    const live = holder !== null && holder.expires_at.getTime() > Date.now();
    const status = live
      ? { held: true, owner: holder.owner, expires_at: holder.expires_at.toISOString() }
      : { held: false, owner: null, expires_at: null };
    process.stdout.write(renderWorkerStatus(status, outputMode(flags)));
    return 0;
  },
};

function parseId(id: string | undefined): ObjectId {
  if (!id || !/^[0-9a-f]{24}$/i.test(id)) throw new UsageError(`"${id ?? ''}" is not a transaction id (24 hex characters)`);
  return ObjectId.createFromHexString(id);
}

/** Refuses any flag not in `allowed` (a typo must not silently print the wrong format). */
function onlyFlags(flags: string[], allowed: string[]): void {
  const unknown = flags.filter((f) => !allowed.includes(f));
  if (unknown.length > 0) throw new UsageError(`unknown option ${unknown.join(' ')}`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
