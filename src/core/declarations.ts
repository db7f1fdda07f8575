import type { Document, IndexDescription } from 'mongodb';
import { DeclarationProblems, type DeclarationCode, type DeclarationProblem } from './declaration-error.js';
import { parseParams, type ParamType, type ParamsDeclaration } from './params.js';
import { compileSchemas, type SchemaRegistry } from './result-schemas.js';
import { checkSchemas } from './schema-check.js';
import { readSchemaFiles } from './schema-files.js';
import type { ModelCatalog, ModelInfo } from './schema-model-check.js';

// The startup check of everything a project declares, in one pass that reports every mistake (issue #9 item 5):
// resource specs (fields, references, defaults, indexes), the actions the standard builders made (filters, sortable,
// keys), and the YAML result schemas against the format and against the models. `npm run cli -- schemas check`
// runs the same code without a service or a database.

/** Fields every stored record has, whatever the resource declares. */
export const SYSTEM_FIELDS: Readonly<Record<string, string>> = {
  _id: 'object_id',
  created_at: 'datetime',
  updated_at: 'datetime',
  deleted_at: 'datetime',
};

/** What the schema checks need of a resource (a subset of ResourceDefinition, so tools can build one without a model). */
export interface DeclaredResource {
  name: string;
  model: { collectionName: string; references: ReadonlyArray<{ field: string; resource: string }> };
  /** The stored fields in SEP-12 notation; undefined: not declared, the YAML is not checked against them. */
  fields?: ParamsDeclaration;
  /** Fields `derive` adds. */
  derived?: readonly string[];
  /** Mistakes found while the resource module was built (defineResource). */
  problems?: readonly DeclarationProblem[];
}

/** The parsed stored fields of a resource: system fields plus its own, each with its type (broken ones left out). */
export function storedFieldTypes(fields: ParamsDeclaration): Map<string, ParamType> {
  const types = new Map<string, ParamType>();
  for (const [name, type] of Object.entries(SYSTEM_FIELDS)) types.set(name, parseParams({ [name]: `O ${type}` })[0]?.type as ParamType);
  for (const [name, spec] of Object.entries(fields)) {
    try {
      types.set(name, (parseParams({ [name]: spec })[0] as { type: ParamType }).type);
    } catch {
      // reported by checkResourceSpec
    }
  }
  return types;
}

/** The models as the schema checks see them. */
export function modelCatalog(resources: readonly DeclaredResource[]): ModelCatalog {
  const catalog = new Map<string, ModelInfo>();
  for (const resource of resources) {
    const info: ModelInfo = {
      collection: resource.model.collectionName,
      references: new Map(resource.model.references.map((r) => [r.field, r.resource])),
      derived: new Set(resource.derived ?? []),
    };
    if (resource.fields) info.fields = storedFieldTypes(resource.fields);
    catalog.set(resource.name, info);
  }
  return catalog;
}

/** What a resource spec declares that the checks read (the shape of defineResource's options). */
export interface SpecToCheck {
  name: string;
  fields: ParamsDeclaration;
  stored?: ParamsDeclaration;
  defaults?: Record<string, unknown>;
  immutable?: readonly string[];
  references?: Record<string, string>;
  indexes?: readonly IndexDescription[];
  owner?: { field: string };
}

