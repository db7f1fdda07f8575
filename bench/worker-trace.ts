import type { Db } from 'mongodb';
import type { Lease } from '../src/core/lease.js';
import type { Hold, PaymentEngine } from '../src/payments/engine.js';
import type { GatewayOrder, GatewayResult, PaymentGateway } from '../src/payments/gateway.js';
import type { PaymentWorker } from '../src/payments/worker.js';

/** What the worker's loop is doing at a moment: the phases whose time slots can sit idle in. */
type Phase = 'lease' | 'sweep' | 'claim' | 'next due id' | 'waiting' | 'between rounds';
/** Nested phases: the innermost wins (a round is "waiting" unless it is in one of the others). */
const PRIORITY: Phase[] = ['claim', 'next due id', 'sweep', 'lease', 'waiting'];

interface Payment {
  claimed: number;
  callStart?: number;
  answer?: number;
  written?: number;
}

/**
 * BENCH_TRACE=1: timestamps per payment (claimed, gateway call start, answer = slot freed, writes done) and the
 * phases of the worker's loop, taken by wrapping the engine, the gateway, the lease and the worker's round and
 * sweep of one scenario. `summary()` says where the slots sat idle: slot-time not in a gateway call, split by what
 * the loop was doing meanwhile.
 */
export class WorkerTrace {
  private readonly t0 = performance.now();
  private readonly payments = new Map<string, Payment>();
  private readonly phases: { at: number; phase: Phase }[] = [];
  private readonly claims: { start: number; end: number; asked: number; got: number }[] = [];
  /** The worker's queue queries for due ids (dueIds), when it has them. */
  private readonly queries: { start: number; end: number; asked: number; got: number }[] = [];
  private readonly byOrder = new Map<string, string>();
  /** How many calls of each phase are under way; the loop's phase is the first active one in PRIORITY. */
  private readonly active = new Map<Phase, number>();
  /** Claims by id under way (+1 at the start, -1 at the end). */
  private readonly claiming: { at: number; delta: number }[] = [];

  private now(): number {
    return performance.now() - this.t0;
  }

  private async within<T>(phase: Phase, run: () => Promise<T>): Promise<T> {
    this.active.set(phase, (this.active.get(phase) ?? 0) + 1);
    this.mark();
    try {
      return await run();
    } finally {
      this.active.set(phase, (this.active.get(phase) ?? 1) - 1);
      this.mark();
    }
  }

  private mark(): void {
    const phase = PRIORITY.find((p) => (this.active.get(p) ?? 0) > 0) ?? 'between rounds';
    this.phases.push({ at: this.now(), phase });
  }

  /** The gateway, timing each call (start and answer) by the order's out_trade_no. */
  gateway(inner: PaymentGateway): PaymentGateway {
    const timed = async (order: GatewayOrder, call: () => Promise<GatewayResult>): Promise<GatewayResult> => {
      const payment = this.payments.get(this.byOrder.get(order.out_trade_no) ?? '');
      if (payment) payment.callStart = this.now();
      try {
        return await call();
      } finally {
        if (payment) payment.answer = this.now();
      }
    };
    return {
      charge: (order) => timed(order, () => inner.charge(order)),
      payout: (order) => timed(order, () => inner.payout(order)),
    };
  }

  /**
   * Wraps the engine's claims and gateway payments, and the worker's lease, round, sweep and (where the worker has
   * them) its id list: any of the workers measured, the one that claims in its loop (claimDue one at a time, or
   * claimDueBatch) or the one whose slots claim by id (claimById, beside the loop, counted as slot-time "claiming").
   */
  attach(engine: PaymentEngine, worker: PaymentWorker): void {
    const claims = engine as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const record = (holds: Hold[]) => {
      for (const hold of holds) {
        this.payments.set(hold.tx._id.toHexString(), { claimed: this.now() });
        this.byOrder.set(hold.tx.out_trade_no, hold.tx._id.toHexString());
      }
    };
    const batch = claims.claimDueBatch?.bind(engine);
    if (batch)
      claims.claimDueBatch = (...args: unknown[]) =>
        this.within('claim', async () => {
          const start = this.now();
          const holds = (await batch(...args)) as Hold[];
          this.claims.push({ start, end: this.now(), asked: args[3] as number, got: holds.length });
          record(holds);
          return holds;
        });
    // the one-at-a-time worker of before issue 10 claims with claimDue in its loop
    const one = claims.claimDue?.bind(engine);
    if (one)
      claims.claimDue = (...args: unknown[]) =>
        this.within('claim', async () => {
          const start = this.now();
          const hold = (await one(...args)) as Hold | null;
          this.claims.push({ start, end: this.now(), asked: 1, got: hold ? 1 : 0 });
          record(hold ? [hold] : []);
          return hold;
        });
    const byId = claims.claimById?.bind(engine);
    if (byId)
      claims.claimById = async (...args: unknown[]) => {
        const start = this.now();
        this.claiming.push({ at: start, delta: 1 });
        try {
          const hold = (await byId(...args)) as Hold | null;
          this.claims.push({ start, end: this.now(), asked: 1, got: hold ? 1 : 0 });
          record(hold ? [hold] : []);
          return hold;
        } finally {
          this.claiming.push({ at: this.now(), delta: -1 });
        }
      };
    const dueIds = claims.dueIds?.bind(engine);
    if (dueIds)
      claims.dueIds = async (...args: unknown[]) => {
        const start = this.now();
        const ids = (await dueIds(...args)) as unknown[];
        this.queries.push({ start, end: this.now(), asked: args[2] as number, got: ids.length });
        return ids;
      };
    const loop = worker as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const nextDue = loop.nextDue?.bind(worker);
    if (nextDue) loop.nextDue = (...args: unknown[]) => this.within('next due id', () => nextDue(...args));
    const callGateway = engine.callGateway.bind(engine);
    engine.callGateway = async (db: Db, hold: Hold, ...rest) => {
      try {
        return await callGateway(db, hold, ...rest);
      } finally {
        const payment = this.payments.get(hold.tx._id.toHexString());
        if (payment) payment.written = this.now();
      }
    };
    // the lease as the round waits for it: holdLease where the worker has it (it may renew beside the round)
    const holdLease = loop.holdLease?.bind(worker);
    if (holdLease) loop.holdLease = () => this.within('lease', holdLease);
    else {
      const lease = (worker as unknown as { lease: Lease }).lease;
      const acquire = lease.acquire.bind(lease);
      lease.acquire = () => this.within('lease', acquire);
    }
    const round = worker.round.bind(worker);
    worker.round = (drain?: boolean) => this.within('waiting', () => round(drain));
    const sweep = worker.sweep.bind(worker);
    worker.sweep = () => this.within('sweep', sweep);
  }

