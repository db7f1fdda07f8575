import { pageMetaFields, type CountPolicy, type MetaField } from './count-policy.js';
import type { CompiledAction } from './dispatch.js';
import type { Nullability } from './docs-model.js';
import { ERROR_CODES, type ErrorCode } from './errors.js';
import type { ParsedParam } from './params.js';
import type { FieldInfo, ResultMeta, ResultSchema, SchemaRegistry } from './result-schemas.js';

/** A JSON Schema / OpenAPI object. */
export type Json = Record<string, unknown>;

const MAX_DEPTH = 4;

/** The request body schema: the compiled params schema with the notes as descriptions and the C rules stated. */
export function requestSchema(action: CompiledAction): Json {
  const schema = describeParams(action.validator.jsonSchema, action.validator.params);
  const alternatives = action.validator.rules.map((rule) =>
    'exactlyOne' in rule
      ? { oneOf: rule.exactlyOne.map((name) => ({ required: [name] })) }
      : { anyOf: rule.atLeastOne.map((name) => ({ required: [name] })) },
  );
  if (alternatives.length === 1) return { ...schema, ...alternatives[0] };
  if (alternatives.length > 1) return { ...schema, allOf: alternatives };
  return schema;
}

/** True when a body must be sent: some param is required or some rule needs one. */
export function bodyRequired(action: CompiledAction): boolean {
  return action.validator.params.some((p) => p.presence === 'M') || action.validator.rules.length > 0;
}

function describeParams(schema: Json, params: ParsedParam[]): Json {
  const properties = { ...(schema.properties as Record<string, Json>) };
  for (const param of params) {
    let property = properties[param.name] as Json;
    const type = param.type.kind === 'list' ? param.type.item : param.type;
    if (type.kind === 'dict') {
      property =
        param.type.kind === 'list'
          ? { ...property, items: describeParams(property.items as Json, type.fields) }
          : describeParams(property, type.fields);
    }
    if (param.stated) property = mergeSchema(property, param.stated);
    const note = [param.note, param.nullable ? 'null removes it' : undefined].filter(Boolean).join('; ');
    properties[param.name] = note ? { description: note, ...property } : property;
  }
  return { ...schema, properties };
}

function mergeSchema(base: Json, extra: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    if (key === 'pattern' && typeof current === 'string') {
      // both must hold: the declared pattern (e.g. not blank) and the stated one
      out.allOf = [...((out.allOf as Json[] | undefined) ?? []), { pattern: value }];
      continue;
    }
    const bothObjects = [current, value].every((v) => v !== null && typeof v === 'object' && !Array.isArray(v));
    out[key] = bothObjects ? mergeSchema(current as Json, value as Json) : value;
  }
  return out;
}

/** The 200 body of an action: its result schema in its envelope. */
export function resultSchema(
  envelope: ResultMeta,
  schema: ResultSchema,
  schemas: SchemaRegistry,
  nullability: Nullability,
  count?: CountPolicy,
): Json {
  const record = recordSchema(schema, schema.fields, schemas, nullability, 0, schema.modelName !== undefined);
  switch (envelope) {
    case 'object_result':
      return record;
    case 'ok_result':
      return {
        ...record,
        properties: { ok: { const: true }, ...(record.properties as Json) },
        required: ['ok', ...(record.required as string[])],
      };
    case 'result_set':
      return { type: 'object', required: ['data'], properties: { data: { type: 'array', items: record } } };
    case 'result_set_with_meta':
      return {
        type: 'object',
        required: ['_meta', 'data'],
        properties: {
          _meta: metaSchema(count),
          data: { type: 'array', items: record },
        },
      };
  }
}

/** A find's `_meta`: its fields under the find's count policy. */
function metaSchema(count: CountPolicy | undefined): Json {
  const fields = pageMetaFields(count);
  const properties: Json = {};
  for (const field of fields) properties[field.name] = { ...META_TYPES[field.type](field), description: field.description };
  return { type: 'object', description: 'paging', required: fields.map((f) => f.name), properties };
}

const META_TYPES: Record<MetaField['type'], (field: MetaField) => Json> = {
  bool: () => ({ type: 'boolean' }),
  int: (field) => ({ type: 'integer', minimum: field.name === 'result_count' ? 0 : 1 }),
  enum: (field) => ({ type: 'string', enum: [...(field.values ?? [])] }),
};

const SCALAR_SCHEMAS: Record<string, Json> = {
  object_id: { type: 'string', pattern: '^[0-9a-f]{24}$' },
  string: { type: 'string' },
  int: { type: 'integer' },
  float: { type: 'number' },
  bool: { type: 'boolean' },
  datetime: { type: 'string', format: 'date-time' },
  date: { type: 'string', format: 'date' },
};