/** Every mistake of a resource spec: bad SEP-12 types, and names in references/defaults/immutable/indexes that are not fields. */
export function checkResourceSpec(spec: SpecToCheck): DeclarationProblem[] {
  const where = `resource ${spec.name}`;
  const problems: DeclarationProblem[] = [];
  const add = (code: DeclarationCode, message: string) => problems.push({ code, where, message });
  const all: ParamsDeclaration = { ...spec.fields, ...spec.stored };
  for (const [name, declaration] of Object.entries(all)) {
    try {
      parseParams({ [name]: declaration });
    } catch (err) {
      add('bad_param', `field ${(err as Error).message.replace(/^param /, '')}`);
    }
  }
  for (const [option, names] of [
    ['immutable', spec.immutable ?? []],
    ['references', Object.keys(spec.references ?? {})],
    ['defaults', Object.keys(spec.defaults ?? {})],
  ] as const) {
    for (const name of names) if (!(name in spec.fields)) add('bad_resource', `${option}: ${name} is not a declared field`);
  }
  for (const index of spec.indexes ?? []) {
    for (const key of Object.keys(index.key as Document)) {
      const field = key.split('.')[0] as string;
      if (!(field in all) && !(field in SYSTEM_FIELDS)) {
        add(
          'bad_index',
          `index ${index.name ?? JSON.stringify(index.key)}: ${key} is not a declared field (declare it in fields, or in stored when other code writes it)`,
        );
      }
    }
    // one user's value must not block another user's, nor a 409 tell them that someone else's record holds it
    const keys = Object.keys(index.key as Document);
    if (spec.owner && index.unique === true && keys[0] !== spec.owner.field) {
      add(
        'bad_index',
        `index ${index.name ?? JSON.stringify(index.key)}: a unique index of an owned resource must start with its owner field ${spec.owner.field} (unique per user), e.g. { ${spec.owner.field}: 1, ${keys.join(': 1, ')}: 1 }`,
      );
    }
  }
  return problems;
}

/** The result schemas of `dir` checked against the resources: the compiled ones, every defined name, every problem. */
export interface CheckedDeclarations {
  schemas: SchemaRegistry;
  /** Schema names defined in the files, broken ones included. */
  defined: ReadonlySet<string>;
  problems: DeclarationProblem[];
}

/** Checks resources (as built) and the YAML schemas of `dir`; nothing is thrown, every mistake is in `problems`. */
export function checkDeclarations(resources: readonly DeclaredResource[], dir: string): CheckedDeclarations {
  const problems = new DeclarationProblems();
  for (const resource of resources) for (const p of resource.problems ?? []) problems.add(p);
  const files = readSchemaFiles(dir);
  for (const p of files.problems) problems.add(p);
  const models = modelCatalog(resources);
  const checked = checkSchemas(files.sources, { models });
  for (const p of checked.problems) problems.add(p);
  const collections = new Map([...models].map(([name, info]) => [name, info.collection]));
  return { schemas: compileSchemas(checked.declarations, collections), defined: checked.defined, problems: byPosition(problems.list) };
}

/** Declarations in code first (in the order found), then file problems by file, line and column. */
function byPosition(problems: DeclarationProblem[]): DeclarationProblem[] {
  const key = (p: DeclarationProblem) => [p.file ?? '', p.line ?? 0, p.column ?? 0] as const;
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => {
      const [fa, la, ca] = key(a.p);
      const [fb, lb, cb] = key(b.p);
      return fa.localeCompare(fb) || la - lb || ca - cb || a.i - b.i;
    })
    .map(({ p }) => p);
}

const BROKEN = Symbol('broken action declaration');

/**
 * Wraps the standard action builders so a mistake in one (a filter on an undeclared field) becomes a problem
 * naming `resource/action` instead of a stack trace, and the other actions are still checked.
 */
export function recordActionMistakes<T extends object>(builders: T): T {
  return new Proxy(builders, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        try {
          return value.apply(target, args);
        } catch (err) {
          return { [BROKEN]: err, params: {}, result: '', handler: () => Promise.reject(err) };
        }
      };
    },
  });
}

/** Takes the broken actions out of `actions`, adding a problem for each (`account/find: filter nme: …`). */
export function collectActionMistakes<A extends object>(
  resource: string,
  actions: Record<string, A>,
  problems: DeclarationProblems,
): Record<string, A> {
  const kept: Record<string, A> = {};
  for (const [name, action] of Object.entries(actions)) {
    if (BROKEN in action) problems.addError(action[BROKEN], `${resource}/${name}`, 'bad_action');
    else kept[name] = action;
  }
  return kept;
}

/** The fields `derive` adds, found by deriving an empty record (a derive that needs more is not checked). */
export function derivedFields(derive: ((record: Document) => Document) | undefined): string[] {
  if (!derive) return [];
  try {
    return Object.keys(derive({}));
  } catch {
    return [];
  }
}
