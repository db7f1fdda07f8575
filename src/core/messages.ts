import type { ErrorCode } from './errors.js';

/** A specific message of one code, in English and Chinese, with `{name}` arguments. */
export interface MessageTemplate {
  code: ErrorCode;
  en: string;
  zh: string;
}

/**
 * Every specific message the framework gives, per code and in both languages (fastify's `createError(code,
 * template, status)` model): a specific English text always comes with its own Chinese one. `reason` is the key.
 */
export const MESSAGES = {
  invalid_param: { code: 'invalid_params', en: 'Invalid parameter {field}: {detail}{more}', zh: '参数 {field} 错误{more_zh}' },
  no_field_to_change: {
    code: 'invalid_params',
    en: 'No field to change was given (update takes at least one of {fields})',
    zh: '未提供要修改的字段（update 至少需要 {fields} 之一）',
  },
  too_many_results: {
    code: 'too_many_results',
    en: 'More than {cap} {resource} records match; narrow the filters or page through {resource}/find',
    zh: '匹配的 {resource} 记录超过 {cap} 条，请缩小筛选范围或使用 {resource}/find 分页查询',
  },
  body_not_object: { code: 'invalid_json', en: 'The request body must be a JSON object', zh: '请求体必须是 JSON 对象' },
  key_forbidden: {
    code: 'forbidden',
    en: 'The key "{key}" may not call {action} ({access})',
    zh: '密钥 "{key}" 无权调用 {action}（{access}）',
  },
  caller_forbidden: {
    code: 'forbidden',
    en: '{action} is not for {kind} callers (it takes: {allowed})',
    zh: '{action} 不允许 {kind} 调用方调用（允许：{allowed}）',
  },
  bad_login: { code: 'unauthorized', en: 'Wrong username or password', zh: '用户名或密码错误' },
  login_rate_limited: {
    code: 'rate_limited',
    en: 'Too many failed logins for this username; try again in {seconds} s',
    zh: '该用户名登录失败次数过多，请在 {seconds} 秒后重试',
  },
  caller_rate_limited: {
    code: 'rate_limited',
    en: 'More than {limit} requests in {window} s from this caller; try again in {seconds} s',
    zh: '该调用方在 {window} 秒内的请求超过 {limit} 次，请在 {seconds} 秒后重试',
  },
  unknown_action: { code: 'unknown_action', en: 'Unknown action {action}', zh: '接口 {action} 不存在' },
  bad_idempotency_key: {
    code: 'invalid_params',
    en: 'The Idempotency-Key header must be 1 to 255 printable ASCII characters',
    zh: 'Idempotency-Key 请求头必须是 1 到 255 个可打印 ASCII 字符',
  },
  idempotency_key_reused: {
    code: 'idempotency_conflict',
    en: 'The Idempotency-Key was already used for {action} with other parameters; use a new key for a new request',
    zh: '该幂等键已用于参数不同的 {action} 请求，新的请求请使用新的幂等键',
  },
  idempotency_key_running: {
    code: 'idempotency_in_progress',
    en: 'The first {action} request with this Idempotency-Key is still running; retry in {seconds} s',
    zh: '使用该幂等键的第一个 {action} 请求仍在处理中，请在 {seconds} 秒后重试',
  },
  method_not_allowed: {
    code: 'method_not_allowed',
    en: '{method} is not allowed on {path}; it takes {allow}',
    zh: '{path} 不支持 {method}，请使用 {allow}',
  },
  record_not_found: { code: 'not_found', en: '{resource} {id} not found', zh: '{resource} {id} 不存在' },
  no_record_with_key: { code: 'not_found', en: 'no {resource} with this {key}', zh: '没有 {key} 为该值的 {resource}' },
  records_missing: { code: 'not_found', en: '{count} of the records do not exist', zh: '其中 {count} 条记录不存在' },
  records_deleted_meanwhile: {
    code: 'not_found',
    en: '{count} of the records were deleted meanwhile',
    zh: '其中 {count} 条记录在此期间已被删除',
  },
  duplicate_key: { code: 'conflict', en: 'Duplicate key', zh: '数据重复，违反唯一约束' },
  duplicate_value: { code: 'conflict', en: 'Duplicate value for {fields}', zh: '{fields} 的值已被占用，违反唯一约束' },
  duplicate_value_deleted: {
    code: 'conflict',
    en: 'Duplicate value for {fields} (held by a deleted {resource})',
    zh: '{fields} 的值已被已删除的 {resource} 占用（可用 mark_restore 恢复该记录）',
  },
  duplicate_in_batch: { code: 'conflict', en: 'Duplicate values in the batch', zh: '批量数据中存在重复值' },
  duplicate_value_and_in_batch: {
    code: 'conflict',
    en: 'Duplicate value for {fields} (and duplicate values in the batch)',
    zh: '{fields} 的值已被占用，且批量数据中存在重复值',
  },
  still_referenced: {
    code: 'conflict',
    en: '{resource} {id} is still referenced by {referrer}.{field}',
    zh: '{resource} {id} 仍被 {referrer}.{field} 引用，无法删除',
  },
  transition_refused: {
    code: 'conflict',
    en: '{field} is {current}; this action needs {needed}',
    zh: '当前 {field} 为 {current}，此操作需要 {needed}',
  },
  not_deleted: { code: 'conflict', en: '{resource} {id} is not deleted', zh: '{resource} {id} 未被删除，无需恢复' },
  changed_meanwhile: {
    code: 'conflict',
    en: '{resource} {id} changed meanwhile; try again',
    zh: '{resource} {id} 在此期间已被修改，请重试',
  },
  restore_value_taken: {
    code: 'conflict',
    en: 'Cannot restore: {fields} taken by a live {resource}',
    zh: '无法恢复：{fields} 已被现有的 {resource} 占用',
  },
  restore_reference_gone: {
    code: 'conflict',
    en: 'Cannot restore: {fields} no longer names a live record',
    zh: '无法恢复：{fields} 引用的记录已不存在',
  },
  // money (src/payments): `{tx}` is the transaction's id; `{replayed}` is ' (replayed)' when an earlier call with the
  // same out_trade_no met the refusal, so a retry is told it is not a new one (both languages carry the same marker)
  funds_short: {
    code: 'insufficient_funds',
    en: 'the wallet cannot pay this amount (transaction {tx}){replayed}',
    zh: '钱包余额不足，无法支付该金额（交易 {tx}）{replayed}',
  },
  wallet_missing: {
    code: 'not_found',
    en: 'the wallet does not exist (transaction {tx}){replayed}',
    zh: '钱包不存在（交易 {tx}）{replayed}',
  },
  wallet_disabled: { code: 'conflict', en: 'the wallet is disabled (transaction {tx}){replayed}', zh: '钱包已停用（交易 {tx}）{replayed}' },
  balance_limit: {
    code: 'conflict',
    en: 'the balance would exceed its limit of {limit} (分) (transaction {tx}){replayed}',
    zh: '余额将超出上限 {limit} 分（交易 {tx}）{replayed}',
  },
  not_refundable: {
    code: 'conflict',
    en: 'the collect is not a done collect (transaction {tx}){replayed}',
    zh: '该收款未完成，不可退款（交易 {tx}）{replayed}',
  },
  refund_exceeds_collected: {
    code: 'conflict',
    en: 'the refunds would exceed what was collected (transaction {tx}){replayed}',
    zh: '退款总额将超出收款金额（交易 {tx}）{replayed}',
  },
  out_trade_no_reused: {
    code: 'idempotency_conflict',
    en: 'out_trade_no {out_trade_no} was already used for another {type}',
    zh: 'out_trade_no {out_trade_no} 已被另一笔 {type} 使用',
  },
  unknown_collect: {
    code: 'not_found',
    en: 'no collect with out_trade_no {out_trade_no}',
    zh: '没有 out_trade_no 为 {out_trade_no} 的收款',
  },
  tx_busy: {
    code: 'conflict',
    en: 'transaction {tx} is being processed right now; try again',
    zh: '交易 {tx} 正在处理中，请稍后重试',
  },
  not_cancellable: {
    code: 'conflict',
    en: 'a {type} in state {state} can no longer be canceled',
    zh: '状态为 {state} 的 {type} 已不能取消',
  },
  sent_not_cancellable: {
    code: 'conflict',
    en: 'a {type} in state {state} already sent to the gateway can no longer be canceled',
    zh: '状态为 {state} 且已提交支付网关的 {type} 已不能取消',
  },
} as const satisfies Record<string, MessageTemplate>;

export type MessageKey = keyof typeof MESSAGES;

/** Arguments of a message template. */
export type MessageArgs = Record<string, string | number>;

/** Fills `{name}` placeholders; an argument that is not given leaves its placeholder visible (a bug to see). */
export function formatMessage(template: string, args: MessageArgs): string {
  return template.replace(/\{([a-z_]+)\}/g, (whole, name: string) => (Object.hasOwn(args, name) ? String(args[name]) : whole));
}
