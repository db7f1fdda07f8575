import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { Binary, Decimal128, Double, Int32, Long, ObjectId, Timestamp, type Db, type Document } from 'mongodb';
import { collectionOf } from './db.js';

/** The envelopes of seed 004 (DESIGN.md §5). */
export const RESULT_METAS = ['object_result', 'result_set_with_meta', 'result_set', 'ok_result'] as const;
export type ResultMeta = (typeof RESULT_METAS)[number];

const FIELD_TYPES = ['object_id', 'string', 'int', 'float', 'bool', 'datetime', 'date', 'list', 'object', 'object_ref'] as const;
type FieldType = (typeof FIELD_TYPES)[number];
const SCALAR_TYPES = new Set<string>(['object_id', 'string', 'int', 'float', 'bool', 'datetime', 'date']);
const SCHEMA_KEYS = new Set(['strict_mode', 'model_name', 'meta', 'data', 'note']);
const FIELD_KEYS = new Set(['type', 'example', 'note', 'schema', 'items', 'from', 'data']);
const NAME = /^[a-z][a-z0-9_]*$/;
const FIELD_NAME = /^_?[a-z][a-z0-9_]*$/;

/** A mistake in a schema file; the message names `file: schema.field`. */
export class SchemaError extends Error {
  constructor(where: string, message: string) {
    super(`${where}: ${message}`);
    this.name = 'SchemaError';
  }
}

/** A record that does not fit the schema it is sent with: a server bug, answered with 500 and logged. */
export class ShapeError extends Error {
  constructor(where: string, message: string) {
    super(`result does not fit ${where}: ${message}`);
    this.name = 'ShapeError';
  }
}

/** A field definition as written in YAML. */
interface RawField {
  type?: unknown;
  example?: unknown;
  note?: unknown;
  schema?: unknown;
  items?: unknown;
  from?: unknown;
  data?: unknown;
}

/** A schema as written in YAML. */
export interface RawSchema {
  strict_mode?: unknown;
  model_name?: unknown;
  meta?: unknown;
  data?: unknown;
  note?: unknown;
}

/** The declared form of one field, kept for docs and conformance checks. */
export interface FieldInfo {
  name: string;
  type: FieldType;
  note?: string;
  example?: unknown;
  schema?: string;
  items?: string;
  from?: string;
  fields?: FieldInfo[];
}

/** A compiled schema: shapes records into the JSON the seed's clients expect. */
export interface ResultSchema {
  readonly name: string;
  readonly file: string;
  readonly modelName: string | undefined;
  readonly meta: ResultMeta;
  readonly strict: boolean;
  readonly fields: FieldInfo[];
  /** What to read from the database to fill this schema; undefined when everything is needed. */
  readonly projection: Document | undefined;
  /** Shapes many records at once, resolving object_ref fields with one `$in` per ref field. */
  shapeMany(records: readonly unknown[], db: Db): Promise<unknown[]>;
}

/** All schemas of a project, by name. */
export interface SchemaRegistry {
  get(name: string): ResultSchema | undefined;
  all(): ResultSchema[];
}

export interface LoadOptions {
  /** model_name → collection; a model_name not in it stops the start. */
  collections: ReadonlyMap<string, string>;
}

/** Reads every `*.yaml` in `dir`, checks it and compiles it (throws SchemaError on the first mistake). */
export function loadResultSchemas(dir: string, options: LoadOptions): SchemaRegistry {
  const sources = new Map<string, { file: string; raw: RawSchema }>();
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const display = path.join(path.basename(dir), file);
    let doc: unknown;
    try {
      doc = yaml.load(readFileSync(path.join(dir, file), 'utf8'), { schema: yaml.CORE_SCHEMA });
    } catch (err) {
      throw new SchemaError(display, `not valid YAML: ${(err as Error).message}`);
    }
    if (doc === null || doc === undefined) continue;
    if (!isPlainObject(doc)) throw new SchemaError(display, 'must map schema names to schemas');
    for (const [name, raw] of Object.entries(doc)) {
      const previous = sources.get(name);
      if (previous) throw new SchemaError(`${display}: ${name}`, `already defined in ${previous.file}`);
      if (!isPlainObject(raw)) throw new SchemaError(`${display}: ${name}`, 'must be a mapping');
      sources.set(name, { file: display, raw: raw as RawSchema });
    }
  }
  return compileSchemas(sources, options);
}

