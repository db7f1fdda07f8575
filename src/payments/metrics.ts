import type { Db } from 'mongodb';
import type { Metrics } from '../core/metrics.js';
import { GatewayUnavailableError, type GatewayOrder, type GatewayResult, type PaymentGateway } from './gateway.js';
import { TX_COLLECTION } from './collections.js';
import { FINAL_STATES, TX_STATES } from './transactions.js';
import { GATEWAY_LEASE } from './worker.js';

const UNFINISHED = TX_STATES.filter((state) => !FINAL_STATES.includes(state));

/**
 * The wallet gauges an operator alerts on, read from MongoDB at scrape time. Each is one query over the unfinished
 * transactions (served by the `state` indexes), so a scrape costs the same however long the ledger grows; finished
 * transactions are not counted here for that reason.
 */
export function registerWalletMetrics(metrics: Metrics, db: Db): void {
  const txs = db.collection(TX_COLLECTION);
  metrics.addScrapeGauge({
    name: 'wallet_transactions_unfinished',
    help: 'Transactions not yet done or canceled, by kind and state',
    labelNames: ['kind', 'state'],
    async collect(set) {
      const groups = await txs
        .aggregate<{ _id: { kind: string; state: string }; n: number }>([
          { $match: { state: { $in: UNFINISHED } } },
          { $group: { _id: { kind: '$type', state: '$state' }, n: { $sum: 1 } } },
        ])
        .toArray();
      for (const group of groups) set(group.n, { kind: group._id.kind, state: group._id.state });
    },
  });
  metrics.addScrapeGauge({
    name: 'wallet_oldest_unfinished_transaction_age_seconds',
    help: 'Age of the oldest transaction not yet done or canceled (0 when there is none)',
    async collect(set) {
      const [oldest] = await txs
        .find({ state: { $in: UNFINISHED } }, { projection: { created_at: 1 } })
        .sort({ created_at: 1 })
        .limit(1)
        .toArray();
      set(oldest ? Math.max(0, (Date.now() - (oldest.created_at as Date).getTime()) / 1000) : 0);
    },
  });
  metrics.addScrapeGauge({
    name: 'wallet_parked_payments',
    help: 'Gateway payments the worker gave up on, waiting for an operator (wallet parked / resolve)',
    async collect(set) {
      set(await txs.countDocuments({ state: 'pending', parked: true }));
    },
  });
  metrics.addScrapeGauge({
    name: 'payment_worker_due_lag_seconds',
    help: 'How long the most overdue gateway payment has been waiting for the worker (0 when none is due)',
    async collect(set) {
      const now = new Date();
      const [due] = await txs
        .find({ state: 'pending', parked: { $ne: true }, next_attempt_at: { $lte: now } }, { projection: { next_attempt_at: 1 } })
        .sort({ next_attempt_at: 1 })
        .limit(1)
        .toArray();
      set(due ? (now.getTime() - (due.next_attempt_at as Date).getTime()) / 1000 : 0);
    },
  });
  metrics.addScrapeGauge({
    name: 'payment_worker_lease_held',
    help: 'Whether a payment worker holds the gateway lease (1, labelled with the holder) or none does (0)',
    labelNames: ['holder'],
    async collect(set) {
      const lease = await db.collection<{ _id: string; owner: string; expires_at: Date }>('leases').findOne({ _id: GATEWAY_LEASE });
      const held = lease !== null && lease.expires_at.getTime() > Date.now();
      set(held ? 1 : 0, { holder: held ? lease.owner : '' });
    },
  });
}

/** The gateway with every call counted by outcome (`succeeded`, `declined`, `unavailable` = unknown outcome, `error`). */
export function countGatewayCalls(gateway: PaymentGateway, metrics: Metrics): PaymentGateway {
  const calls = metrics.counter('payment_gateway_calls_total', 'Payment gateway calls by call and outcome', ['call', 'outcome']);
  const counted =
    (call: 'charge' | 'payout') =>
    async (order: GatewayOrder): Promise<GatewayResult> => {
      try {
        const result = await gateway[call](order);
        calls.inc({ call, outcome: result.status });
        return result;
      } catch (err) {
        calls.inc({ call, outcome: err instanceof GatewayUnavailableError ? 'unavailable' : 'error' });
        throw err;
      }
    };
  return { charge: counted('charge'), payout: counted('payout') };
}
