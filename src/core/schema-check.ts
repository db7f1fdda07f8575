import type { DeclarationCode, DeclarationProblem } from './declaration-error.js';
import { checkAgainstModels, type ModelCatalog } from './schema-model-check.js';
import type { SchemaSource, YamlPath } from './schema-files.js';
import {
  FIELD_KEYS,
  FIELD_NAME,
  FIELD_TYPES,
  NAME,
  RESULT_METAS,
  SCALAR_TYPES,
  SCHEMA_KEYS,
  defaultRefSource,
  isPlainObject,
  type FieldInfo,
  type FieldType,
  type ResultMeta,
  type ScalarType,
  type SchemaDeclaration,
} from './schema-format.js';

/** What the checks need to know about the project: the models the resources serve. */
export interface CheckOptions {
  models: ModelCatalog;
}

/** The schemas that passed, by name, and every problem found (all of them, in file order). */
export interface CheckedSchemas {
  declarations: Map<string, SchemaDeclaration>;
  /** Every schema name that was defined, even when broken (so an action naming it is not told it does not exist). */
  defined: Set<string>;
  problems: DeclarationProblem[];
}

/** A reporter bound to one schema: `report(['data', 'name', 'type'], 'unknown_type', '…', 'value')`. */
type Report = (path: YamlPath, code: DeclarationCode, message: string, part?: 'key' | 'value') => void;

/**
 * Checks schemas as read from YAML: keys, metas, types, references (existing, with a model, without cycles) and,
 * through `checkAgainstModels`, the fields against what the resources declare. Never stops at the first mistake.
 */
export function checkSchemas(sources: readonly SchemaSource[], options: CheckOptions): CheckedSchemas {
  const problems: DeclarationProblem[] = [];
  const parsed = new Map<string, { source: SchemaSource; decl: SchemaDeclaration; report: Report }>();
  const broken = new Set<string>();
  for (const source of sources) {
    const report: Report = (path, code, message, part) => {
      const { line, column } = source.locate(path, part);
      problems.push({ code, file: source.file, line, column, where: whereOf(source.name, path), message });
    };
    const before = problems.length;
    const decl = parseSchema(source, options.models, report);
    if (decl) parsed.set(source.name, { source, decl, report });
    if (!decl || problems.length > before) broken.add(source.name);
  }
  const all = new Map([...parsed].map(([name, p]) => [name, p.decl]));
  for (const [name, { decl, report }] of parsed) {
    const before = problems.length;
    checkReferences(decl.fields, ['data'], all, report);
    checkAgainstModels(decl, all, options.models, report);
    if (problems.length > before) broken.add(name);
  }
  for (const name of findCycles(all)) {
    const entry = parsed.get(name.at(0) as string);
    entry?.report([], 'ref_cycle', `schemas refer to each other in a cycle without end: ${name.join(' → ')}`);
    for (const member of name) broken.add(member);
  }
  // a clean schema that embeds or references a broken one cannot be compiled either (its mistake is reported once)
  for (let grew = true; grew; ) {
    grew = false;
    for (const [name, decl] of all) {
      if (!broken.has(name) && dependencies(decl.fields).some((dep) => broken.has(dep) || !all.has(dep))) {
        broken.add(name);
        grew = true;
      }
    }
  }
  const declarations = new Map([...all].filter(([name]) => !broken.has(name)));
  return { declarations, defined: new Set(sources.map((s) => s.name)), problems };
}

/** `account_detail.group_info` for a path `['data', 'group_info', 'type']`; nested objects join with dots. */
function whereOf(schema: string, path: YamlPath): string {
  const fields: string[] = [];
  for (let i = 0; i < path.length; i++) {
    if (path[i] === 'data' && i + 1 < path.length) fields.push(path[++i] as string);
    else if (i === 0) fields.push(path[0] as string);
  }
  return [schema, ...fields].join('.');
}

function parseSchema(source: SchemaSource, models: ModelCatalog, report: Report): SchemaDeclaration | undefined {
  if (!NAME.test(source.name)) report([], 'bad_structure', 'schema names are lower_snake_case');
  const raw = source.raw;
  if (!isPlainObject(raw)) {
    report([], 'bad_structure', 'a schema must be a mapping (strict_mode, model_name, meta, data)');
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if (!(key in SCHEMA_KEYS)) report([key], 'unknown_key', `unknown key "${key}" (allowed: ${Object.keys(SCHEMA_KEYS).join(', ')})`);
  }
  if (raw.strict_mode !== undefined && typeof raw.strict_mode !== 'boolean') {
    report(['strict_mode'], 'bad_structure', 'strict_mode must be true or false', 'value');
  }
  if (!RESULT_METAS.includes(raw.meta as ResultMeta)) {
    report(
      raw.meta === undefined ? [] : ['meta'],
      'unknown_meta',
      `meta must be one of ${RESULT_METAS.join(', ')} (got ${JSON.stringify(raw.meta)})`,
      raw.meta === undefined ? 'key' : 'value',
    );
  }
  let modelName: string | undefined;
  if (raw.model_name !== undefined) {
    if (typeof raw.model_name !== 'string' || !models.has(raw.model_name)) {
      report(
        ['model_name'],
        'unknown_model',
        `no resource serves model "${String(raw.model_name)}" (resources: ${[...models.keys()].join(', ')})`,
        'value',
      );
    } else modelName = raw.model_name;
  }
  if (!isPlainObject(raw.data)) {
    report(
      raw.data === undefined ? [] : ['data'],
      'bad_structure',
      '`data:` must map field names to field definitions (`data: {}` for none)',
      raw.data === undefined ? 'key' : 'value',
    );
    return undefined;
  }
  const decl: SchemaDeclaration = {
    name: source.name,
    file: source.file,
    modelName,
    meta: (RESULT_METAS.includes(raw.meta as ResultMeta) ? raw.meta : 'object_result') as ResultMeta,
    strict: raw.strict_mode !== false,
    fields: parseFields(raw.data, ['data'], report),
  };
  if (raw.note !== undefined) decl.note = String(raw.note);
  return decl;
}