/** Compiles schemas given as parsed YAML (exposed for tests of schema mistakes). */
export function compileSchemas(
  sources: ReadonlyMap<string, { file: string; raw: RawSchema }>,
  options: LoadOptions,
): SchemaRegistry {
  const compiled = new Map<string, CompiledSchema>();
  for (const [name, { file, raw }] of sources) {
    compiled.set(name, new CompiledSchema(name, file, raw, options.collections));
  }
  for (const schema of compiled.values()) schema.link(compiled);
  for (const schema of compiled.values()) schema.checkCycles([]);
  return {
    get: (name) => compiled.get(name),
    all: () => [...compiled.values()],
  };
}

/** Where a ref field's ids are gathered while a response is shaped. */
interface RefSite {
  targetSchema: CompiledSchema;
  collection: string;
}

/** One response being shaped: ids gathered per ref site, then the loaded records per site. */
interface ShapeRun {
  ids: Map<RefSite, Map<string, unknown>>;
  loaded: Map<RefSite, Map<string, unknown>>;
}

/** The run of a schema without refs: nothing gathered, nothing loaded. */
const NO_REFS: ShapeRun = { ids: new Map(), loaded: new Map() };

type Builder = (value: unknown, run: ShapeRun) => unknown;
type Collector = (value: unknown, run: ShapeRun) => void;

interface CompiledField {
  name: string;
  /** Which stored field feeds it (differs from name for object_ref). */
  source: string;
  build: Builder;
  collect: Collector | undefined;
}

class CompiledSchema implements ResultSchema {
  readonly modelName: string | undefined;
  readonly meta: ResultMeta;
  readonly strict: boolean;
  readonly fields: FieldInfo[];
  private compiledFields: CompiledField[] = [];
  /** Schemas this one references or embeds; a cycle among them would never finish loading. */
  private readonly dependsOn: CompiledSchema[] = [];
  private readonly declared = new Set<string>();
  private refsBelow: boolean | undefined;

  constructor(
    readonly name: string,
    readonly file: string,
    private readonly raw: RawSchema,
    private readonly collections: ReadonlyMap<string, string>,
  ) {
    const where = `${file}: ${name}`;
    if (!NAME.test(name)) throw new SchemaError(where, 'schema names are lower_snake_case');
    for (const key of Object.keys(raw)) {
      if (!SCHEMA_KEYS.has(key)) throw new SchemaError(where, `unknown key "${key}" (allowed: ${[...SCHEMA_KEYS].join(', ')})`);
    }
    if (raw.strict_mode !== undefined && typeof raw.strict_mode !== 'boolean') {
      throw new SchemaError(`${where}.strict_mode`, 'must be true or false');
    }
    this.strict = raw.strict_mode !== false;
    if (!RESULT_METAS.includes(raw.meta as ResultMeta)) {
      throw new SchemaError(`${where}.meta`, `must be one of ${RESULT_METAS.join(', ')} (got ${JSON.stringify(raw.meta)})`);
    }
    this.meta = raw.meta as ResultMeta;
    if (raw.model_name !== undefined) {
      if (typeof raw.model_name !== 'string' || !collections.has(raw.model_name)) {
        throw new SchemaError(`${where}.model_name`, `no resource serves model "${String(raw.model_name)}"`);
      }
      this.modelName = raw.model_name;
    }
    if (!isPlainObject(raw.data)) throw new SchemaError(`${where}.data`, 'must map field names to field definitions');
    this.fields = Object.entries(raw.data).map(([field, def]) => parseField(`${where}.${field}`, field, def));
    for (const field of this.fields) this.declared.add(field.name);
  }

  /** Resolves schema names (list/object_ref) once every schema is known, and builds the field closures. */
  link(all: ReadonlyMap<string, CompiledSchema>): void {
    const where = `${this.file}: ${this.name}`;
    this.compiledFields = this.fields.map((field) => this.compileField(`${where}.${field.name}`, field, all));
    for (const field of this.compiledFields) this.declared.add(field.source);
  }

