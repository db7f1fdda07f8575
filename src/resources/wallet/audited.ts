import type { ObjectId } from 'mongodb';
import type { ActionDefinition } from '../../core/dispatch.js';
import { defineAction, type TypedStandardActions } from '../../core/declared-types.js';
import { transitionConflict } from '../../core/write-checks.js';
import { type AuditAction, actorOfCaller, auditEntry, auditUpdate, flushAudit } from '../../payments/audit.js';
import { WALLET_STATE } from '../../payments/legs.js';

/**
 * The wallet's own writes (open, disable, enable) with their audit entries, in the same single-document write as
 * the change (payments/audit.ts says why); the entry is moved into `wallet_audit` before the answer.
 */

/** What these builders use of the wallet's standard actions. */
type WalletStd = Pick<TypedStandardActions<'account_id' | 'state', string>, 'create' | 'mark' | 'model'>;

/** `create`: the new wallet carries its first entry (seq 1, nothing in it). */
export function auditedCreate(std: WalletStd, options: { fields: ['account_id']; summary: string }): ActionDefinition {
  const base = std.create(options);
  return {
    ...base,
    handler: async (params, ctx) => {
      const entry = auditEntry(actorOfCaller(ctx.caller, ctx.requestId), 'create', { balance: 0, frozen: 0, state: WALLET_STATE.active });
      const created = (await base.handler({ ...params, audit_seq: 1, audit_outbox: [entry] }, ctx)) as { _id: ObjectId };
      await flushAudit(ctx.db, [created._id]);
      return created;
    },
  };
}

/** `mark_disable` / `mark_enable`: the state change and its entry in one conditional update. */
export function auditedMark(
  std: WalletStd,
  options: { from: number; to: number; action: Extract<AuditAction, 'disable' | 'enable'>; summary?: string },
): ActionDefinition {
  const base = std.mark({ from: [options.from], to: options.to, ...(options.summary ? { summary: options.summary } : {}) });
  return defineAction({
    ...base,
    handler: async ({ _id }, ctx) => {
      const entry = auditEntry(actorOfCaller(ctx.caller, ctx.requestId), options.action, { balance: 0, frozen: 0, state: options.to });
      const audit = auditUpdate(entry);
      await std.model.updateChecked(
        ctx.db,
        { _id, state: { $in: [options.from] } },
        { $set: { state: options.to }, $push: audit.push, $inc: audit.inc },
        (record) => transitionConflict('state', record.state, [options.from]),
      );
      await flushAudit(ctx.db, [_id]);
      return {};
    },
  });
}
