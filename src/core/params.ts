import { Ajv, type ValidateFunction } from 'ajv';
import { invalidParams, type FieldError, type MessageArgs, type MessageKey } from './errors.js';
import { objectConverter } from './param-convert.js';
import { fieldErrors } from './param-errors.js';
import { ParamDeclarationError, parseParams, type ParamType, type ParamsDeclaration, type ParsedParam, type Params } from './sep12.js';

// Compiling SEP-12 declarations (sep12.ts) into validators: one ajv schema per action, the C-param rules, and the
// conversion to driver values. Everything about params is exported from here.
export * from './sep12.js';
export { parseDate, parseDateTime } from './dates.js';

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

/** A compiled params declaration: validates and converts a request body in one call. */
export interface ParamsValidator {
  readonly params: ParsedParam[];
  readonly rules: ParamRule[];
  /** The request body as JSON Schema (for OpenAPI). */
  readonly jsonSchema: Record<string, unknown>;
  /** Returns the converted params or throws `invalid_params` listing every bad field. */
  validate(body: unknown): Params;
}

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
    if (param.type.kind === 'string' && !param.blank)
      schema = { ...schema, pattern: NOT_BLANK, 'x-message': 'must not be blank (only whitespace)' };
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