  private compileField(where: string, field: FieldInfo, all: ReadonlyMap<string, CompiledSchema>): CompiledField {
    if (field.type === 'object_ref') {
      const target = all.get(field.schema as string);
      if (!target) throw new SchemaError(where, `unknown schema "${field.schema}"`);
      if (!target.modelName) throw new SchemaError(where, `schema "${target.name}" has no model_name, so it cannot be referenced`);
      const site: RefSite = { targetSchema: target, collection: this.collections.get(target.modelName) as string };
      this.dependsOn.push(target);
      const source = field.from as string;
      return {
        name: field.name,
        source,
        collect: (value, run) => collectIds(site, value, run, where),
        build: (value, run) => {
          if (value === null || value === undefined) return null;
          const loaded = run.loaded.get(site);
          const pick = (id: unknown) => loaded?.get(idKey(id)) ?? null;
          return Array.isArray(value) ? value.map(pick) : pick(value);
        },
      };
    }
    const { build, collect } = valueShaper(where, field, all, this.dependsOn, this.collections);
    return { name: field.name, source: field.name, build, collect };
  }

  /** Whether a response in this schema needs queries: an object_ref in it or in a schema it embeds. */
  get hasRefs(): boolean {
    // without an object_ref of its own, everything it depends on is embedded (list schema / object)
    this.refsBelow ??= this.fields.some((f) => f.type === 'object_ref') || this.dependsOn.some((d) => d.hasRefs);
    return this.refsBelow;
  }

  checkCycles(trail: string[]): void {
    if (trail.includes(this.name)) {
      throw new SchemaError(`${this.file}: ${this.name}`, `schemas refer to each other in a cycle: ${[...trail, this.name].join(' → ')}`);
    }
    for (const next of this.dependsOn) next.checkCycles([...trail, this.name]);
  }

  get projection(): Document | undefined {
    if (!this.strict) return undefined;
    const projection: Document = { _id: 1 };
    for (const field of this.compiledFields) projection[field.source] = 1;
    return projection;
  }

  async shapeMany(records: readonly unknown[], db: Db): Promise<unknown[]> {
    // most referenced schemas (group_brief) have no refs themselves: nothing to load, no need to wait
    if (!this.hasRefs) return records.map((record) => this.build(record, NO_REFS));
    const run: ShapeRun = { ids: new Map(), loaded: new Map() };
    for (const record of records) this.collect(record, run);
    await loadRefs(run, db);
    return records.map((record) => this.build(record, run));
  }

  collect(record: unknown, run: ShapeRun): void {
    if (!isPlainObject(record)) return;
    for (const field of this.compiledFields) field.collect?.(record[field.source], run);
  }

  build(record: unknown, run: ShapeRun): unknown {
    const where = `${this.file}: ${this.name}`;
    if (!isPlainObject(record)) throw new ShapeError(where, `expected a record, got ${describe(record)}`);
    const out: Record<string, unknown> = {};
    for (const field of this.compiledFields) out[field.name] = field.build(record[field.source], run);
    if (!this.strict) {
      for (const [key, value] of Object.entries(record)) {
        if (!this.declared.has(key)) out[key] = toJsonSafe(value);
      }
    }
    return out;
  }
}

/** Loads every gathered ref site with one `$in` each, then the next level of refs of what was loaded. */
async function loadRefs(run: ShapeRun, db: Db): Promise<void> {
  await Promise.all(
    [...run.ids].map(async ([site, ids]) => {
      const target = site.targetSchema;
      const options = target.projection ? { projection: target.projection } : {};
      const found = await collectionOf(db, site.collection)
        .find({ _id: { $in: [...ids.values()] } } as Document, options)
        .toArray();
      const shaped = await target.shapeMany(found, db);
      run.loaded.set(site, new Map(found.map((doc, i) => [idKey(doc._id), shaped[i]])));
    }),
  );
}

