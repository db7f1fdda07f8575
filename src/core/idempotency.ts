import { randomBytes } from 'node:crypto';
import type { Collection, Db, IndexDescription, ObjectId } from 'mongodb';
import type { ActionContext } from './app.js';
import { setAsideItems } from './batch-partial.js';
import { callerKey } from './callers.js';
import { collectionOf } from './db.js';
import { apiError, isDuplicateKeyError, toApiError } from './errors.js';
import type { FaultPoint } from './faults.js';
import {
  REPLAYED_HEADER,
  checkIdempotencyKey,
  freshWritePlan,
  newIdSeed,
  paramsFingerprint,
  seededWritePlan,
  type WritePlan,
} from './idempotency-key.js';
import type { Logger } from './logger.js';
import type { Params } from './params.js';
import { StreamedResult } from './streamed-result.js';

/**
 * Idempotency-Key as a dispatcher capability (issue 16, Stripe's conventions). The key record is written before
 * the action runs and carries what the write will use (its clock and the seed of its new ids, idempotency-key.ts);
 * its answer is stored when the action is over. The steps, each a crash point of the tests:
 *   claimed — the record exists, `running`, leased to this attempt; nothing written yet
 *   ran     — the action is over (its writes done), its answer not stored
 *   stored  — the answer is stored (`done`), not yet sent
 * A retry meets a `done` record (the stored answer, replayed), a live lease (409 in progress) or a lapsed one (the
 * first attempt died: this one takes the record over and runs the action again with the same plan, which finds or
 * finishes the same write).
 */

/** The collection of key records. */
export const IDEMPOTENCY_COLLECTION = 'idempotency_key';

/** The crash points of a keyed request, in order (for the tests that kill the process at each). */
export const IDEMPOTENCY_CRASH_POINTS = ['idempotency.claimed', 'idempotency.ran', 'idempotency.stored'] as const;

/** One key record: unique per caller, key and action. */
export interface IdempotencyRecord {
  _id?: ObjectId;
  caller: string;
  key: string;
  action: string;
  fingerprint: string;
  state: 'running' | 'done';
  /** The attempt that holds the record; the answer is stored only by it. */
  owner: string;
  lease_until: Date;
  attempt: number;
  /** The ids and the clock of what the action writes (see WritePlan). */
  id_seed: ObjectId;
  started_at: Date;
  /** The record counts as absent from then on (checked on read; MongoDB's TTL index removes it too). */
  expires_at: Date;
  status?: number;
  /** The answer's JSON text (kept as text: an answer may have keys a stored document may not). */
  body?: string;
}

export interface IdempotencySettings {
  ttlMs: number;
  leaseMs: number;
  fault?: FaultPoint;
  log?: Logger;
}

/** What one keyed request is: who, which action, which key, which params. */
export interface KeyedRequest {
  caller: string;
  action: string;
  key: string;
  fingerprint: string;
}

type Claim = { kind: 'run'; record: IdempotencyRecord & { _id: ObjectId } } | { kind: 'replay'; status: number; body: unknown };

/** How often, at most, a process deletes expired records itself (the embedded server has no TTL monitor). */
const PURGE_INTERVAL_MS = 60_000;
const CLAIM_ROUNDS = 4;

/**
 * The dispatcher's hook: a write action called with an `Idempotency-Key` runs through the store (the params are
 * valid by now: a 400 from them is never kept). Without a caller to scope the key to, the key is ignored.
 */
export async function runKeyed(
  action: string,
  params: Params,
  ctx: ActionContext,
  { key, store }: NonNullable<ActionContext['idempotency']>,
  execute: (plan: WritePlan) => Promise<unknown>,
): Promise<unknown> {
  checkIdempotencyKey(key);
  // scoped to who calls (`service:<key name>`, `user:<id>`): two callers never meet under one key
  const caller = callerKey(ctx.caller);
  if (caller === null) return await execute(freshWritePlan());
  // a partial batch's set-aside docs are part of what was asked, though not of the params that run
  const fingerprint = paramsFingerprint([params, setAsideItems(params)?.errors ?? null]);
  return await store.run({ caller, action, key, fingerprint }, ctx, execute);
}

/** Creates the unique key index and the TTL index (idempotent; every API process calls it at start). */
export async function ensureIdempotencyIndexes(db: Db): Promise<void> {
  const indexes: IndexDescription[] = [
    // caller + key first: the shard key of this collection (docs/scaling.md)
    { key: { caller: 1, key: 1, action: 1 }, name: 'caller_1_key_1_action_1', unique: true },
    { key: { expires_at: 1 }, name: 'expires_at_1', expireAfterSeconds: 0 },
  ];
  try {
    await collectionOf(db, IDEMPOTENCY_COLLECTION).createIndexes(indexes);
  } catch (err) {
    throw new Error(`cannot create the indexes of ${IDEMPOTENCY_COLLECTION}: ${(err as Error).message}`, { cause: err });
  }
}

/** Runs keyed requests once per key, stores their answers and replays them. */
export class IdempotencyStore {
  private lastPurge = 0;
  private readonly fault: FaultPoint;

  constructor(readonly settings: IdempotencySettings) {
    this.fault = settings.fault ?? (() => undefined);
  }

