import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ObjectId } from 'mongodb';
import { invalidParams, type FieldError, type MessageArgs, type MessageKey } from './errors.js';

/**
 * A param in the SEP-12 notation (seed 003): `'<M|O|C> <type>'`, e.g. `'M string(1,64)'`, `'O enum<int>(100,200)'`,
 * `'O list<object_id>(1,1000)'`. The object form adds a note for the docs and the fields of a `dict`.
 */
export type ParamSpec = string | ParamObject;

export interface ParamObject {
  type: string;
  note?: string;
  /** Also accept `null` (used by `update`: null removes an optional field). */
  nullable?: boolean;
  /** What a `null` for this (not nullable) param is told, instead of the type error (e.g. "cannot be removed"). */
  nullMessage?: string;
  /** Accept a string made only of whitespace; default: refused for `M` strings, accepted for `O`. */
  blank?: boolean;
  /** The fields of a `dict` (or of the dicts in a `list<dict>`). */
  fields?: ParamsDeclaration;
  /**
   * JSON Schema keywords the OpenAPI states for a rule the handler checks itself with a better message
   * (`_sort`'s pattern); merged into the published schema, not applied by ajv.
   */
  stated?: Record<string, unknown>;
  /** What the handler checks beyond the type and cannot be stated in a schema (answered 400); for the docs. */
  checks?: string;
}

export type ParamsDeclaration = Record<string, ParamSpec>;

/**
 * Rules that make `C` (conditional) params precise. `none`: the whole error's message when none is given (the error
 * then names no single field, e.g. "no field to change was given").
 */
export type ParamRule = { exactlyOne: string[] } | { atLeastOne: string[]; none?: WholeMessage };

/** A message for a whole invalid_params error: a MESSAGES key and its arguments. */
export type WholeMessage = { reason: MessageKey; args?: MessageArgs };

/** How unknown params are explained: a hint after "is not a known param", or a reason per refused name. */
export interface UnknownParamHints {
  /** Appended to the message of any unknown top-level param, e.g. `filters: name, name__icontains`. */
  hint?: string;
  /** Names refused for a stated reason, e.g. `{state: 'is changed by mark_disable'}`; `docs[].state` inside lists. */
  refused?: Record<string, string>;
}

export type Presence = 'M' | 'O' | 'C';

/** A parsed SEP-12 type. */
export type ParamType =
  | { kind: 'string'; min?: number; max?: number }
  | { kind: 'int'; min?: number; max?: number }
  | { kind: 'float'; min?: number; max?: number }
  | { kind: 'bool' }
  | { kind: 'datetime' }
  | { kind: 'date' }
  | { kind: 'time' }
  | { kind: 'object_id' }
  | { kind: 'enum_int'; values: number[] }
  | { kind: 'enum_str'; values: string[] }
  | { kind: 'list'; item: ParamType; min?: number; max?: number }
  | { kind: 'dict'; fields: ParsedParam[] }
  | { kind: 'json_list' }
  | { kind: 'json_map' };

export interface ParsedParam {
  name: string;
  presence: Presence;
  type: ParamType;
  /** The type as declared, for docs. */
  typeText: string;
  note?: string;
  nullable?: boolean;
  nullMessage?: string;
  /** Whitespace-only strings are accepted. */
  blank?: boolean;
  stated?: Record<string, unknown>;
  checks?: string;
}

/** Converted params: ObjectId for object_id, Date for datetime/date, plain JSON values otherwise. */
export type Params = Record<string, unknown>;

/** A compiled params declaration: validates and converts a request body in one call. */
export interface ParamsValidator {
  readonly params: ParsedParam[];
  readonly rules: ParamRule[];
  /** The request body as JSON Schema (for OpenAPI). */
  readonly jsonSchema: Record<string, unknown>;
  /** Returns the converted params or throws `invalid_params` listing every bad field. */
  validate(body: unknown): Params;
}