function parseFields(data: Record<string, unknown>, path: YamlPath, report: Report): FieldInfo[] {
  return Object.entries(data).flatMap(([name, def]) => {
    const field = parseField(name, def, [...path, name], report);
    return field ? [field] : [];
  });
}

function parseField(name: string, def: unknown, path: YamlPath, report: Report): FieldInfo | undefined {
  if (!FIELD_NAME.test(name)) report(path, 'bad_structure', 'field names are lower_snake_case (a leading _ is allowed)');
  if (!isPlainObject(def)) {
    report(path, 'bad_structure', 'a field must be a mapping with a type', 'value');
    return undefined;
  }
  for (const key of Object.keys(def)) {
    if (!(key in FIELD_KEYS))
      report([...path, key], 'unknown_key', `unknown key "${key}" (allowed: ${Object.keys(FIELD_KEYS).join(', ')})`);
  }
  if (!FIELD_TYPES.includes(def.type as FieldType)) {
    const at = def.type === undefined ? path : [...path, 'type'];
    report(at, 'unknown_type', `unknown type ${JSON.stringify(def.type)} (allowed: ${FIELD_TYPES.join(', ')})`, 'value');
    return undefined;
  }
  const info: FieldInfo = { name, type: def.type as FieldType };
  if (def.note !== undefined) info.note = String(def.note);
  if (def.example !== undefined) info.example = def.example;
  const allowedWith: Record<string, FieldType[]> = {
    schema: ['list', 'object_ref'],
    items: ['list'],
    from: ['object_ref'],
    data: ['object'],
  };
  for (const [key, types] of Object.entries(allowedWith)) {
    if (def[key] !== undefined && !types.includes(info.type))
      report([...path, key], 'unknown_key', `"${key}" does not go with type ${info.type}`);
  }
  let ok = true;
  const fail = (at: YamlPath, code: DeclarationCode, message: string) => {
    report(at, code, message, 'value');
    ok = false;
  };
  if (info.type === 'object_ref') {
    if (typeof def.schema !== 'string') fail(path, 'bad_structure', 'an object_ref needs `schema:` (the schema of the referenced record)');
    else info.schema = def.schema;
    const from = def.from ?? defaultRefSource(name);
    if (typeof from !== 'string' || from === '')
      fail(path, 'bad_ref_source', 'an object_ref needs `from:` (the local id field) unless its name ends in _info or _infos');
    else info.from = from;
  } else if (info.type === 'list') {
    if ((def.schema === undefined) === (def.items === undefined)) {
      fail(path, 'bad_structure', 'a list needs exactly one of `items:` (a type) or `schema:` (a schema name)');
    } else if (def.schema !== undefined) {
      if (typeof def.schema !== 'string') fail([...path, 'schema'], 'bad_structure', '`schema:` must be a schema name');
      else info.schema = def.schema;
    } else {
      const items = isPlainObject(def.items) ? def.items.type : def.items;
      if (typeof items !== 'string' || !SCALAR_TYPES.includes(items as ScalarType)) {
        fail([...path, 'items'], 'unknown_type', `list items must be one of ${SCALAR_TYPES.join(', ')} (got ${JSON.stringify(items)})`);
      } else info.items = items as ScalarType;
    }
  } else if (info.type === 'object') {
    if (!isPlainObject(def.data)) fail(path, 'bad_structure', 'an object needs `data:` with its fields');
    else info.fields = parseFields(def.data, [...path, 'data'], report);
  }
  return ok ? info : undefined;
}

/** Every `schema:` names a defined schema; an object_ref's schema has a model_name (where else would it look?). */
function checkReferences(fields: readonly FieldInfo[], path: YamlPath, all: ReadonlyMap<string, SchemaDeclaration>, report: Report): void {
  for (const field of fields) {
    const at = [...path, field.name];
    if (field.fields) checkReferences(field.fields, [...at, 'data'], all, report);
    if (field.schema === undefined) continue;
    const target = all.get(field.schema);
    if (!target) report([...at, 'schema'], 'unknown_schema', `unknown schema "${field.schema}"`, 'value');
    else if (field.type === 'object_ref' && !target.modelName) {
      report([...at, 'schema'], 'unknown_model', `schema "${target.name}" has no model_name, so it cannot be referenced`, 'value');
    }
  }
}

/** The schemas each schema embeds or references (through nested objects too). */
function dependencies(fields: readonly FieldInfo[]): string[] {
  return fields.flatMap((f) => [...(f.schema ? [f.schema] : []), ...dependencies(f.fields ?? [])]);
}

/** Each cycle once, as the trail from its first schema (in file order) back to itself. */
function findCycles(all: ReadonlyMap<string, SchemaDeclaration>): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  const visit = (name: string, trail: string[]): void => {
    const at = trail.indexOf(name);
    if (at >= 0) {
      cycles.push([...trail.slice(at), name]);
      return;
    }
    if (done.has(name)) return;
    const decl = all.get(name);
    if (!decl) return;
    for (const next of new Set(dependencies(decl.fields))) visit(next, [...trail, name]);
    done.add(name);
  };
  for (const name of all.keys()) visit(name, []);
  return cycles;
}
