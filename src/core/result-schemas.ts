import { ObjectId, type Db, type Document } from 'mongodb';
import { findBounded } from './find-command.js';
import { isPlainObject, type FieldInfo, type ResultMeta, type SchemaDeclaration } from './schema-format.js';
import { ShapeError, describe, scalarConverter, toJsonSafe } from './shape-values.js';

// The shaping side of result schemas: checked declarations (schema-check.ts) compiled into closures that turn
// stored records into the seed's JSON. Nothing here validates the YAML; a mistake that reaches this file is a bug.

export { RESULT_METAS, type FieldInfo, type ResultMeta } from './schema-format.js';
export { ShapeError, toJsonSafe } from './shape-values.js';

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
  /**
   * Shapes many records at once, resolving object_ref fields with one `$in` per ref field. `wanted`: only these
   * top-level fields load their refs (the others answer null); undefined: all of them.
   */
  shapeMany(records: readonly unknown[], db: Db, wanted?: ReadonlySet<string>): Promise<unknown[]>;
}

/** All schemas of a project, by name. */
export interface SchemaRegistry {
  get(name: string): ResultSchema | undefined;
  all(): ResultSchema[];
}

/** Compiles checked declarations; `collections` maps model_name → collection (where object_refs look). */
export function compileSchemas(
  declarations: ReadonlyMap<string, SchemaDeclaration>,
  collections: ReadonlyMap<string, string>,
): SchemaRegistry {
  const compiled = new Map<string, CompiledSchema>();
  for (const [name, decl] of declarations) compiled.set(name, new CompiledSchema(decl, collections));
  for (const schema of compiled.values()) schema.link(compiled);
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
  readonly name: string;
  readonly file: string;
  readonly modelName: string | undefined;
  readonly meta: ResultMeta;
  readonly strict: boolean;
  readonly fields: FieldInfo[];
  private compiledFields: CompiledField[] = [];
  /** Schemas this one references or embeds. */
  private readonly dependsOn: CompiledSchema[] = [];
  private readonly declared = new Set<string>();
  private refsBelow: boolean | undefined;
  private projected: Document | undefined;

  constructor(
    decl: SchemaDeclaration,
    private readonly collections: ReadonlyMap<string, string>,
  ) {
    this.name = decl.name;
    this.file = decl.file;
    this.modelName = decl.modelName;
    this.meta = decl.meta;
    this.strict = decl.strict;
    this.fields = decl.fields;
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
      const target = lookup(all, field.schema);
      const site: RefSite = { targetSchema: target, collection: this.collections.get(target.modelName as string) as string };
      this.dependsOn.push(target);
      return {
        name: field.name,
        source: field.from as string,
        collect: (value, run) => collectIds(site, value, run, where),
        build: (value, run) => {
          if (value === null || value === undefined) return null;
          const loaded = run.loaded.get(site);
          const pick = (id: unknown) => loaded?.get(idKey(id)) ?? null;
          return Array.isArray(value) ? value.map(pick) : pick(value);
        },
      };
    }
    const { build, collect } = this.valueShaper(where, field, all);
    return { name: field.name, source: field.name, build, collect };
  }

  /** Builders for values that are not refs: scalars, lists and nested objects (which may embed refs via schemas). */
  private valueShaper(
    where: string,
    field: FieldInfo,
    all: ReadonlyMap<string, CompiledSchema>,
  ): { build: Builder; collect: Collector | undefined } {
    if (field.type === 'list' && field.items) {
      const item = scalarConverter(`${where}[]`, field.items);
      return { build: (value) => (value === null || value === undefined ? null : listOf(where, value).map(item)), collect: undefined };
    }
    if (field.type === 'list' || field.type === 'object') {
      const inner =
        field.type === 'list'
          ? lookup(all, field.schema)
          : new CompiledSchema(
              { name: field.name, file: where, modelName: undefined, meta: 'object_result', strict: true, fields: field.fields ?? [] },
              this.collections,
            );
      if (field.type === 'object') inner.link(all);
      this.dependsOn.push(inner);
      if (field.type === 'object') {
        return {
          build: (value, run) => (value === null || value === undefined ? null : inner.build(value, run)),
          collect: (value, run) => inner.collect(value, run),
        };
      }
      return {
        build: (value, run) => (value === null || value === undefined ? null : listOf(where, value).map((v) => inner.build(v, run))),
        collect: (value, run) => {
          if (Array.isArray(value)) for (const v of value) inner.collect(v, run);
        },
      };
    }
    return {
      build: scalarConverter(where, field.type as Exclude<typeof field.type, 'list' | 'object' | 'object_ref'>),
      collect: undefined,
    };
  }

  /** Whether a response in this schema needs queries: an object_ref in it or in a schema it embeds. */
  get hasRefs(): boolean {
    this.refsBelow ??= this.fields.some((f) => f.type === 'object_ref') || this.dependsOn.some((d) => d.hasRefs);
    return this.refsBelow;
  }

  get projection(): Document | undefined {
    if (!this.strict) return undefined;
    // made once (every ref load of every request reads it); frozen, as it is shared
    if (!this.projected) {
      const projection: Document = { _id: 1 };
      for (const field of this.compiledFields) projection[field.source] = 1;
      this.projected = Object.freeze(projection);
    }
    return this.projected;
  }

  /**
   * The records shaped, their refs loaded with one query per ref field. `wanted`: only these fields of the records
   * (not of what they embed) gather refs; the others answer null without a query (GraphQL asks for some fields).
   */
  async shapeMany(records: readonly unknown[], db: Db, wanted?: ReadonlySet<string>): Promise<unknown[]> {
    // most referenced schemas (group_brief) have no refs themselves: nothing to load, no need to wait
    if (!this.hasRefs) return records.map((record) => this.build(record, NO_REFS));
    const run: ShapeRun = { ids: new Map(), loaded: new Map() };
    const gathering = wanted ? this.compiledFields.filter((field) => wanted.has(field.name)) : this.compiledFields;
    for (const record of records) this.collect(record, run, gathering);
    await loadRefs(run, db);
    return records.map((record) => this.build(record, run));
  }

  /** Gathers the ref ids of `record` for `fields` (default: all of this schema's). */
  collect(record: unknown, run: ShapeRun, fields: readonly CompiledField[] = this.compiledFields): void {
    if (!isPlainObject(record)) return;
    for (const field of fields) field.collect?.(record[field.source], run);
  }

  build(record: unknown, run: ShapeRun): unknown {
    if (!isPlainObject(record)) throw new ShapeError(`${this.file}: ${this.name}`, `expected a record, got ${describe(record)}`);
    const source = record;
    const out: Record<string, unknown> = {};
    for (const field of this.compiledFields) out[field.name] = field.build(source[field.source], run);
    if (!this.strict) {
      for (const [key, value] of Object.entries(source)) {
        if (!this.declared.has(key)) out[key] = toJsonSafe(value);
      }
    }
    return out;
  }
}

