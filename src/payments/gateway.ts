import type { Collection, Db } from 'mongodb';
import { isDuplicateKeyError } from '../core/errors.js';
import { injectTraceHeaders } from '../core/tracing.js';
import type { PaymentsConfig } from './config.js';

/** One order sent to the payment gateway. `out_trade_no` is unique per transaction and the same on every retry. */
export interface GatewayOrder {
  out_trade_no: string;
  money: number;
  wallet_id: string;
}

export type GatewayResult = { status: 'succeeded'; gateway_trade_no: string } | { status: 'declined'; reason: string };

/**
 * The third-party payment system. Both calls must be idempotent by `out_trade_no`: calling again after a timeout
 * returns the outcome of the first call instead of paying twice. Throw GatewayUnavailableError when the outcome is
 * unknown (timeout, network, 5xx): the worker retries later with the same order.
 */
export interface PaymentGateway {
  /** Takes money from the payer into the platform (recharge). */
  charge(order: GatewayOrder): Promise<GatewayResult>;
  /** Pays money out to the wallet owner (withdraw). */
  payout(order: GatewayOrder): Promise<GatewayResult>;
}

/** The outcome of a call is unknown; retry later with the same order. */
export class GatewayUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayUnavailableError';
  }
}

/** Builds the configured gateway. */
export function createGateway(config: PaymentsConfig['gateway'], db: Db): PaymentGateway {
  return config.kind === 'http' ? new HttpGateway(config) : new SimulatedGateway(db, config);
}

interface SimulatedPayment {
  _id: string;
  kind: 'charge' | 'payout';
  money: number;
  wallet_id: string;
  status: 'succeeded' | 'declined';
  gateway_trade_no: string | null;
  reason: string | null;
  created_at: Date;
}

/**
 * A stand-in for the third party, deterministic and idempotent: it keeps its own records in MongoDB (collection
 * `gateway_simulator`, as a real gateway keeps its own books), so an order executed before a crash is answered
 * from the record on retry. Env: GATEWAY_SIM_DECLINE (regex on out_trade_no: declined),
 * GATEWAY_SIM_TIMEOUT (regex: the first GATEWAY_SIM_TIMEOUTS calls time out, after executing the order when
 * GATEWAY_SIM_TIMEOUT_MODE=after, the default, or before it), GATEWAY_SIM_LATENCY_MS (how long each call takes).
 */
export class SimulatedGateway implements PaymentGateway {
  private readonly records: Collection<SimulatedPayment>;
  private readonly calls: Collection<{ _id: string; calls: number }>;

  constructor(
    db: Db,
    private readonly options: Extract<PaymentsConfig['gateway'], { kind: 'simulator' }>,
  ) {
    this.records = db.collection<SimulatedPayment>('gateway_simulator');
    this.calls = db.collection<{ _id: string; calls: number }>('gateway_simulator_calls');
  }

  charge(order: GatewayOrder): Promise<GatewayResult> {
    return this.call('charge', order);
  }

  payout(order: GatewayOrder): Promise<GatewayResult> {
    return this.call('payout', order);
  }

  /**
   * One call takes GATEWAY_SIM_LATENCY_MS, its own records included: they are written while the latency runs (as a
   * real gateway's books are kept on its side within its answer time), not after it, so under a busy database a
   * call does not take the latency plus its three commands. A call that fails (a simulated timeout) takes as long.
   */
  private async call(kind: 'charge' | 'payout', order: GatewayOrder): Promise<GatewayResult> {
    const answer = this.answer(kind, order).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    if (this.options.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.options.latencyMs));
    const outcome = await answer;
    if ('error' in outcome) throw outcome.error;
    return outcome.result;
  }

  private async answer(kind: 'charge' | 'payout', order: GatewayOrder): Promise<GatewayResult> {
    const times = this.options.timeout?.test(order.out_trade_no) ? this.options.timeouts : 0;
    const counted = await this.calls.findOneAndUpdate(
      { _id: order.out_trade_no },
      { $inc: { calls: 1 } },
      { upsert: true, returnDocument: 'after' },
    );
    const timesOut = (counted?.calls ?? 1) <= times;
    if (timesOut && this.options.timeoutMode === 'before')
      throw new GatewayUnavailableError(`simulated timeout before executing ${order.out_trade_no}`);
    const record = await this.execute(kind, order);
    if (timesOut) throw new GatewayUnavailableError(`simulated timeout after executing ${order.out_trade_no}`);
    return record.status === 'succeeded'
      ? { status: 'succeeded', gateway_trade_no: record.gateway_trade_no as string }
      : { status: 'declined', reason: record.reason as string };
  }

  /** Executes the order once; later calls get the same record. */
  private async execute(kind: 'charge' | 'payout', order: GatewayOrder): Promise<SimulatedPayment> {
    const existing = await this.records.findOne({ _id: order.out_trade_no });
    if (existing) return existing;
    const declined = this.options.decline?.test(order.out_trade_no) === true;
    const record: SimulatedPayment = {
      _id: order.out_trade_no,
      kind,
      money: order.money,
      wallet_id: order.wallet_id,
      status: declined ? 'declined' : 'succeeded',
      gateway_trade_no: declined
        ? null
        : `SIM${Date.now().toString(36).toUpperCase()}${Math.random().toString(36).slice(2, 8).toUpperCase()}`,
      reason: declined ? 'declined by the simulated gateway' : null,
      created_at: new Date(),
    };
    try {
      await this.records.insertOne(record);
      return record;
    } catch (err) {
      if (isDuplicateKeyError(err)) return (await this.records.findOne({ _id: order.out_trade_no })) as SimulatedPayment;
      throw err;
    }
  }
}

/**
 * A real gateway over HTTP: `POST {GATEWAY_URL}/charge` and `/payout` with the order as JSON and
 * `Idempotency-Key: <out_trade_no>`; it answers `{"status": "succeeded", "gateway_trade_no": "..."}` or
 * `{"status": "declined", "reason": "..."}`. Timeouts, network errors, 5xx and anything unreadable mean "unknown".
 */
export class HttpGateway implements PaymentGateway {
  constructor(private readonly options: Extract<PaymentsConfig['gateway'], { kind: 'http' }>) {}

  charge(order: GatewayOrder): Promise<GatewayResult> {
    return this.post('charge', order);
  }

  payout(order: GatewayOrder): Promise<GatewayResult> {
    return this.post('payout', order);
  }

  private async post(path: 'charge' | 'payout', order: GatewayOrder): Promise<GatewayResult> {
    let response: Response;
    try {
      response = await fetch(`${this.options.url}/${path}`, {
        method: 'POST',
        // traceparent of the gateway call's span, so the gateway's own traces join ours
        headers: injectTraceHeaders({
          'content-type': 'application/json',
          'idempotency-key': order.out_trade_no,
          ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
        }),
        body: JSON.stringify(order),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (err) {
      throw new GatewayUnavailableError(`gateway ${path} failed: ${(err as Error).message}`, { cause: err });
    }
    const body = (await response.json().catch(() => null)) as Partial<{ status: string; gateway_trade_no: string; reason: string }> | null;
    if (response.ok && body?.status === 'succeeded' && typeof body.gateway_trade_no === 'string') {
      return { status: 'succeeded', gateway_trade_no: body.gateway_trade_no };
    }
    if (response.status < 500 && body?.status === 'declined') return { status: 'declined', reason: String(body.reason ?? 'declined') };
    throw new GatewayUnavailableError(`gateway ${path} answered ${response.status} ${JSON.stringify(body)?.slice(0, 200)}`);
  }
}
