import { pageMetaFields, type CountPolicy } from '../core/count-policy.js';
import type { ParamType, ParsedParam } from '../core/params.js';
import type { FieldInfo, ResultMeta, SchemaRegistry } from '../core/result-schemas.js';

// TypeScript types of the generated client, from the same declarations as the docs: SEP-12 params for requests,
// YAML result schemas for answers (every declared field may be null: the shaper emits missing fields as null).

/** `account_detail` → `AccountDetail`. */
export function pascal(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join('');
}

/** A property name as TS source (quoted when it is not an identifier). */
function prop(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
}

function doc(text: string | undefined, indent: string): string {
  return text ? `${indent}/** ${text.replace(/\*\//g, '*\\/').replace(/\s+/g, ' ')} */\n` : '';
}

/** The request type of a param list (what the caller sends: JSON values, ids and dates as strings). */
export function paramsType(params: readonly ParsedParam[], indent: string): string {
  if (params.length === 0) return 'Record<string, never>';
  const lines = params.map((p) => {
    const optional = p.presence === 'M' ? '' : '?';
    const type = paramType(p.type, `${indent}  `) + (p.nullable ? ' | null' : '');
    return `${doc([p.typeText, p.note].filter(Boolean).join(' — '), `${indent}  `)}${indent}  ${prop(p.name)}${optional}: ${type};`;
  });
  return `{\n${lines.join('\n')}\n${indent}}`;
}

function paramType(type: ParamType, indent: string): string {
  switch (type.kind) {
    case 'string':
    case 'datetime':
    case 'date':
    case 'time':
    case 'object_id':
      return 'string';
    case 'int':
    case 'float':
      return 'number';
    case 'bool':
      return 'boolean';
    case 'enum_int':
      return type.values.join(' | ');
    case 'enum_str':
      return type.values.map((v) => JSON.stringify(v)).join(' | ');
    case 'list':
      return `Array<${paramType(type.item, indent)}>`;
    case 'dict':
      return paramsType(type.fields, indent);
    case 'json_list':
      return 'string | unknown[]';
    case 'json_map':
      return 'string | Record<string, unknown>';
  }
}

const SCALARS: Record<string, string> = {
  object_id: 'string',
  string: 'string',
  int: 'number',
  float: 'number',
  bool: 'boolean',
  datetime: 'string',
  date: 'string',
};

/** The answer type of a schema's fields; schemas by name become references to their interfaces. */
export function recordType(fields: readonly FieldInfo[], strict: boolean, indent: string): string {
  const lines = fields.map((f) => `${doc(f.note, `${indent}  `)}${indent}  ${prop(f.name)}: ${fieldType(f, `${indent}  `)} | null;`);
  if (!strict) lines.push(`${indent}  /** strict_mode: false — undeclared fields pass through */\n${indent}  [field: string]: unknown;`);
  return lines.length === 0 ? 'Record<never, never>' : `{\n${lines.join('\n')}\n${indent}}`;
}

function fieldType(field: FieldInfo, indent: string): string {
  switch (field.type) {
    case 'object_ref': {
      const target = pascal(field.schema as string);
      // a list of ids gives a list of records, a dangling id null in its place
      return field.from?.endsWith('_ids') ? `Array<${target} | null>` : target;
    }
    case 'list':
      return field.schema ? `Array<${pascal(field.schema)}>` : `Array<${SCALARS[field.items as string]}>`;
    case 'object':
      return recordType(field.fields ?? [], true, indent);
    default:
      return SCALARS[field.type] as string;
  }
}

/** The paging block of `result_set_with_meta`. */
export const PAGE_META =
  'export interface PageMeta {\n  has_more: boolean;\n  page: number;\n  page_size: number;\n  result_count: number;\n}';

/** PageMeta as the find's count policy shapes it: no result_count under none, result_count_is beside a capped or estimated one. */
function metaType(count: CountPolicy | undefined): string {
  const kinds = pageMetaFields(count).find((field) => field.type === 'enum')?.values;
  if (kinds) return `PageMeta & { result_count_is: ${kinds.map((kind) => `'${kind}'`).join(' | ')} }`;
  return count === 'none' ? "Omit<PageMeta, 'result_count'>" : 'PageMeta';
}

/** The answer type of an action: its schema's interface in the action's envelope. */
export function envelopeType(envelope: ResultMeta, schema: string, count?: CountPolicy): string {
  const record = pascal(schema);
  switch (envelope) {
    case 'object_result':
      return record;
    case 'ok_result':
      return `{ ok: true } & ${record}`;
    case 'result_set':
      return `{ data: ${record}[] }`;
    case 'result_set_with_meta':
      return `{ _meta: ${metaType(count)}; data: ${record}[] }`;
  }
}

/** Every schema interface (all of them: refs and lists name others). */
export function schemaInterfaces(schemas: SchemaRegistry): string[] {
  return schemas
    .all()
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => `/** result schema ${s.name} */\nexport type ${pascal(s.name)} = ${recordType(s.fields, s.strict, '')};`);
}