/** A schema the checker proved exists. */
function lookup(all: ReadonlyMap<string, CompiledSchema>, name: string | undefined): CompiledSchema {
  const schema = all.get(name as string);
  if (!schema) throw new Error(`unchecked schema declaration: "${name}" is not compiled`);
  return schema;
}

function listOf(where: string, value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new ShapeError(where, `expected a list, got ${describe(value)}`);
  return value;
}

/** Loads every gathered ref site with one query each, then the next level of refs of what was loaded. */
async function loadRefs(run: ShapeRun, db: Db): Promise<void> {
  if (run.ids.size === 1) {
    // one ref field (a get, most lists): no Promise.all around it
    const [site, ids] = run.ids.entries().next().value as [RefSite, Map<string, unknown>];
    await loadSite(run, site, ids, db);
    return;
  }
  await Promise.all([...run.ids].map(([site, ids]) => loadSite(run, site, ids, db)));
}

async function loadSite(run: ShapeRun, site: RefSite, ids: Map<string, unknown>, db: Db): Promise<void> {
  const target = site.targetSchema;
  const projection = target.projection;
  const values = [...ids.values()];
  // one id (a get) is the equality findOne would send; more are one $in
  const filter: Document = values.length === 1 ? { _id: values[0] } : { _id: { $in: values } };
  // _id is unique: at most one record per id
  const found = await findBounded(db, site.collection, { filter, projection, limit: values.length });
  const shaped = target.hasRefs ? await target.shapeMany(found, db) : found.map((doc) => target.build(doc, NO_REFS));
  const byId = new Map<string, unknown>();
  for (let i = 0; i < found.length; i++) byId.set(idKey((found[i] as Document)._id), shaped[i]);
  run.loaded.set(site, byId);
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
