/**
 * Request bodies for the attack suite, generated from the request schemas of the served OpenAPI document (which the
 * service derives from the SEP-12 declarations): well-formed bodies that reach the handlers, and hostile ones that
 * must be refused cleanly.
 */
import fc from 'fast-check';

/** The subset of JSON Schema the param compiler emits. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  minProperties?: number;
  maxProperties?: number;
}

/** Ids the run has seen in answers, so that some well-formed bodies name records that exist. */
export class IdPool {
  private readonly ids: string[] = [];

  add(value: unknown): void {
    if (typeof value === 'string' && /^[0-9a-f]{24}$/.test(value) && !this.ids.includes(value)) {
      this.ids.push(value);
      if (this.ids.length > 200) this.ids.shift();
    }
  }

  /** Collects every 24-hex string value of an answer. */
  collect(body: unknown, depth = 0): void {
    if (depth > 6 || body === null || typeof body !== 'object') {
      this.add(body);
      return;
    }
    for (const value of Object.values(body)) this.collect(value, depth + 1);
  }

  pick(index: number): string | undefined {
    return this.ids.length === 0 ? undefined : this.ids[index % this.ids.length];
  }
}

const HEX24 = /^\^\[0-9a-fA-F\]\{24\}\$$/;
const OBJECT_ID = fc.stringMatching(/^[0-9a-f]{24}$/);

/** A value that satisfies `schema` (as far as a schema can say: references and state are the server's business). */
export function validValue(schema: JsonSchema, pool: IdPool, depth = 0): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const choices = schema.oneOf ?? schema.anyOf;
  if (choices && choices.length > 0) return fc.oneof(...choices.map((s) => validValue({ ...withoutChoices(schema), ...s }, pool, depth)));
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'string':
      return stringValue(schema, pool);
    case 'integer':
      return fc.integer({ min: clampInt(schema.minimum ?? -1e6), max: clampInt(schema.maximum ?? 1e6) });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'array': {
      const min = schema.minItems ?? 0;
      const max = Math.min(schema.maxItems ?? 5, min + 5);
      return fc.array(validValue(schema.items ?? {}, pool, depth + 1), { minLength: min, maxLength: max });
    }
    case 'object':
      return depth > 4 ? fc.constant({}) : objectValue(schema, pool, depth);
    default:
      return fc.oneof(fc.string(), fc.integer(), fc.boolean());
  }
}

function withoutChoices(schema: JsonSchema): JsonSchema {
  const { oneOf: _o, anyOf: _a, ...rest } = schema;
  return rest;
}

function clampInt(n: number): number {
  return Math.max(Number.MIN_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, Math.trunc(n)));
}

function stringValue(schema: JsonSchema, pool: IdPool): fc.Arbitrary<string> {
  if (schema.pattern && HEX24.test(schema.pattern)) {
    return fc.oneof(
      OBJECT_ID,
      fc.nat().map((i) => pool.pick(i) ?? '000000000000000000000000'),
    );
  }
  if (schema.pattern) {
    try {
      return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length <= (schema.maxLength ?? 10_000));
    } catch {
      // a pattern JavaScript cannot compile: plain strings
    }
  }
  if (schema.format === 'date-time')
    return fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString());
  if (schema.format === 'date')
    return fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString().slice(0, 10));
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.min(schema.maxLength ?? 40, minLength + 40);
  return fc
    .string({ minLength, maxLength, unit: fc.constantFrom('a', 'b', 'Z', '0', '9', ' ', '-', '张', 'é', '_') })
    .filter((s) => s.trim().length > 0 || minLength === 0);
}

function objectValue(schema: JsonSchema, pool: IdPool, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [key, sub] of Object.entries(properties)) model[key] = validValue(sub, pool, depth + 1);
  return fc.record(model, { requiredKeys: [...required].filter((k) => k in model) });
}

/** Values no declaration accepts where a scalar or a record is expected, and that must never reach a query. */
export const HOSTILE_VALUE: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    { $ne: null },
    { $gt: '' },
    { $where: 'sleep(1000) || true' },
    { $regex: '.*' },
    { $expr: { $eq: [1, 1] } },
    { 'a.b': 1 },
    { $set: { balance_money: 1e12 } },
    ['$ne', null],
    null,
    '',
    '   ',
    '\u0000',
    'a\u0000b',
    '\uD800',
    'x\uDFFFy',
    '.*',
    '(a+)+$',
    '$where',
    '\\',
    2 ** 53,
    -(2 ** 53),
    1e308,
    -1,
    0,
    -0,
    0.5,
    true,
    [],
    {},
    '000000000000000000000000',
    'ffffffffffffffffffffffff',
    '2024-02-30T25:61:00Z',
    '2017-10-22 10:22:35',
  ),
  fc.string({ minLength: 0, maxLength: 30 }),
  fc.integer(),
  fc.double(),
  fc.constant('x'.repeat(100_000)),
  fc.nat({ max: 300 }).map((n) => deepNest(n)),
  fc.dictionary(fc.constantFrom('$gt', '$in', 'a.b', '$', '.', '__proto__', 'constructor'), fc.anything({ maxDepth: 2 }), {
    minKeys: 1,
    maxKeys: 3,
  }),
  fc.anything({ maxDepth: 3, withNullPrototype: false }),
);

function deepNest(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

/** A hostile change to a well-formed body: a key dropped, added or replaced by a hostile value. */
export function mutate(body: Record<string, unknown>, schema: JsonSchema): fc.Arbitrary<unknown> {
  const keys = Object.keys(schema.properties ?? {});
  const present = Object.keys(body);
  const extraKey = fc.constantFrom('$where', 'unknown_param', '__proto__', 'a.b', '$set', 'constructor', '_meta', '_sort');
  const arbitraries: Array<fc.Arbitrary<unknown>> = [
    extraKey.chain((key) => HOSTILE_VALUE.map((value) => ({ ...body, [key]: value }))),
    HOSTILE_VALUE,
  ];
  if (keys.length > 0) {
    arbitraries.push(fc.constantFrom(...keys).chain((key) => HOSTILE_VALUE.map((value) => ({ ...body, [key]: value }))));
  }
  if (present.length > 0) {
    arbitraries.push(
      fc.constantFrom(...present).map((key) => {
        const { [key]: _dropped, ...rest } = body;
        return rest;
      }),
    );
  }
  return fc.oneof(...arbitraries);
}

/** Raw bodies and headers that are not a JSON object at all. */
export const RAW_REQUEST = fc.record({
  body: fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
    fc
      .constantFrom('', '{', '[]', 'null', '"x"', '{"a":', '{"_id":{"$oid":"x"}}', '\u0000', '{"a":1}garbage', '\uFEFF{}')
      .map((s) => Buffer.from(s)),
    fc.string({ maxLength: 100 }).map((s) => Buffer.from(s)),
  ),
  contentType: fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=latin1',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    '',
  ),
  contentEncoding: fc.constantFrom(undefined, 'gzip', 'deflate', 'br', 'identity', 'x-unknown'),
  authorization: fc.constantFrom<string | undefined>(
    undefined,
    'key',
    'Bearer',
    'Bearer ',
    'Basic dGVzdDp0ZXN0',
    'Bearer \u00ff\u00fe',
    'Bearer x'.repeat(200),
  ),
});