  /** Where the time went, as lines for stderr. */
  summary(concurrency: number, latencyMs: number): string {
    const list = [...this.payments.values()].filter((p) => p.callStart !== undefined && p.answer !== undefined && p.written !== undefined);
    if (list.length === 0) return '  trace: no payment traced\n';
    const first = Math.min(...list.map((p) => p.callStart as number));
    const lastAnswer = Math.max(...list.map((p) => p.answer as number));
    const lastWritten = Math.max(...list.map((p) => p.written as number));
    // slot-time in and out of gateway calls over [first call, last answer], split by the loop's phase
    const events: { at: number; delta: number; claim: number }[] = [];
    for (const p of list) {
      events.push({ at: p.callStart as number, delta: 1, claim: 0 }, { at: p.answer as number, delta: -1, claim: 0 });
    }
    for (const { at, delta } of this.claiming) events.push({ at, delta: 0, claim: delta });
    for (const { at } of this.phases) events.push({ at, delta: 0, claim: 0 });
    events.sort((a, b) => a.at - b.at || a.delta + a.claim - (b.delta + b.claim));
    const idle = new Map<Phase | 'claiming', number>();
    let inFlight = 0;
    let claiming = 0;
    let phaseIndex = 0;
    let phase: Phase = 'between rounds';
    let busy = 0;
    for (let i = 0; i < events.length; i++) {
      const event = events[i] as { at: number; delta: number; claim: number };
      while (phaseIndex < this.phases.length && (this.phases[phaseIndex] as { at: number }).at <= event.at) {
        phase = (this.phases[phaseIndex] as { phase: Phase }).phase;
        phaseIndex++;
      }
      inFlight += event.delta;
      claiming += event.claim;
      const next = events[i + 1];
      if (!next || event.at < first || event.at >= lastAnswer) continue;
      const dt = Math.min(next.at, lastAnswer) - event.at;
      busy += inFlight * dt;
      const claimingSlots = Math.min(claiming, Math.max(0, concurrency - inFlight));
      idle.set('claiming', (idle.get('claiming') ?? 0) + claimingSlots * dt);
      idle.set(phase, (idle.get(phase) ?? 0) + Math.max(0, concurrency - inFlight - claimingSlots) * dt);
    }
    const span = lastAnswer - first;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;
    const call = list.map((p) => (p.answer as number) - (p.callStart as number));
    const writes = list.map((p) => (p.written as number) - (p.answer as number));
    const claimToCall = list.map((p) => (p.callStart as number) - p.claimed);
    const claimMs = this.claims.map((c) => c.end - c.start);
    const asked = this.claims.map((c) => c.asked);
    const idleTotal = [...idle.values()].reduce((a, b) => a + b, 0);
    const idleParts = [...idle.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([p, ms]) => `${p} ${((100 * ms) / (concurrency * span)).toFixed(1)}%`)
      .join(', ');
    return [
      `  trace: first call at ${first.toFixed(0)} ms, calls ${span.toFixed(0)} ms, last writes +${(lastWritten - lastAnswer).toFixed(0)} ms`,
      `  slots busy ${((100 * busy) / (concurrency * span)).toFixed(1)}% (mean ${(busy / span).toFixed(2)} of ${concurrency} in a call); idle ${((100 * idleTotal) / (concurrency * span)).toFixed(1)}%: ${idleParts}`,
      `  call ms (latency ${latencyMs}): mean ${mean(call).toFixed(1)}, p50 ${pct(call, 0.5).toFixed(1)}, p95 ${pct(call, 0.95).toFixed(1)}; writes after the answer: mean ${mean(writes).toFixed(1)}, p95 ${pct(writes, 0.95).toFixed(1)}`,
      ...(this.queries.length > 0
        ? [
            `  queue queries: ${this.queries.length} (asked mean ${mean(this.queries.map((q) => q.asked)).toFixed(1)}, got mean ${mean(this.queries.map((q) => q.got)).toFixed(1)}), each mean ${mean(this.queries.map((q) => q.end - q.start)).toFixed(1)} ms`,
          ]
        : []),
      `  claims: ${this.claims.length} (${this.claims.filter((c) => c.got < c.asked).length} short, asked mean ${mean(asked).toFixed(2)}), each mean ${mean(claimMs).toFixed(1)} ms, p95 ${pct(claimMs, 0.95).toFixed(1)}; claimed → call mean ${mean(claimToCall).toFixed(1)} ms`,
      '',
    ].join('\n');
  }
}