function collectIds(site: RefSite, value: unknown, run: ShapeRun, where: string): void {
  if (value === null || value === undefined) return;
  const values = Array.isArray(value) ? value : [value];
  let ids = run.ids.get(site);
  if (!ids) {
    ids = new Map();
    run.ids.set(site, ids);
  }
  for (const id of values) {
    if (id === null || id === undefined) continue;
    if (!(id instanceof ObjectId) && typeof id !== 'string' && typeof id !== 'number') {
      throw new ShapeError(where, `an object_ref holds ${describe(id)}, not an id`);
    }
    ids.set(idKey(id), id);
  }
}

function idKey(id: unknown): string {
  return id instanceof ObjectId ? id.toHexString() : `${typeof id}:${String(id)}`;
}

function parseField(where: string, name: string, def: unknown): FieldInfo {
  if (!FIELD_NAME.test(name)) throw new SchemaError(where, 'field names are lower_snake_case (a leading _ is allowed)');
  if (!isPlainObject(def)) throw new SchemaError(where, 'must be a mapping with a type');
  const raw = def as RawField;
  for (const key of Object.keys(raw)) {
    if (!FIELD_KEYS.has(key)) throw new SchemaError(where, `unknown key "${key}" (allowed: ${[...FIELD_KEYS].join(', ')})`);
  }
  if (!FIELD_TYPES.includes(raw.type as FieldType)) {
    throw new SchemaError(where, `unknown type ${JSON.stringify(raw.type)} (allowed: ${FIELD_TYPES.join(', ')})`);
  }
  const info: FieldInfo = { name, type: raw.type as FieldType };
  if (raw.note !== undefined) info.note = String(raw.note);
  if (raw.example !== undefined) info.example = raw.example;
  const only = (key: keyof RawField, types: FieldType[]) => {
    if (raw[key] !== undefined && !types.includes(info.type)) {
      throw new SchemaError(where, `"${key}" does not go with type ${info.type}`);
    }
  };
  only('schema', ['list', 'object_ref']);
  only('items', ['list']);
  only('from', ['object_ref']);
  only('data', ['object']);
  if (info.type === 'object_ref') {
    if (typeof raw.schema !== 'string') throw new SchemaError(where, 'an object_ref needs `schema:`');
    info.schema = raw.schema;
    const from = raw.from ?? defaultRefSource(name);
    if (typeof from !== 'string' || from === '') {
      throw new SchemaError(where, 'an object_ref needs `from:` (the local id field) unless its name ends in _info');
    }
    info.from = from;
  } else if (info.type === 'list') {
    if ((raw.schema === undefined) === (raw.items === undefined)) {
      throw new SchemaError(where, 'a list needs exactly one of `items:` (a type) or `schema:` (a schema name)');
    }
    if (raw.schema !== undefined) {
      if (typeof raw.schema !== 'string') throw new SchemaError(where, '`schema:` must be a schema name');
      info.schema = raw.schema;
    } else {
      const items = isPlainObject(raw.items) ? (raw.items as RawField).type : raw.items;
      if (typeof items !== 'string' || !SCALAR_TYPES.has(items)) {
        throw new SchemaError(where, `list items must be one of ${[...SCALAR_TYPES].join(', ')}`);
      }
      info.items = items;
    }
  } else if (info.type === 'object') {
    if (!isPlainObject(raw.data)) throw new SchemaError(where, 'an object needs `data:` with its fields');
    info.fields = Object.entries(raw.data).map(([field, sub]) => parseField(`${where}.${field}`, field, sub));
  }
  return info;
}

/** `group_info` reads `group_id`; `member_infos` reads `member_ids`. */
function defaultRefSource(name: string): string | undefined {
  if (name.endsWith('_infos')) return `${name.slice(0, -'_infos'.length)}_ids`;
  if (name.endsWith('_info')) return `${name.slice(0, -'_info'.length)}_id`;
  return undefined;
}

