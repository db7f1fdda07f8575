import type { Document } from 'mongodb';
import { FINAL_STATES, TX_KINDS, TX_STATES, TX_TYPES, type TxDoc, type TxState, type TxType } from './transactions.js';

/**
 * The state machine of every kind of transaction, as data: for each state, who drives it on, what that actor
 * does there, and where it goes. The engine's loop, the worker's queue, recovery, cancel, resolve, `verify` and
 * the crash-point list are all read from this table (with LEG_RULES in legs.ts for what each leg does to a wallet).
 *
 * Words used with one meaning each:
 * - a **hold**: one actor's lock on one transaction (`lock_owner` + `lock_until`), renewed while it works;
 * - **apply** a leg: its guarded `$inc` + `$push` (the money is then *held*: the id is in `pending_transactions`);
 *   **settle** a leg: its commit or rollback (`$inc` + `$pull`), after which nothing is held;
 * - the state **pending**: the transaction is under way — a transfer applies its legs in it, a gateway payment
 *   waits in it (its money held) for the worker's call to the gateway.
 */

/** Who moves a transaction on from a state when nobody holds it. */
export type Driver =
  /** the request that made it, inside the call; once its hold ran out, a retry of that request or recovery */
  | 'request'
  /** only the gateway worker, when the payment is due (`claimDue`); a request answers with the state as it is */
  | 'worker'
  /** the actor that holds it goes on (the worker, after the gateway answered); else only recovery — a retried
   * request answers with the state as it is */
  | 'recovery';

/** What the actor holding a transaction does in a state. */
export type FlowAction =
  /** nothing: move on (a transfer applies its legs in `pending`, after it is recorded) */
  | 'start'
  /** apply the legs in order; the first refusal goes to `refused` */
  | 'apply'
  /** the worker calls the gateway (charge or payout): succeeded → `next`, declined → `refused`, unknown → stays */
  | 'call_gateway'
  /** settle the legs: commit in order, roll back in reverse order */
  | 'commit'
  | 'rollback';

export interface FlowStep {
  driver: Driver;
  action: FlowAction;
  next: TxState;
  /** Where a refusal (apply) or a decline (gateway) leads. */
  refused?: TxState;
  /** mark_cancel may stop it here: always, or only while the gateway was never called (`attempts: 0`). */
  cancel?: 'always' | 'unsent';
}

const GATEWAY_FLOW: Record<TxState, FlowStep | null> = {
  initial: { driver: 'request', action: 'apply', next: 'pending', refused: 'canceling', cancel: 'always' },
  pending: { driver: 'worker', action: 'call_gateway', next: 'applied', refused: 'canceling', cancel: 'unsent' },
  applied: { driver: 'recovery', action: 'commit', next: 'done' },
  // a retry finishes a rollback, so that it answers with the refusal as the first call did
  canceling: { driver: 'request', action: 'rollback', next: 'canceled' },
  done: null,
  canceled: null,
};

const IN_REQUEST_FLOW: Record<TxState, FlowStep | null> = {
  initial: { driver: 'request', action: 'start', next: 'pending', cancel: 'always' },
  pending: { driver: 'request', action: 'apply', next: 'applied', refused: 'canceling' },
  applied: { driver: 'request', action: 'commit', next: 'done' },
  canceling: { driver: 'request', action: 'rollback', next: 'canceled' },
  done: null,
  canceled: null,
};

/** kind × state → the step; `null` for the final states, which nobody drives. */
export const TX_FLOW: Record<TxType, Record<TxState, FlowStep | null>> = {
  recharge: GATEWAY_FLOW,
  withdraw: GATEWAY_FLOW,
  transfer: IN_REQUEST_FLOW,
  collect: IN_REQUEST_FLOW,
  refund: IN_REQUEST_FLOW,
};

/** The step of a transaction's current state (null when final). */
export function stepOf(tx: Pick<TxDoc, 'type' | 'state'>): FlowStep | null {
  return TX_FLOW[tx.type][tx.state];
}

