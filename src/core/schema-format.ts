/**
 * The YAML result-schema format of seed 004 (DESIGN.md §5): its keys, metas and field types. Shared by the checker,
 * the shapers, the docs, the JSON Schema for editors and the client generator, so they cannot drift apart.
 */

/** The envelopes of seed 004. */
export const RESULT_METAS = ['object_result', 'result_set_with_meta', 'result_set', 'ok_result'] as const;
export type ResultMeta = (typeof RESULT_METAS)[number];

/** Every field type a schema may use. */
export const FIELD_TYPES = ['object_id', 'string', 'int', 'float', 'bool', 'datetime', 'date', 'list', 'object', 'object_ref'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** The types a `list` may hold as `items:`. */
export const SCALAR_TYPES = ['object_id', 'string', 'int', 'float', 'bool', 'datetime', 'date'] as const;
export type ScalarType = (typeof SCALAR_TYPES)[number];

/** The keys of a schema, with what each says (also the JSON Schema's descriptions). */
export const SCHEMA_KEYS = {
  strict_mode: 'true (default): only declared fields leave the server; false: undeclared fields pass through as JSON',
  model_name: 'the resource whose records this schema shapes; needed to be the target of an object_ref',
  meta: 'the envelope: object_result, result_set_with_meta, result_set or ok_result',
  data: 'the fields, by name',
  note: 'a note for readers and the docs',
} as const;

/** The keys of a field, with what each says. */
export const FIELD_KEYS = {
  type: `one of ${FIELD_TYPES.join(', ')}`,
  example: 'an example value for the docs',
  note: 'what the field means (docs)',
  schema: 'list: the schema of each item; object_ref: the schema of the referenced record',
  items: 'list: the scalar type of each item',
  from: 'object_ref: the local id field (default: the name without _info, plus _id; _infos reads _ids)',
  data: 'object: the nested fields',
} as const;

/** Schema and field names. */
export const NAME = /^[a-z][a-z0-9_]*$/;
export const FIELD_NAME = /^_?[a-z][a-z0-9_]*$/;

/** The declared form of one field, kept for shaping, docs, the client and conformance checks. */
export interface FieldInfo {
  name: string;
  type: FieldType;
  note?: string;
  example?: unknown;
  schema?: string;
  items?: ScalarType;
  from?: string;
  fields?: FieldInfo[];
}

/** A schema that passed the format checks: what the shapers compile. */
export interface SchemaDeclaration {
  name: string;
  /** The file as shown in messages (`result-schemas/account.yaml`). */
  file: string;
  modelName: string | undefined;
  meta: ResultMeta;
  strict: boolean;
  note?: string;
  fields: FieldInfo[];
}

/** `group_info` reads `group_id`; `member_infos` reads `member_ids`. */
export function defaultRefSource(name: string): string | undefined {
  if (name.endsWith('_infos')) return `${name.slice(0, -'_infos'.length)}_ids`;
  if (name.endsWith('_info')) return `${name.slice(0, -'_info'.length)}_id`;
  return undefined;
}

/** A plain (YAML/JSON) mapping. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