/** A declaration that cannot be compiled; the message names the param. */
export class ParamDeclarationError extends Error {
  constructor(param: string, message: string) {
    super(`param ${param}: ${message}`);
    this.name = 'ParamDeclarationError';
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_FIELD_ERRORS = 100;
const OBJECT_ID = '^[0-9a-fA-F]{24}$';
// the ranges of months, days, hours, minutes and zones are in the patterns, so the published schema says them;
// only a day past its month's end (2024-02-30) is left to the converter
const DAY = '\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])';
const DATETIME = `^${DAY}([T ]([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d(\\.\\d{1,9})?)?)?(Z|[+-]([01]\\d|2[0-3]):?[0-5]\\d)?$`;
const DATE = `^${DAY}$`;
const TIME = '^([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d$';
/** Empty (left to minLength) or holding something besides whitespace. */
const NOT_BLANK = '^(?!\\s+$)';

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true, validateFormats: false });
ajv.addVocabulary(['x-message', 'x-null-message']);

/** Parses a declaration map into params (throws ParamDeclarationError on the first mistake). */
export function parseParams(declaration: ParamsDeclaration, prefix = ''): ParsedParam[] {
  return Object.entries(declaration).map(([name, spec]) => {
    const path = prefix + name;
    if (!NAME.test(name)) throw new ParamDeclarationError(path, 'a param name must be letters, digits and _');
    const text = typeof spec === 'string' ? spec : spec.type;
    const fields = typeof spec === 'string' ? undefined : spec.fields;
    const match = /^([MOC])\s+(.+)$/.exec(text.trim());
    if (!match) throw new ParamDeclarationError(path, `"${text}" must start with M, O or C and a type`);
    const typeText = match[2] as string;
    const parsed: ParsedParam = {
      name,
      presence: match[1] as Presence,
      type: parseType(typeText, path, fields),
      typeText,
    };
    if (typeof spec !== 'string' && spec.note) parsed.note = spec.note;
    if (typeof spec !== 'string' && spec.nullMessage) parsed.nullMessage = spec.nullMessage;
    if (typeof spec !== 'string' && spec.stated) parsed.stated = spec.stated;
    if (typeof spec !== 'string' && spec.checks) parsed.checks = spec.checks;
    const blank = typeof spec === 'string' ? undefined : spec.blank;
    if (blank ?? parsed.presence !== 'M') parsed.blank = true;
    if (typeof spec !== 'string' && spec.nullable) {
      if (parsed.presence === 'M') throw new ParamDeclarationError(path, 'an M param cannot be nullable');
      parsed.nullable = true;
    }
    if (fields && !typeUsesFields(parsed.type)) throw new ParamDeclarationError(path, '`fields` only goes with dict or list<dict>');
    return parsed;
  });
}