/** The kinds that call the gateway. */
export const GATEWAY_TYPES: TxType[] = TX_TYPES.filter((type) =>
  TX_STATES.some((state) => TX_FLOW[type][state]?.action === 'call_gateway'),
);

/** The state in which a kind applies its legs. */
export function applyStateOf(type: TxType): TxState {
  return TX_STATES.find((state) => TX_FLOW[type][state]?.action === 'apply') as TxState;
}

/** A request's part is over: the transaction is final, or someone else drives it on from here. */
export function requestIsDone(tx: Pick<TxDoc, 'type' | 'state'>): boolean {
  const step = stepOf(tx);
  return step === null || step.driver !== 'request';
}

/**
 * A query for the (kind, state) pairs a predicate picks out: states picked for every kind are one `$in`, the rest
 * `{state, type: {$in}}`, so the queries keep the shape the indexes were made for.
 */
function flowFilter(pick: (step: FlowStep) => Document | false): Document {
  const clauses: Document[] = [];
  const everyKind: TxState[] = [];
  for (const state of TX_STATES) {
    const picked = TX_TYPES.map((type) => ({ type, step: TX_FLOW[type][state] })).map(({ type, step }) => ({
      type,
      extra: step ? pick(step) : false,
    }));
    const types = picked.filter((p) => p.extra !== false);
    if (types.length === 0) continue;
    const extras = new Set(types.map((p) => JSON.stringify(p.extra)));
    const extra = types[0]?.extra as Document;
    if (types.length === TX_TYPES.length && extras.size === 1 && Object.keys(extra).length === 0) everyKind.push(state);
    else for (const { type, extra: more } of types) clauses.push({ state, type, ...(more as Document) });
  }
  // kinds that share a clause are merged into one `type: {$in}`
  const merged = new Map<string, Document>();
  for (const { type, ...rest } of clauses) {
    const key = JSON.stringify(rest);
    const entry = merged.get(key);
    if (entry) (entry.type.$in as TxType[]).push(type as TxType);
    else merged.set(key, { ...rest, type: { $in: [type] } });
  }
  const all = [
    ...(everyKind.length > 0 ? [{ state: everyKind.length === 1 ? everyKind[0] : { $in: everyKind } }] : []),
    ...merged.values(),
  ];
  if (all.length === 1) return all[0] as Document;
  return { $or: all };
}

/** The worker's queue: states only the worker drives (a gateway payment waiting for its call). */
export function workerQueueFilter(): Document {
  return flowFilter((step) => step.driver === 'worker' && {});
}

/** What recovery takes over once its hold ran out: every state an actor drives on, but the worker's queue. */
export function recoverableFilter(): Document {
  return flowFilter((step) => step.driver !== 'worker' && {});
}

/** Where a gateway's verdict can be applied (the worker's calls, an operator's `wallet resolve`). */
export function awaitingGatewayFilter(): Document {
  return flowFilter((step) => step.action === 'call_gateway' && {});
}

/** Where mark_cancel may stop a transaction. */
export function cancellableFilter(): Document {
  return flowFilter((step) => (step.cancel === 'always' ? {} : step.cancel === 'unsent' ? { attempts: 0 } : false));
}

/** The same rule as cancellableFilter, for a document at hand. */
export function isCancellable(tx: Pick<TxDoc, 'type' | 'state' | 'attempts'>): boolean {
  const cancel = stepOf(tx)?.cancel;
  return cancel === 'always' || (cancel === 'unsent' && tx.attempts === 0);
}

/** What a leg has done to its wallet: held (applied, not settled), committed, or none (never applied, rolled back). */
export type LegPhase = 'held' | 'committed' | 'none';

