// The SEP-12 vocabulary (seed 003) as data: declaration strings parsed into typed params. Compiling them into
// validators is params.ts; the wording of validation errors param-errors.ts; conversion to driver values
// param-convert.ts.

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

/** A declaration that cannot be compiled; the message names the param. */
export class ParamDeclarationError extends Error {
  constructor(param: string, message: string) {
    super(`param ${param}: ${message}`);
    this.name = 'ParamDeclarationError';
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

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
  // (max), (min,max), and one-sided (min,) / (,max)
  const scalar = /^([a-z_]+)(\((-?\d+(?:\.\d+)?)?(,(-?\d+(?:\.\d+)?)?)?\))?$/.exec(source);
  if (!scalar) return fail('not a SEP-12 type');
  const [, base, range, a, comma, b] = scalar;
  if (range !== undefined && a === undefined && b === undefined) return fail('a range needs at least one bound');
  const bound = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  // SEP-12: type(max) or type(min,max); `int(0,)` is "at least 0", `int(,10)` "at most 10"
  const [min, max] = comma === undefined ? [undefined, bound(a)] : [bound(a), bound(b)];
  switch (base) {
    case 'string':
    case 'str':
      return withRange({ kind: 'string' }, min, max, fail);
    case 'int':
    case 'float': {
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
      if (range !== undefined) fail(`${base} takes no range`);
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