/** Parses a SEP-12 type such as `string(1,64)`, `enum<int>(1,2)` or `list<object_id>(1,100)`. */
export function parseType(text: string, path: string, fields?: ParamsDeclaration): ParamType {
  const source = text.replace(/\s+/g, '');
  const fail = (why: string): never => {
    throw new ParamDeclarationError(path, `bad type "${text}": ${why}`);
  };
  const list = /^list<(.+)>(\((\d+)(?:,(\d+))?\))?$/.exec(source);
  if (list) {
    const item = parseType(list[1] as string, `${path}[]`, fields);
    const [min, max] = rangeOf(list[3], list[4]);
    return withRange({ kind: 'list', item }, min, max, fail);
  }
  const json = /^json<(list|map)>$/.exec(source);
  if (json) return { kind: json[1] === 'list' ? 'json_list' : 'json_map' };
  const enumMatch = /^enum<(int|str)>\((.+)\)$/.exec(source);
  if (enumMatch) {
    // values keep their inner spaces ('Протокол утверждён'): split the declared text, not the squeezed one
    const raw = (/\((.*)\)\s*$/.exec(text)?.[1] ?? (enumMatch[2] as string)).split(',').map((v) => v.trim());
    if (enumMatch[1] === 'int') {
      const values = raw.map((v) => (/^-?\d+$/.test(v) ? Number(v) : fail(`"${v}" is not an integer`)));
      return { kind: 'enum_int', values };
    }
    return { kind: 'enum_str', values: raw.map((v) => v.replace(/^['"]|['"]$/g, '')) };
  }
  const scalar = /^([a-z_]+)(\((-?\d+(?:\.\d+)?)(?:,(-?\d+(?:\.\d+)?))?\))?$/.exec(source);
  if (!scalar) return fail('not a SEP-12 type');
  const [, base, , a, b] = scalar;
  switch (base) {
    case 'string':
    case 'str': {
      // SEP-12: string(max) or string(min,max)
      const [min, max] = b === undefined ? [undefined, a === undefined ? undefined : Number(a)] : [Number(a), Number(b)];
      return withRange({ kind: 'string' }, min, max, fail);
    }
    case 'int':
    case 'float': {
      // SEP-12: int([min,]max)
      const [min, max] = b === undefined ? [undefined, a === undefined ? undefined : Number(a)] : [Number(a), Number(b)];
      if (base === 'int' && [min, max].some((v) => v !== undefined && !Number.isSafeInteger(v))) {
        fail('int bounds must be safe integers');
      }
      return withRange({ kind: base }, min, max, fail);
    }
    case 'bool':
    case 'datetime':
    case 'date':
    case 'time':
    case 'object_id':
      if (a !== undefined) fail(`${base} takes no range`);
      return { kind: base };
    case 'dict':
      if (!fields) return fail('a dict needs `fields`');
      return { kind: 'dict', fields: parseParams(fields, `${path}.`).map(requireNotConditional) };
    default:
      return fail(`unknown type "${base}"`);
  }
}

function requireNotConditional(param: ParsedParam): ParsedParam {
  if (param.presence === 'C') throw new ParamDeclarationError(param.name, 'C is only for top-level params with a rule');
  return param;
}

function rangeOf(a: string | undefined, b: string | undefined): [number | undefined, number | undefined] {
  if (a === undefined) return [undefined, undefined];
  return b === undefined ? [0, Number(a)] : [Number(a), Number(b)];
}

function withRange<T extends ParamType & { min?: number; max?: number }>(
  type: T,
  min: number | undefined,
  max: number | undefined,
  fail: (why: string) => never,
): T {
  if (min !== undefined && max !== undefined && min > max) fail('min is greater than max');
  if (min !== undefined) type.min = min;
  if (max !== undefined) type.max = max;
  return type;
}

function typeUsesFields(type: ParamType): boolean {
  return type.kind === 'dict' || (type.kind === 'list' && typeUsesFields(type.item));
}

/** Compiles a declaration (and its rules) into a validator; run once per action at startup. */
export function compileParams(declaration: ParamsDeclaration, rules: ParamRule[] = [], unknown: UnknownParamHints = {}): ParamsValidator {
  const params = parseParams(declaration);
  checkRules(params, rules);
  const schema = objectSchema(params);
  const check: ValidateFunction = ajv.compile(schema);
  const convert = objectConverter(params);
  return {
    params,
    rules,
    jsonSchema: withoutMessages(schema) as Record<string, unknown>,
    validate(body) {
      if (!check(body)) throw invalidParams(fieldErrors(check.errors ?? [], unknown));
      const errors: FieldError[] = [];
      const result = convert(body as Record<string, unknown>, '', errors);
      let message: WholeMessage | undefined;
      for (const rule of rules) message = applyRule(rule, result, errors) ?? message;
      if (errors.length > 0 || message !== undefined) throw invalidParams(errors, message);
      return result;
    },
  };
}

function checkRules(params: ParsedParam[], rules: ParamRule[]): void {
  const names = new Set(params.map((p) => p.name));
  const inRule = new Set<string>();
  for (const rule of rules) {
    const members = 'exactlyOne' in rule ? rule.exactlyOne : rule.atLeastOne;
    if (members.length < 2) throw new ParamDeclarationError(members.join(','), 'a rule needs at least two params');
    for (const name of members) {
      if (!names.has(name)) throw new ParamDeclarationError(name, 'is named in a rule but not declared');
      inRule.add(name);
    }
  }
  for (const param of params) {
    if (param.presence === 'C' && !inRule.has(param.name)) {
      throw new ParamDeclarationError(param.name, 'is C (conditional) but no rule names it');
    }
  }
}

/** Adds the rule's field errors; returns the whole error's message when the rule says none was given. */
function applyRule(rule: ParamRule, params: Params, errors: FieldError[]): WholeMessage | undefined {
  const members = 'exactlyOne' in rule ? rule.exactlyOne : rule.atLeastOne;
  const given = members.filter((name) => params[name] !== undefined);
  const list = members.join(', ');
  if (given.length === 0) {
    if ('none' in rule && rule.none !== undefined) return rule.none;
    errors.push({ field: members[0] as string, messages: [`one of ${list} is required`] });
  } else if ('exactlyOne' in rule && given.length > 1) {
    for (const name of given.slice(1)) errors.push({ field: name, messages: [`only one of ${list} may be given`] });
  }
  return undefined;
}

// ---- ajv schema ----

type JsonSchema = Record<string, unknown>;

function objectSchema(params: ParsedParam[]): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const param of params) {
    let schema = typeSchema(param.type);
    if (param.type.kind === 'string' && !param.blank) schema = { ...schema, pattern: NOT_BLANK, 'x-message': 'must not be blank (only whitespace)' };
    if (param.nullMessage) schema = { ...schema, 'x-null-message': param.nullMessage };
    properties[param.name] = param.nullable ? nullableSchema(schema) : schema;
  }
  return {
    type: 'object',
    properties,
    required: params.filter((p) => p.presence === 'M').map((p) => p.name),
    additionalProperties: false,
  };
}

function typeSchema(type: ParamType): JsonSchema {
  switch (type.kind) {
    case 'string':
      return compact({ type: 'string', minLength: type.min, maxLength: type.max });
    case 'int':
      return {
        type: 'integer',
        minimum: Math.max(type.min ?? Number.MIN_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
        maximum: Math.min(type.max ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
      };
    case 'float':
      return compact({ type: 'number', minimum: type.min, maximum: type.max });
    case 'bool':
      return { type: 'boolean' };
    case 'datetime':
      return { type: 'string', pattern: DATETIME, 'x-message': 'must be a date-time such as 2024-05-01T08:00:00Z or 2024-05-01 08:00:00' };
    case 'date':
      return { type: 'string', pattern: DATE, 'x-message': 'must be a date YYYY-MM-DD' };
    case 'time':
      return { type: 'string', pattern: TIME, 'x-message': 'must be a time HH:MM:SS' };
    case 'object_id':
      return { type: 'string', pattern: OBJECT_ID, 'x-message': 'must be an ObjectId (24 hex characters)' };
    case 'enum_int':
      return { type: 'integer', enum: type.values };
    case 'enum_str':
      return { type: 'string', enum: type.values };
    case 'list':
      return compact({ type: 'array', items: typeSchema(type.item), minItems: type.min, maxItems: type.max });
    case 'dict':
      return objectSchema(type.fields);
    case 'json_list':
      // SEP-12 sends it as a (url-encoded) JSON string; a JSON body may as well carry the list itself
      return { type: ['string', 'array'] };
    case 'json_map':
      return { type: ['string', 'object'] };
  }
}

/** The schema without our `x-message` annotations, for publishing. */
function withoutMessages(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutMessages);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => k !== 'x-message' && k !== 'x-null-message')
      .map(([k, v]) => [k, withoutMessages(v)]),
  );
}

function nullableSchema(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = { ...schema, type: [...[schema.type].flat(), 'null'] };
  if (Array.isArray(schema.enum)) out.enum = [...(schema.enum as unknown[]), null];
  return out;
}

function compact(schema: JsonSchema): JsonSchema {
  return Object.fromEntries(Object.entries(schema).filter(([, v]) => v !== undefined));
}

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
  type: (p) => `must be ${String(p.type).split(',').map((t) => TYPE_NAMES[t] ?? t).join(' or ')}`,
  minLength: (p) => `must be at least ${plural(p.limit, 'character')}`,
  maxLength: (p) => `must be at most ${plural(p.limit, 'character')}`,
  minimum: (p) => `must be >= ${String(p.limit)}`,
  maximum: (p) => `must be <= ${String(p.limit)}`,
  minItems: (p) => `must have at least ${plural(p.limit, 'item')}`,
  maxItems: (p) => `must have at most ${plural(p.limit, 'item')}`,
  enum: (p) => `must be one of ${(p.allowedValues as unknown[]).join(', ')}`,
};

