import type { DeclarationCode } from './declaration-error.js';
import type { ParamType } from './params.js';
import type { YamlPath } from './schema-files.js';
import type { FieldInfo, FieldType, SchemaDeclaration } from './schema-format.js';

/** What a resource declares about its stored records, as the schema checks see it. */
export interface ModelInfo {
  /** The collection its records live in (where an object_ref to one of its schemas looks). */
  collection: string;
  /** The stored fields with their SEP-12 types (system fields included); undefined: not declared, not checked. */
  fields?: ReadonlyMap<string, ParamType>;
  /** id field → the resource it references (`references: {group_id: 'group'}`). */
  references?: ReadonlyMap<string, string>;
  /** Fields `derive` adds before shaping: they exist, their type is not known. */
  derived?: ReadonlySet<string>;
}

/** model_name (= resource name) → what it declares. */
export type ModelCatalog = ReadonlyMap<string, ModelInfo>;

type Report = (path: YamlPath, code: DeclarationCode, message: string, part?: 'key' | 'value') => void;

/** YAML type → the SEP-12 kinds whose stored values it can shape without a ShapeError. */
const COMPATIBLE: Record<Exclude<FieldType, 'object_ref'>, ReadonlyArray<ParamType['kind']>> = {
  object_id: ['object_id'],
  string: ['string', 'enum_str', 'time'],
  int: ['int', 'enum_int'],
  float: ['float', 'int', 'enum_int'],
  bool: ['bool'],
  datetime: ['datetime', 'date'],
  date: ['date', 'datetime'],
  list: ['list', 'json_list'],
  object: ['dict', 'json_map'],
};

/**
 * Checks a schema's fields against the model it names: a strict schema shows only declared (or derived) fields, each
 * YAML type fits the declared type, and an object_ref reads a declared id field that points at the target's model.
 */
export function checkAgainstModels(
  decl: SchemaDeclaration,
  all: ReadonlyMap<string, SchemaDeclaration>,
  models: ModelCatalog,
  report: Report,
): void {
  const model = decl.modelName === undefined ? undefined : models.get(decl.modelName);
  if (!model?.fields) return;
  checkFields(decl.modelName as string, decl.fields, model.fields, ['data'], { decl, all, model, report });
}

interface Scope {
  decl: SchemaDeclaration;
  all: ReadonlyMap<string, SchemaDeclaration>;
  model: ModelInfo;
  report: Report;
}

function checkFields(
  owner: string,
  fields: readonly FieldInfo[],
  declared: ReadonlyMap<string, ParamType>,
  path: YamlPath,
  scope: Scope,
): void {
  const top = path.length === 1;
  for (const field of fields) {
    const at = [...path, field.name];
    if (field.type === 'object_ref') {
      checkRef(owner, field, declared, at, scope);
      continue;
    }
    const type = declared.get(field.name);
    if (!type) {
      if (top && scope.model.derived?.has(field.name)) continue;
      if (scope.decl.strict) {
        scope.report(
          at,
          'undeclared_field',
          `${owner} declares no field "${field.name}" (declared: ${[...declared.keys()].join(', ')}), so it would always be null`,
        );
      }
      continue;
    }
    if (!COMPATIBLE[field.type].includes(type.kind)) {
      scope.report(
        [...at, 'type'],
        'type_mismatch',
        `type ${field.type} contradicts the declared ${describeKind(type)} of ${owner}.${field.name}`,
        'value',
      );
      continue;
    }
    if (field.type === 'list' && type.kind === 'list') checkList(owner, field, type.item, at, scope);
    if (field.type === 'object' && type.kind === 'dict') {
      const nested = new Map(type.fields.map((f) => [f.name, f.type]));
      checkFields(`${owner}.${field.name}`, field.fields ?? [], nested, [...at, 'data'], scope);
    }
  }
}

function checkList(owner: string, field: FieldInfo, item: ParamType, at: YamlPath, scope: Scope): void {
  if (field.items && !COMPATIBLE[field.items].includes(item.kind)) {
    scope.report(
      [...at, 'items'],
      'type_mismatch',
      `items ${field.items} contradict the declared ${describeKind(item)} items of ${owner}.${field.name}`,
      'value',
    );
  }
  if (field.schema && item.kind !== 'dict') {
    scope.report(
      [...at, 'schema'],
      'type_mismatch',
      `a list of schema ${field.schema} needs list<dict>, but ${owner}.${field.name} holds ${describeKind(item)}`,
      'value',
    );
  }
}

function checkRef(owner: string, field: FieldInfo, declared: ReadonlyMap<string, ParamType>, at: YamlPath, scope: Scope): void {
  const from = field.from as string;
  // at the `from:` value when written, else at the field (the default source was derived from its name)
  const fromPath = [...at, 'from'];
  const type = declared.get(from);
  if (!type) {
    scope.report(fromPath, 'bad_ref_source', `reads "${from}", which ${owner} does not declare (set \`from:\` to its id field)`, 'value');
    return;
  }
  const isId = type.kind === 'object_id' || (type.kind === 'list' && type.item.kind === 'object_id');
  if (!isId) {
    scope.report(
      fromPath,
      'bad_ref_source',
      `reads "${from}", a ${describeKind(type)} of ${owner}, not an object_id or list<object_id>`,
      'value',
    );
    return;
  }
  const target = field.schema === undefined ? undefined : scope.all.get(field.schema);
  const pointsAt = path1(owner) ? scope.model.references?.get(from) : undefined;
  if (target?.modelName && pointsAt && target.modelName !== pointsAt) {
    scope.report(
      [...at, 'schema'],
      'ref_model_mismatch',
      `schema ${target.name} shapes ${target.modelName} records, but ${owner}.${from} references ${pointsAt} (use a schema with model_name: ${pointsAt})`,
      'value',
    );
  }
}

/** References are declared on the resource's own top-level fields only. */
function path1(owner: string): boolean {
  return !owner.includes('.');
}

function describeKind(type: ParamType): string {
  switch (type.kind) {
    case 'enum_int':
      return 'enum<int>';
    case 'enum_str':
      return 'enum<str>';
    case 'list':
      return `list<${describeKind(type.item)}>`;
    default:
      return type.kind;
  }
}
