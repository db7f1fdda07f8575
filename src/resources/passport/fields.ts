import type { Collection, Db, Document } from 'mongodb';
import { collectionOf } from '../../core/db.js';
import { ApiError, invalidParams, type FieldError } from '../../core/errors.js';
import { escapeRegex } from '../../core/filters.js';
import { parseSort } from '../../core/paging.js';
import type { ParamObject, ParamsDeclaration } from '../../core/params.js';

/** The collection of passports (protocols and publishing read it too). */
export const PASSPORT_COLLECTION = 'passport';

/** The passport lifecycle of seed 000 (Feecc): production → built → revision ⇄ built → approved → finalized. */
export const PASSPORT_STATUS = ['production', 'built', 'revision', 'approved', 'finalized'] as const;
export type PassportStatus = (typeof PASSPORT_STATUS)[number];

/** Statuses in which the content of a passport may still change (approved ones are being published). */
export const EDITABLE_STATUSES: PassportStatus[] = ['production', 'built', 'revision'];

/** One production stage of a passport's biography, as add_stage and create take it. */
export const STAGE_FIELDS = {
  id: { type: 'O string(1,64)', note: 'stage id; generated when absent' },
  name: { type: 'M string(1,256)', note: 'stage name' },
  employee_name: 'O string(1,256)',
  session_start_time: 'O datetime',
  session_end_time: 'O datetime',
  additional_info: { type: 'O string(0,4000)', note: 'free text' },
} as const satisfies ParamsDeclaration;

/** For the docs: a schema cannot state the check digit, so a bad one is a 400 the schema allows. */
const EAN_CHECK = 'an EAN-13 whose check digit is right';

/** The passport fields of seed 000, in SEP-12 notation. */
export const PASSPORT_FIELDS = {
  schema_id: { type: 'M string(1,128)', note: 'passport schema' },
  uuid: { type: 'M string(1,64)', note: 'unit uuid; unique, never changes' },
  internal_id: {
    type: 'M string(13,13)',
    note: 'internal number: an EAN-13 (13 digits, valid check digit); unique, never changes',
    stated: { pattern: '^[0-9]{13}$' },
    checks: EAN_CHECK,
  },
  passport_short_url: 'O string(1,512)',
  passport_ipfs_cid: { type: 'O string(1,128)', note: 'set by publishing only' },
  is_in_db: { type: 'O bool', note: 'never changes' },
  featured_in_int_id: { type: 'O string(13,13)', note: 'EAN-13 of the unit this one is built into; never changes', checks: EAN_CHECK },
  biography: { type: 'O list<dict>(0,1000)', fields: STAGE_FIELDS, note: 'production stages; grows through add_stage' },
  components_internal_ids: { type: 'O list<string(13,13)>(0,1000)', note: 'EAN-13s of the components', checks: EAN_CHECK },
  model: { type: 'O string(1,256)', note: 'model name' },
  date: { type: 'M datetime', note: 'issue date (default: now)' },
  type: { type: 'O string(1,128)', note: 'unit type' },
  parential_unit: 'O string(1,64)',
  serial_number: { type: 'O string(1,64)', note: 'unique when present' },
  status: { type: `M enum<str>(${PASSPORT_STATUS.join(',')})`, note: 'changes only through actions' },
  txn_hash: { type: 'O string(1,128)', note: 'ledger record of the published passport; set by publishing only' },
} as const satisfies ParamsDeclaration;

/** The `internal_id` param of every passport and protocol action. */
export const INTERNAL_ID = {
  type: 'M string(13,13)',
  note: 'internal number of the unit (EAN-13)',
  stated: { pattern: '^[0-9]{13}$' },
  checks: EAN_CHECK,
} as const satisfies ParamObject;

/** True for 13 digits whose last is the EAN-13 check digit of the first twelve. */
export function isEan13(value: string): boolean {
  if (!/^\d{13}$/.test(value)) return false;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(value[i]) * (i % 2 === 0 ? 1 : 3);
  return (10 - (sum % 10)) % 10 === Number(value[12]);
}

/** The EAN-13 check digit of twelve digits (used by tests and the benchmark to make valid numbers). */
export function ean13(twelveDigits: string): string {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(twelveDigits[i]) * (i % 2 === 0 ? 1 : 3);
  return `${twelveDigits}${(10 - (sum % 10)) % 10}`;
}

const EAN_MESSAGE = 'must be an EAN-13: 13 digits with a valid check digit';

/** Field errors for every given value that is not an EAN-13 (`values`: field path → value). */
export function ean13Errors(values: Record<string, unknown>): FieldError[] {
  return Object.entries(values)
    .filter(([, value]) => typeof value === 'string' && !isEan13(value))
    .map(([field]) => ({ field, messages: [EAN_MESSAGE] }));
}

/** Throws invalid_params unless `internal_id` is an EAN-13. */
export function requireEan13(value: string, field = 'internal_id'): string {
  const errors = ean13Errors({ [field]: value });
  if (errors.length > 0) throw invalidParams(errors);
  return value;
}

/** The passport collection (protocols and publishing read it too). */
export function passports(db: Db): Collection<Document> {
  return collectionOf<Document>(db, PASSPORT_COLLECTION);
}

/** The live (not deleted) passport with this internal_id, or not_found. */
export async function loadPassport(db: Db, internalId: string, projection?: Document): Promise<Document> {
  const record = await passports(db).findOne({ internal_id: internalId, deleted_at: null }, projection ? { projection } : {});
  if (!record)
    throw new ApiError('not_found', {
      message: `no passport with internal_id ${internalId}`,
      fields: [{ field: 'internal_id', messages: ['no passport with this internal_id'] }],
    });
  return record;
}

/** The 409 of an action that the passport's current status does not allow. */
export function statusConflict(current: unknown, allowed: readonly string[], action: string): ApiError {
  return new ApiError('conflict', {
    message: `passport status is ${JSON.stringify(current)}; ${action} needs ${allowed.join(' or ')}`,
    zhMessage: '当前状态不允许此操作',
    fields: [{ field: 'status', messages: [`is ${JSON.stringify(current)}`] }],
  });
}

/** `_sort` over `date` (default newest first); the `_id` tie-breaker follows the date's direction, so one index serves both orders. */
export function dateSortOf(text: string | undefined): Record<string, 1 | -1> {
  const sort = parseSort(text, ['date'], { date: -1 });
  sort._id = sort.date ?? -1;
  return sort;
}

/** A case-insensitive literal substring match (the seed's `name` filters). */
export function containsText(text: string): Document {
  return { $regex: escapeRegex(text), $options: 'i' };
}