/**
 * What the legs of a transaction in `state` can have done, whether or not the wallet holds the id. Read from the
 * table: before the apply state nothing is applied; in it and in the rollback state, a crash can stop between
 * any two legs; between apply and commit every leg is held; in the commit state a leg is held or committed.
 * A combination that cannot happen is flagged and counted as the state says.
 */
export function legPhaseOf(type: TxType, state: TxState, isHeld: boolean): { phase: LegPhase; consistent: boolean } {
  if (state === 'done') return { phase: 'committed', consistent: !isHeld };
  if (state === 'canceled') return { phase: 'none', consistent: !isHeld };
  const action = (TX_FLOW[type][state] as FlowStep).action;
  if (action === 'apply' || action === 'rollback') return { phase: isHeld ? 'held' : 'none', consistent: true };
  if (action === 'commit') return { phase: isHeld ? 'held' : 'committed', consistent: true };
  const applied = pathOf(type, 'done').indexOf(state) > pathOf(type, 'done').indexOf(applyStateOf(type));
  return applied ? { phase: 'held', consistent: isHeld } : { phase: 'none', consistent: !isHeld };
}

/** The states a kind goes through to `done`, or to `canceled` by the last refusal on that way. */
export function pathOf(type: TxType, end: 'done' | 'canceled'): TxState[] {
  const path: TxState[] = ['initial'];
  for (let step = TX_FLOW[type].initial; step; step = TX_FLOW[type][path[path.length - 1] as TxState]) path.push(step.next);
  if (end === 'done') return path;
  const branch = [...path].reverse().find((state) => TX_FLOW[type][state]?.refused);
  const from = path.slice(0, path.indexOf(branch as TxState) + 1);
  const canceling = TX_FLOW[type][branch as TxState]?.refused as TxState;
  return [...from, canceling, TX_FLOW[type][canceling]?.next as TxState];
}

/** A point between two steps where a crash (or a stall) can happen, the state it leaves, and who reaches it. */
export interface CrashPoint {
  point: string;
  type: TxType;
  /** The state the transaction is in when the process stops there. */
  state: TxState;
  /** The end of the way (pathOf) on which it lies. */
  end: 'done' | 'canceled';
  /** Which process holds the transaction there: the API request, or the gateway worker that claimed it. */
  actor: 'request' | 'worker';
}

/**
 * Every point between two steps, walked from the table along both ways (to done, and to canceled by the last
 * refusal): `after_insert`, `before_apply_*`/`after_apply_*` per leg, `after_gateway`, `after_<state>` for every
 * state entered that is not final, `after_commit_*`, `after_rollback_*` (legs in reverse order).
 */
export function crashPoints(): CrashPoint[] {
  const points = new Map<string, CrashPoint>();
  for (const type of TX_TYPES) {
    const roles = TX_KINDS[type].legs({ wallet_id: null as never, to_wallet_id: null }).map((leg) => leg.role);
    for (const end of ['done', 'canceled'] as const) {
      let actor: CrashPoint['actor'] = 'request';
      const add = (step: string, state: TxState) => {
        const point = `${type}.${step}`;
        if (!points.has(point)) points.set(point, { point, type, state, end, actor });
      };
      add('after_insert', 'initial');
      const path = pathOf(type, end);
      for (const [i, state] of path.entries()) {
        if (i > 0 && !FINAL_STATES.includes(state)) add(`after_${state}`, state);
        const step = TX_FLOW[type][state];
        if (!step) break;
        // a state only the worker drives is where the request lets go and the worker claims the transaction
        if (step.driver === 'worker') actor = 'worker';
        if (step.action === 'apply') {
          for (const role of roles) {
            add(`before_apply_${role}`, state);
            add(`after_apply_${role}`, state);
          }
        }
        if (step.action === 'call_gateway') add('after_gateway', state);
        if (step.action === 'commit') for (const role of roles) add(`after_commit_${role}`, state);
        if (step.action === 'rollback') for (const role of [...roles].reverse()) add(`after_rollback_${role}`, state);
      }
    }
  }
  return [...points.values()];
}
