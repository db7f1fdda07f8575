import type { ErrorObject } from 'ajv';
import type { FieldError } from './errors.js';
import type { UnknownParamHints } from './params.js';

// Our wording of ajv's validation errors, field by field with full paths (`docs[3].phone`).

type JsonSchema = Record<string, unknown>;
const MAX_FIELD_ERRORS = 100;

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  null: 'null',
  array: 'a list',
  object: 'an object',
};

/** Our wording of ajv's errors, by keyword. */
const KEYWORD_MESSAGES: Record<string, (p: Record<string, unknown>) => string> = {
  type: (p) =>
    `must be ${String(p.type)
      .split(',')
      .map((t) => TYPE_NAMES[t] ?? t)
      .join(' or ')}`,
  minLength: (p) => `must be at least ${plural(p.limit, 'character')}`,
  maxLength: (p) => `must be at most ${plural(p.limit, 'character')}`,
  minimum: (p) => `must be >= ${String(p.limit)}`,
  maximum: (p) => `must be <= ${String(p.limit)}`,
  minItems: (p) => `must have at least ${plural(p.limit, 'item')}`,
  maxItems: (p) => `must have at most ${plural(p.limit, 'item')}`,
  enum: (p) => `must be one of ${(p.allowedValues as unknown[]).join(', ')}`,
};

export function fieldErrors(errors: ErrorObject[], unknown: UnknownParamHints = {}): FieldError[] {
  const byField = new Map<string, string[]>();
  const add = (field: string, message: string) => {
    const messages = byField.get(field) ?? [];
    if (!messages.includes(message)) messages.push(message);
    byField.set(field, messages);
  };
  // a null with its own message (e.g. "cannot be removed") gets only that one, not also the enum or type complaint
  const nullMessages = new Map<string, string>();
  for (const error of errors) {
    const message = error.data === null ? (error.parentSchema as JsonSchema | undefined)?.['x-null-message'] : undefined;
    if (message !== undefined) nullMessages.set(error.instancePath, String(message));
  }
  for (const error of errors) {
    const path = pointerToPath(error.instancePath);
    const nullMessage = error.data === null ? nullMessages.get(error.instancePath) : undefined;
    if (nullMessage !== undefined) {
      add(path, nullMessage);
      continue;
    }
    const p = error.params as Record<string, unknown>;
    if (error.keyword === 'required') add(joinPath(path, String(p.missingProperty)), 'is required');
    else if (error.keyword === 'additionalProperties')
      add(joinPath(path, String(p.additionalProperty)), unknownMessage(path, String(p.additionalProperty), unknown));
    else if (error.keyword === 'pattern')
      add(path, String((error.parentSchema as JsonSchema | undefined)?.['x-message'] ?? 'has the wrong format'));
    else add(path, KEYWORD_MESSAGES[error.keyword]?.(p) ?? error.message ?? 'is invalid');
  }
  return [...byField].slice(0, MAX_FIELD_ERRORS).map(([field, messages]) => ({ field, messages }));
}

/** `refused` keys name nested params with `[]` for list items: `docs[].state`. */
function unknownMessage(path: string, name: string, unknown: UnknownParamHints): string {
  const key = joinPath(path.replace(/\[\d+\]/g, '[]'), name);
  const refused = unknown.refused && Object.hasOwn(unknown.refused, key) ? unknown.refused[key] : undefined;
  if (refused) return refused;
  return unknown.hint && path === '' ? `is not a known param (${unknown.hint})` : 'is not a known param';
}

function plural(count: unknown, noun: string): string {
  return `${String(count)} ${noun}${count === 1 ? '' : 's'}`;
}

/** `/docs/3/phone` → `docs[3].phone`. */
function pointerToPath(pointer: string): string {
  let path = '';
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path = /^\d+$/.test(segment) ? `${path}[${segment}]` : joinPath(path, segment);
  }
  return path;
}

/** `docs[3]` + `phone` → `docs[3].phone`. */
export function joinPath(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}