  /** Runs `execute` for the first request with this key, or answers what the first one answered. */
  async run(request: KeyedRequest, ctx: ActionContext, execute: (plan: WritePlan) => Promise<unknown>): Promise<unknown> {
    const records = collectionOf<IdempotencyRecord>(ctx.db, IDEMPOTENCY_COLLECTION);
    const claim = await this.claim(records, request);
    if (claim.kind === 'replay') {
      ctx.status = claim.status;
      ctx.headers = { ...ctx.headers, [REPLAYED_HEADER]: 'true' };
      ctx.replayed = true;
      return claim.body;
    }
    const { record } = claim;
    // caller + key: the shard key (docs/scaling.md), so every write of this record is targeted to one shard
    const mine = { _id: record._id, owner: record.owner, caller: record.caller, key: record.key };
    const stopRenewing = this.keepLease(records, mine, ctx);
    try {
      let result: unknown;
      try {
        result = await execute(seededWritePlan(record.id_seed, record.started_at, record.attempt > 1));
      } catch (err) {
        await this.settleFailure(records, mine, toApiError(err), ctx);
        throw err;
      }
      this.fault('idempotency.ran');
      // a streamed answer is not kept, and a 202 says "ask again": the next request with the key runs anew
      if (result instanceof StreamedResult || ctx.status === 202) await records.deleteOne(mine);
      else await this.store(records, mine, ctx.status ?? 200, result);
      this.fault('idempotency.stored');
      return result;
    } finally {
      stopRenewing();
    }
  }

  private async claim(records: Collection<IdempotencyRecord>, request: KeyedRequest): Promise<Claim> {
    const scope = { caller: request.caller, key: request.key, action: request.action };
    for (let round = 0; round < CLAIM_ROUNDS; round++) {
      const now = new Date();
      this.purgeNowAndThen(records, now);
      const fresh: IdempotencyRecord = {
        ...scope,
        fingerprint: request.fingerprint,
        state: 'running',
        owner: newOwner(),
        lease_until: new Date(now.getTime() + this.settings.leaseMs),
        attempt: 1,
        id_seed: newIdSeed(now),
        started_at: now,
        expires_at: new Date(now.getTime() + this.settings.ttlMs),
      };
      try {
        const { insertedId } = await records.insertOne(fresh);
        this.fault('idempotency.claimed');
        return { kind: 'run', record: { ...fresh, _id: insertedId } };
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      const found = await records.findOne(scope);
      if (!found) continue;
      if (found.expires_at.getTime() <= now.getTime()) {
        // expired: as if absent (on the embedded server no TTL monitor removes it)
        await records.deleteOne({ _id: found._id, expires_at: found.expires_at });
        continue;
      }
      if (found.fingerprint !== request.fingerprint) throw apiError('idempotency_key_reused', { action: request.action });
      if (found.state === 'done') return { kind: 'replay', status: found.status ?? 200, body: JSON.parse(found.body ?? 'null') };
      if (found.lease_until.getTime() > now.getTime()) throw inProgress(request.action, found.lease_until.getTime() - now.getTime());
      // the attempt holding the record stopped renewing its lease (it died): this one takes over, with the same plan
      const taken = await records.findOneAndUpdate(
        { _id: found._id, owner: found.owner, state: 'running' },
        { $set: { owner: newOwner(), lease_until: new Date(now.getTime() + this.settings.leaseMs) }, $inc: { attempt: 1 } },
        { returnDocument: 'after' },
      );
      if (taken) {
        this.fault('idempotency.claimed');
        return { kind: 'run', record: taken };
      }
    }
    // every round lost a race with another request of the same key: that one runs
    throw inProgress(request.action, this.settings.leaseMs);
  }

  /** The answer, kept for the retries; only by the attempt that still holds the record. */
  private async store(
    records: Collection<IdempotencyRecord>,
    mine: Pick<IdempotencyRecord, 'owner'> & { _id: ObjectId },
    status: number,
    body: unknown,
  ) {
    await records.updateOne(mine, { $set: { state: 'done', status, body: JSON.stringify(body ?? null) } });
  }

  /**
   * After a refusal: a 400 is not kept (the caller fixes the params and retries with the same key); a 5xx leaves the
   * record to the next attempt at once (the write may be half done: the retry finishes it); any other answer is kept.
   */
  private async settleFailure(
    records: Collection<IdempotencyRecord>,
    mine: Pick<IdempotencyRecord, 'owner'> & { _id: ObjectId },
    error: ReturnType<typeof toApiError>,
    ctx: ActionContext,
  ): Promise<void> {
    try {
      if (error.status === 400) await records.deleteOne(mine);
      else if (error.status >= 500) await records.updateOne(mine, { $set: { lease_until: new Date(0) } });
      else await this.store(records, mine, error.status, error.toBody(ctx.requestId));
    } catch (err) {
      // the refusal is still the answer; a record left running is taken over when its lease lapses
      ctx.log.warn({ err, code: error.code }, 'idempotency: could not settle the key record');
    }
  }

  /** Renews the lease while the action runs, so a slow first request is never taken for a dead one. */
  private keepLease(records: Collection<IdempotencyRecord>, mine: object, ctx: ActionContext): () => void {
    const timer = setInterval(
      () => {
        records
          .updateOne(mine, { $set: { lease_until: new Date(Date.now() + this.settings.leaseMs) } })
          .catch((err: unknown) => ctx.log.warn({ err }, 'idempotency: could not renew the lease'));
      },
      Math.max(50, Math.floor(this.settings.leaseMs / 3)),
    );
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Deletes expired records now and then, where no TTL monitor does (the embedded server). */
  private purgeNowAndThen(records: Collection<IdempotencyRecord>, now: Date): void {
    if (now.getTime() - this.lastPurge < PURGE_INTERVAL_MS) return;
    this.lastPurge = now.getTime();
    records
      .deleteMany({ expires_at: { $lte: now } })
      .catch((err: unknown) => this.settings.log?.warn({ err }, 'idempotency: could not purge expired keys'));
  }
}

function newOwner(): string {
  return randomBytes(12).toString('hex');
}

function inProgress(action: string, remainingMs: number) {
  const seconds = Math.max(1, Math.ceil(remainingMs / 1000));
  return apiError('idempotency_key_running', { action, seconds }, { retryAfterSeconds: seconds });
}
