import { MongoBulkWriteError, MongoError, MongoServerError } from 'mongodb';
import { MESSAGES, formatMessage, type MessageArgs, type MessageKey, type MessageTemplate } from './messages.js';

/** Every error the API can answer with: a stable code, its HTTP status and default messages (DESIGN.md §3). */
export const ERROR_CODES = {
  invalid_json: { status: 400, message: 'The request body is not a JSON object', zh: '请求体不是合法的 JSON 对象' },
  invalid_encoding: {
    status: 400,
    message: 'The request body cannot be decoded with its Content-Encoding',
    zh: '请求体无法按其 Content-Encoding 解码',
  },
  invalid_params: { status: 400, message: 'Invalid parameters', zh: '参数错误' },
  too_many_results: {
    status: 400,
    message: 'Too many records match; narrow the filters or use find',
    zh: '匹配的记录过多，请缩小筛选范围或使用 find 分页查询',
  },
  unauthorized: { status: 401, message: 'Missing or invalid API key', zh: '未授权：缺少或错误的 API 密钥' },
  forbidden: { status: 403, message: 'Not allowed', zh: '无权执行此操作' },
  not_found: { status: 404, message: 'Record not found', zh: '记录不存在' },
  unknown_action: { status: 404, message: 'Unknown resource or action', zh: '接口不存在' },
  method_not_allowed: {
    status: 405,
    message: 'This path does not take this method (see the Allow header)',
    zh: '该接口不支持此 HTTP 方法',
  },
  conflict: { status: 409, message: 'Conflict with the current state of the record', zh: '与记录当前状态冲突' },
  idempotency_conflict: {
    status: 409,
    message: 'The idempotency key was already used with different parameters',
    zh: '幂等键已被不同的参数使用',
  },
  idempotency_in_progress: {
    status: 409,
    message: 'A request with this Idempotency-Key is still running; retry later (see Retry-After)',
    zh: '使用该幂等键的请求仍在处理中，请稍后重试（见 Retry-After）',
  },
  insufficient_funds: { status: 409, message: 'Insufficient funds', zh: '余额不足' },
  rate_limited: {
    status: 429,
    message: 'Too many requests; try again after the Retry-After seconds',
    zh: '请求过于频繁，请在 Retry-After 秒后重试',
  },
  payload_too_large: { status: 413, message: 'Request body is too large', zh: '请求体过大' },
  unsupported_media_type: {
    status: 415,
    message: 'The request body must be JSON (Content-Type: application/json)',
    zh: '请求体必须是 JSON（Content-Type: application/json）',
  },
  internal: { status: 500, message: 'Internal server error', zh: '服务器内部错误' },
  unavailable: { status: 503, message: 'The database is unavailable', zh: '数据库暂不可用' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export { MESSAGES, formatMessage, type MessageArgs, type MessageKey, type MessageTemplate } from './messages.js';

/** One problem with one input field; `field` is a full path such as `docs[3].phone` or `_meta.limit`. */
export interface FieldError {
  field: string;
  messages: string[];
}

export interface ApiErrorOptions {
  /** Prefer `apiError(reason, args)`: a message given here comes with the code's generic Chinese text unless zhMessage is given. */
  message?: string;
  zhMessage?: string;
  /** The MESSAGES key the texts came from. */
  reason?: MessageKey;
  fields?: FieldError[];
  cause?: unknown;
  /** Seconds the client should wait before trying again: sent as the `Retry-After` header (429, 409 in progress). */
  retryAfterSeconds?: number;
}

/** The JSON body of every failed request. */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    zh_message: string;
    fields?: FieldError[];
    request_id: string;
  };
}

/** The only error type handlers throw; anything else reaching the boundary becomes `internal`. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly zhMessage: string;
  readonly fields: FieldError[] | undefined;
  /** Which MESSAGES template the texts came from (for tests and logs; not sent). */
  readonly reason: MessageKey | undefined;
  /** Sent as `Retry-After` when set. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, options: ApiErrorOptions = {}) {
    const entry = ERROR_CODES[code];
    super(options.message ?? entry.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ApiError';
    this.code = code;
    this.status = entry.status;
    this.zhMessage = options.zhMessage ?? entry.zh;
    this.fields = options.fields;
    this.reason = options.reason;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toBody(requestId: string): ErrorBody {
    const fields = this.fields && this.fields.length > 0 ? { fields: this.fields } : {};
    return { error: { code: this.code, message: this.message, zh_message: this.zhMessage, ...fields, request_id: requestId } };
  }
}

/** The error of a MESSAGES template: its code, both texts filled with `args`. */
export function apiError(
  reason: MessageKey,
  args: MessageArgs = {},
  options: Pick<ApiErrorOptions, 'fields' | 'cause' | 'retryAfterSeconds'> = {},
): ApiError {
  const template: MessageTemplate = MESSAGES[reason];
  return new ApiError(template.code, {
    ...options,
    reason,
    message: formatMessage(template.en, args),
    zhMessage: formatMessage(template.zh, args),
  });
}