function fieldErrors(errors: ErrorObject[], unknown: UnknownParamHints = {}): FieldError[] {
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
    else if (error.keyword === 'additionalProperties') add(joinPath(path, String(p.additionalProperty)), unknownMessage(path, String(p.additionalProperty), unknown));
    else if (error.keyword === 'pattern') add(path, String((error.parentSchema as JsonSchema | undefined)?.['x-message'] ?? 'has the wrong format'));
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

function joinPath(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

// ---- conversion to driver values (after ajv has checked the JSON shape) ----

type Converter = (value: unknown, path: string, errors: FieldError[]) => unknown;

function objectConverter(params: ParsedParam[]): (value: Record<string, unknown>, path: string, errors: FieldError[]) => Params {
  const converters = params.map((param) => [param.name, converterFor(param.type)] as const);
  return (value, path, errors) => {
    const out: Params = {};
    for (const [name, convert] of converters) {
      const given = value[name];
      if (given === null) out[name] = null;
      else if (given !== undefined) out[name] = convert(given, joinPath(path, name), errors);
    }
    return out;
  };
}

function converterFor(type: ParamType): Converter {
  switch (type.kind) {
    case 'object_id':
      return (value) => ObjectId.createFromHexString((value as string).toLowerCase());
    case 'datetime':
      return (value, path, errors) => parseDateTime(value as string) ?? fieldError(errors, path, 'is not a valid date-time');
    case 'date':
      return (value, path, errors) => parseDate(value as string) ?? fieldError(errors, path, 'is not a valid date');
    case 'list': {
      const item = converterFor(type.item);
      return (value, path, errors) => (value as unknown[]).map((v, i) => item(v, `${path}[${i}]`, errors));
    }
    case 'dict': {
      const convert = objectConverter(type.fields);
      return (value, path, errors) => convert(value as Record<string, unknown>, path, errors);
    }
    case 'json_list':
    case 'json_map':
      return jsonConverter(type.kind === 'json_list');
    default:
      return (value) => value;
  }
}

/** `json<list>` / `json<map>`: a JSON text is parsed; the parsed (or given) value must be a list / an object. */
function jsonConverter(list: boolean): Converter {
  const wanted = list ? 'a JSON list' : 'a JSON object';
  return (value, path, errors) => {
    let parsed = value;
    if (typeof value === 'string') {
      try {
        parsed = JSON.parse(value);
      } catch {
        return fieldError(errors, path, `must be ${wanted}`);
      }
    }
    const isList = Array.isArray(parsed);
    const fits = list ? isList : parsed !== null && typeof parsed === 'object' && !isList;
    return fits ? parsed : fieldError(errors, path, `must be ${wanted}`);
  };
}

function fieldError(errors: FieldError[], field: string, message: string): undefined {
  errors.push({ field, messages: [message] });
  return undefined;
}

/** ISO 8601, or `YYYY-MM-DD HH:MM:SS` read as UTC; null when the calendar date or time does not exist. */
export function parseDateTime(text: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(text);
  if (!m) return null;
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone = 'Z'] = m;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return null;
  // built in a leap year, then moved to the real one: Date.UTC would read years 0-99 as 1900-1999
  const check = new Date(Date.UTC(2000, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(frac.padEnd(3, '0').slice(0, 3))));
  check.setUTCFullYear(Number(y));
  if (check.getUTCFullYear() !== Number(y) || check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d)) {
    return null;
  }
  const base = check.getTime();
  let offsetMinutes = 0;
  if (zone !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
    if (!z || Number(z[2]) > 23 || Number(z[3]) > 59) return null;
    offsetMinutes = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3]));
  }
  return new Date(base - offsetMinutes * 60_000);
}

/** `YYYY-MM-DD` → midnight UTC of that day; null for days that do not exist. */
export function parseDate(text: string): Date | null {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) ? parseDateTime(text) : null;
}