function recordSchema(
  owner: ResultSchema,
  fields: FieldInfo[],
  schemas: SchemaRegistry,
  nullability: Nullability,
  depth: number,
  stored: boolean,
): Json {
  const properties: Json = {};
  for (const field of fields) properties[field.name] = fieldSchema(owner, field, schemas, nullability, depth, stored);
  const schema: Json = { type: 'object', required: fields.map((f) => f.name), properties };
  // strict schemas send only what they declare; the others pass undeclared fields through
  if (owner.strict) schema.additionalProperties = false;
  return schema;
}

function fieldSchema(
  owner: ResultSchema,
  field: FieldInfo,
  schemas: SchemaRegistry,
  nullability: Nullability,
  depth: number,
  stored: boolean,
): Json {
  // what a stored record holds is stored too, and a ref reads stored records
  const inner = stored || owner.modelName !== undefined;
  const nested = field.schema ? schemas.get(field.schema) : undefined;
  let schema: Json;
  if (field.type === 'object_ref' && nested) {
    const record = depth < MAX_DEPTH ? recordSchema(nested, nested.fields, schemas, nullability, depth + 1, true) : { type: 'object' };
    schema = field.from?.endsWith('_ids') ? { type: 'array', items: { anyOf: [record, { type: 'null' }] } } : record;
  } else if (field.type === 'list') {
    const items = nested
      ? recordSchema(nested, nested.fields, schemas, nullability, depth + 1, inner)
      : (SCALAR_SCHEMAS[field.items as string] as Json);
    schema = { type: 'array', items };
  } else if (field.type === 'object') {
    schema = recordSchema(owner, field.fields ?? [], schemas, nullability, depth + 1, inner);
  } else {
    schema = { ...(SCALAR_SCHEMAS[field.type] as Json) };
  }
  if (nullability.canBeNull(owner, field, stored))
    schema =
      typeof schema.type === 'string' && !schema.properties
        ? { ...schema, type: [schema.type, 'null'] }
        : { anyOf: [schema, { type: 'null' }] };
  if (field.note) schema = { description: field.note, ...schema };
  if (field.example !== undefined) schema.examples = [field.example];
  return schema;
}

/** Codes whose answer says when to try again. */
const RETRY_AFTER_CODES = new Set<string>(['idempotency_in_progress', 'rate_limited']);

/**
 * The error responses of an action, one per HTTP status, each naming its codes: references into `components`
 * (`shared`, filled here), since most actions share the same sets.
 */
export function errorResponses(byStatus: Array<[number, ErrorCode[]]>, shared: Json): Json {
  const responses: Json = {};
  for (const [status, codes] of byStatus) {
    const name = codes.join('.');
    shared[name] ??= {
      description: codes.map((code) => `\`${code}\`: ${ERROR_CODES[code].message}`).join('; '),
      ...(codes.some((code) => RETRY_AFTER_CODES.has(code))
        ? { headers: { 'Retry-After': { description: 'seconds to wait before trying again', schema: { type: 'integer', minimum: 1 } } } }
        : {}),
      content: {
        'application/json': {
          schema: {
            allOf: [{ $ref: '#/components/schemas/Error' }],
            properties: { error: { allOf: [{ $ref: '#/components/schemas/ErrorDetail' }, { properties: { code: { enum: codes } } }] } },
          },
          examples: Object.fromEntries(codes.map((code) => [code, { summary: ERROR_CODES[code].message, value: exampleError(code) }])),
        },
      },
    };
    responses[String(status)] = { $ref: `#/components/responses/${name}` };
  }
  return responses;
}

function exampleError(code: ErrorCode): Json {
  const entry = ERROR_CODES[code];
  return { error: { code, message: entry.message, zh_message: entry.zh, request_id: '0b7e5d2c-6a1f-4c3e-9a51-2f6f3a7d1c11' } };
}

/** The body every error shares (DESIGN.md §3). */
export const ERROR_DETAIL_SCHEMA: Json = {
  type: 'object',
  required: ['code', 'message', 'zh_message', 'request_id'],
  properties: {
    code: { type: 'string', enum: Object.keys(ERROR_CODES), description: 'stable error code (README, "Errors")' },
    message: { type: 'string', description: 'English message' },
    zh_message: { type: 'string', description: '中文错误信息' },
    fields: {
      type: 'array',
      description: 'the params that are wrong, by full path (`docs[2].phone`)',
      items: {
        type: 'object',
        required: ['field', 'messages'],
        properties: { field: { type: 'string' }, messages: { type: 'array', items: { type: 'string' } } },
      },
    },
    request_id: { type: 'string', description: 'the X-Request-Id of the request' },
  },
};