/** Builders for values that are not refs: scalars, lists and nested objects (which may embed refs via schemas). */
function valueShaper(
  where: string,
  field: FieldInfo,
  all: ReadonlyMap<string, CompiledSchema>,
  dependsOn: CompiledSchema[],
  collections: ReadonlyMap<string, string>,
): { build: Builder; collect: Collector | undefined } {
  switch (field.type) {
    case 'list': {
      if (field.items) {
        const item = scalarConverter(`${where}[]`, field.items as FieldType);
        return {
          build: (value) => {
            if (value === null || value === undefined) return null;
            if (!Array.isArray(value)) throw new ShapeError(where, `expected a list, got ${describe(value)}`);
            return value.map(item);
          },
          collect: undefined,
        };
      }
      const embedded = all.get(field.schema as string);
      if (!embedded) throw new SchemaError(where, `unknown schema "${field.schema}"`);
      dependsOn.push(embedded);
      return {
        build: (value, run) => {
          if (value === null || value === undefined) return null;
          if (!Array.isArray(value)) throw new ShapeError(where, `expected a list, got ${describe(value)}`);
          return value.map((v) => embedded.build(v, run));
        },
        collect: (value, run) => {
          if (Array.isArray(value)) for (const v of value) embedded.collect(v, run);
        },
      };
    }
    case 'object': {
      const nested = new CompiledSchema(
        `${field.name}`,
        where,
        { strict_mode: true, meta: 'object_result', data: rawFieldsOf(field.fields ?? []) },
        collections,
      );
      nested.link(all);
      dependsOn.push(nested);
      return {
        build: (value, run) => (value === null || value === undefined ? null : nested.build(value, run)),
        collect: (value, run) => nested.collect(value, run),
      };
    }
    default: {
      const convert = scalarConverter(where, field.type);
      return { build: convert, collect: undefined };
    }
  }
}

function rawFieldsOf(fields: FieldInfo[]): Record<string, RawField> {
  const out: Record<string, RawField> = {};
  for (const f of fields) {
    const raw: RawField = { type: f.type };
    if (f.schema !== undefined) raw.schema = f.schema;
    if (f.items !== undefined) raw.items = f.items;
    if (f.from !== undefined) raw.from = f.from;
    if (f.fields !== undefined) raw.data = rawFieldsOf(f.fields);
    out[f.name] = raw;
  }
  return out;
}

/** A converter for one scalar type; a value of another type is a ShapeError (never sent silently). */
function scalarConverter(where: string, type: FieldType): (value: unknown) => unknown {
  const bad = (value: unknown): never => {
    throw new ShapeError(where, `expected ${type}, got ${describe(value)}`);
  };
  switch (type) {
    case 'object_id':
      return (v) => {
        if (v === null || v === undefined) return null;
        if (v instanceof ObjectId) return v.toHexString();
        return typeof v === 'string' && /^[0-9a-f]{24}$/i.test(v) ? v : bad(v);
      };
    case 'string':
      return (v) => (v === null || v === undefined ? null : typeof v === 'string' ? v : bad(v));
    case 'int':
      return (v) => {
        if (v === null || v === undefined) return null;
        const n = toNumber(v);
        return n !== undefined && Number.isSafeInteger(n) ? n : bad(v);
      };
    case 'float':
      return (v) => {
        if (v === null || v === undefined) return null;
        const n = toNumber(v);
        return n !== undefined && Number.isFinite(n) ? n : bad(v);
      };
    case 'bool':
      return (v) => (v === null || v === undefined ? null : typeof v === 'boolean' ? v : bad(v));
    case 'datetime':
      return (v) => (v === null || v === undefined ? null : v instanceof Date && !isNaN(v.getTime()) ? v.toISOString() : bad(v));
    case 'date':
      return (v) =>
        v === null || v === undefined ? null : v instanceof Date && !isNaN(v.getTime()) ? v.toISOString().slice(0, 10) : bad(v);
    default:
      return bad;
  }
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v instanceof Long) return v.toNumber();
  if (v instanceof Int32 || v instanceof Double) return v.valueOf();
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

/** Any stored value as JSON (strict_mode: false passes undeclared fields through this). */
export function toJsonSafe(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof ObjectId) return value.toHexString();
  if (value instanceof Date) return isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Long) return value.toNumber();
  if (value instanceof Int32 || value instanceof Double) return value.valueOf();
  if (value instanceof Decimal128) return value.toString();
  if (value instanceof Timestamp) return value.toString();
  if (value instanceof Binary) return Buffer.from(value.buffer).toString('base64');
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(toJsonSafe);
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonSafe(v)]));
  }
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof ObjectId) return 'an ObjectId';
  if (value instanceof Date) return 'a Date';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}
