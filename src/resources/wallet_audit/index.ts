import { defineResource } from '../../core/resource.js';
import { AUDIT_COLLECTION } from '../../payments/audit.js';
import { LEG_ROLES } from '../../payments/legs.js';
import { TX_TYPES } from '../../payments/transactions.js';

const ACTIONS = ['create', 'disable', 'enable', 'apply', 'commit', 'rollback', 'resolve', 'retry'];

/**
 * 钱包审计 — the audit trail of money (src/payments/audit.ts): one immutable record per wallet change and per
 * operator decision. Written only by the payment engine and the wallet's own writes; read by service callers only.
 */
export default defineResource({
  name: 'wallet_audit',
  summary: '钱包审计 (the audit trail of wallet money; read-only, service callers only)',
  titleZh: '钱包审计',
  collection: AUDIT_COLLECTION,
  fields: {
    wallet_id: { type: 'M object_id', note: 'the wallet changed (an operator decision: the wallet charged by the transaction)' },
    seq: { type: 'O int', note: "the change's place in the wallet's history: 1, 2, 3 … without gaps; none for an operator decision" },
    action: `M enum<str>(${ACTIONS.join(',')})`,
    who: { type: 'M string', note: 'service:<key name>, user:<id>, worker:<host>:<pid>, cli:<login>' },
    tx_id: 'O object_id',
    tx_type: `O enum<str>(${TX_TYPES.join(',')})`,
  },
  stored: {
    at: 'M datetime',
    request_id: 'O string',
    role: `O enum<str>(${LEG_ROLES.join(',')})`,
    balance_before: 'O int',
    balance_after: 'O int',
    frozen_before: 'O int',
    frozen_after: 'O int',
    state_before: 'O int',
    state_after: 'O int',
    detail: 'O string',
  },
  // the engine makes this collection's indexes (payments/audit.ts ensureAuditIndexes)
  actions: (std) => ({
    find: std.find({
      result: 'wallet_audit_detail',
      summary: "Read the audit trail: a wallet's changes in order (wallet_id, _sort seq), a transaction's, an actor's",
      filters: { wallet_id: ['eq'], tx_id: ['eq'], action: ['eq', 'in'], who: ['eq'], at: ['gte', 'lt'] },
      sortable: ['_id', 'seq', 'at'],
    }),
  }),
});
