import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ObjectId } from 'mongodb';
import type { LegRole, Refusal } from './legs.js';

/** 充值 recharge, 提现 withdraw, 转账 transfer, 收款 collect (a merchant collects from a payer), and refund (of a collect). */
export const TX_TYPES = ['recharge', 'withdraw', 'transfer', 'collect', 'refund'] as const;
export type TxType = (typeof TX_TYPES)[number];

/** MongoDB's two-phase states: initial → pending → applied → done, and canceling → canceled. */
export const TX_STATES = ['initial', 'pending', 'applied', 'done', 'canceling', 'canceled'] as const;
export type TxState = (typeof TX_STATES)[number];
export const FINAL_STATES: readonly TxState[] = ['done', 'canceled'];

export type TxErrorCode = Refusal | 'declined' | 'gateway_unavailable' | 'needs_operator' | 'canceled_by_caller';

export interface TxDoc {
  _id: ObjectId;
  type: TxType;
  /** The wallet charged (withdraw, transfer; the payer of a collect, the merchant of a refund) or credited (recharge). */
  wallet_id: ObjectId;
  /** The receiving wallet of a transfer, collect (the merchant) or refund (the payer); null otherwise. */
  to_wallet_id: ObjectId | null;
  /** A refund: the collect whose money it gives back. */
  refund_of?: ObjectId;
  /** A collect: what its refunds have reserved so far (never above `money`), and their ids. */
  refunded_money?: number;
  refunds?: ObjectId[];
  money: number;
  /** The caller's idempotency key (unique). */
  out_trade_no: string;
  gateway_trade_no: string | null;
  state: TxState;
  /** Why it was canceled or is waiting; `wallet_id` names the wallet that refused. */
  error: { code: TxErrorCode; message: string; wallet_id?: ObjectId } | null;
  /** Calls made to the payment gateway. */
  attempts: number;
  /** Set when the worker gave up retrying the gateway: an operator resolves it (`npm run cli -- wallet resolve`). */
  parked?: boolean;
  next_attempt_at: Date;
  /** Who drives the transaction now; `lock_until` in the past means nobody. */
  lock_owner: string | null;
  lock_until: Date;
  created_at: Date;
  updated_at: Date;
  /** The W3C traceparent of the request that made it (tracing on): the worker's gateway span joins that trace. */
  trace?: string;
}

export interface Leg {
  /** The wallet the leg changes; for a refund's reservation, the collect transaction. */
  wallet: ObjectId;
  role: LegRole;
}

/** What a kind moves: its legs, and which gateway call its `call_gateway` step makes (flow.ts says when). */
interface TxKind {
  legs(tx: Pick<TxDoc, 'wallet_id' | 'to_wallet_id' | 'refund_of'>): Leg[];
  gateway: 'charge' | 'payout' | null;
}

export const TX_KINDS: Record<TxType, TxKind> = {
  recharge: { legs: (tx) => [{ wallet: tx.wallet_id, role: 'recharge_target' }], gateway: 'charge' },
  withdraw: { legs: (tx) => [{ wallet: tx.wallet_id, role: 'withdraw_source' }], gateway: 'payout' },
  transfer: {
    legs: (tx) => [
      { wallet: tx.wallet_id, role: 'transfer_source' },
      { wallet: tx.to_wallet_id as ObjectId, role: 'transfer_destination' },
    ],
    gateway: null,
  },
  collect: {
    legs: (tx) => [
      { wallet: tx.wallet_id, role: 'collect_payer' },
      { wallet: tx.to_wallet_id as ObjectId, role: 'collect_merchant' },
    ],
    gateway: null,
  },
  refund: {
    legs: (tx) => [
      { wallet: tx.refund_of as ObjectId, role: 'refund_reservation' },
      { wallet: tx.wallet_id, role: 'refund_merchant' },
      { wallet: tx.to_wallet_id as ObjectId, role: 'refund_payer' },
    ],
    gateway: null,
  },
};

/**
 * A name for one actor (a request, the worker, the CLI) that no other actor anywhere will ever carry: lock ownership
 * is only a fence if owners never collide (a caller's X-Request-Id or a container's pid 1 can repeat).
 */
export function actorName(kind: 'api' | 'worker' | 'cli'): string {
  return `${kind}:${hostname()}:${process.pid}:${randomUUID()}`;
}

/** A lock that is free (any date in the past would do; the epoch reads clearly). */
export const UNLOCKED = new Date(0);

export function isFinal(state: TxState): boolean {
  return FINAL_STATES.includes(state);
}