/** An `invalid_params` error for one or more fields (`whole`: a message for the whole error instead). */
export function invalidParams(fields: FieldError[], whole?: { reason: MessageKey; args?: MessageArgs }): ApiError {
  if (whole) return apiError(whole.reason, whole.args, fields.length > 0 ? { fields } : {});
  const first = fields[0];
  if (!first) return new ApiError('invalid_params');
  const more = fields.length - 1;
  return apiError(
    'invalid_param',
    {
      field: first.field,
      detail: first.messages.join('; '),
      more: more > 0 ? ` (and ${more} more)` : '',
      more_zh: more > 0 ? `（另有 ${more} 处错误）` : '',
    },
    { fields },
  );
}

const DUPLICATE_KEY = 11000;
const UNAVAILABLE_ERRORS = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
  'MongoWaitQueueTimeoutError',
]);

/** Server codes of a replica set changing primary or shutting down: the caller should retry, so 503, not 500. */
const FAILOVER_CODES = new Set([6, 7, 89, 91, 189, 9001, 10107, 11600, 11602, 13435, 13436]);

function isFailoverError(err: MongoError): boolean {
  return (
    (typeof err.code === 'number' && FAILOVER_CODES.has(err.code)) ||
    err.hasErrorLabel('RetryableWriteError') ||
    err.hasErrorLabel('ResetPool')
  );
}

/** True when a driver error is a duplicate key violation of a unique index. */
export function isDuplicateKeyError(err: unknown): err is MongoServerError {
  return err instanceof MongoServerError && err.code === DUPLICATE_KEY;
}

/**
 * The one place where driver and framework errors become API errors (DESIGN.md §3).
 * `fieldPrefix` is prepended to the field names of a duplicate key (e.g. `docs[2].`).
 */
export function toApiError(err: unknown, fieldPrefix = ''): ApiError {
  if (err instanceof ApiError) return err;
  if (isDuplicateKeyError(err)) {
    const fields = duplicateKeyFields(err).map((name) => ({
      field: fieldPrefix + name,
      messages: ['is already taken'],
    }));
    if (fields.length === 0) return apiError('duplicate_key', {}, { cause: err });
    return apiError('duplicate_value', { fields: fields.map((f) => f.field).join(', ') }, { fields, cause: err });
  }
  if (err instanceof MongoError && (UNAVAILABLE_ERRORS.has(err.name) || isFailoverError(err))) {
    return new ApiError('unavailable', { cause: err });
  }
  // a bulk write that lost its connection (a timeout, a dead server) carries the driver's error inside
  const inner = err instanceof MongoBulkWriteError ? err.errorResponse : undefined;
  if (inner instanceof MongoError && UNAVAILABLE_ERRORS.has(inner.name)) return new ApiError('unavailable', { cause: err });
  return new ApiError('internal', { cause: err });
}

/**
 * The fields of the violated unique index. MongoDB reports them in `keyPattern`; servers that only send the
 * message (`... index: phone_1 dup key: ...`) are read from the index name.
 */
export function duplicateKeyFields(err: MongoServerError): string[] {
  const pattern = err.keyPattern ?? err.errorResponse?.keyPattern;
  if (pattern && typeof pattern === 'object') return Object.keys(pattern);
  const indexName = /index: (\S+)/.exec(err.message)?.[1];
  if (!indexName) return [];
  return indexFieldsFromName(indexName);
}

/** `phone_1` → `[phone]`; `a_1_b_-1` → `[a, b]`; names not in the default format are returned as they are. */
function indexFieldsFromName(indexName: string): string[] {
  const parts = indexName.split('_');
  const fields: string[] = [];
  let current: string[] = [];
  for (const part of parts) {
    if (/^-?1$|^text$|^2dsphere$|^hashed$/.test(part) && current.length > 0) {
      fields.push(current.join('_'));
      current = [];
    } else {
      current.push(part);
    }
  }
  return current.length > 0 ? [indexName] : fields;
}
