import type { IndexDescription, IndexDirection, ObjectId } from 'mongodb';
import type { ActionDefinition, HandlerContext } from './dispatch.js';
import type { FilterOperator } from './filters.js';
import type { WholeMessage } from './params.js';
import type { FindOptions, MarkOptions, ResourceSpec, ResultOption, SelectOptions, StandardActions } from './resource.js';
import type { ParamsDeclaration } from './sep12.js';

// The TypeScript types of SEP-12 declarations, read from the declaration strings by template-literal types (as tRPC's
// `.input(parser)` types `input`): `'M object_id'` is an ObjectId, `'O int(0,)'` a `number | undefined`,
// `'M enum<int>(100,200)'` a `100 | 200`. The runtime reads the same strings (sep12.ts, param-convert.ts); these
// types say what its conversion yields, so a handler needs no casts and a renamed param fails to compile.
// A declaration built at run time (a plain `string`) gives `unknown`: nothing is claimed that the text does not say.

type Space = ' ' | '\t' | '\n';
type TrimStart<S extends string> = S extends `${Space}${infer R}` ? TrimStart<R> : S;
type TrimEnd<S extends string> = S extends `${infer R}${Space}` ? TrimEnd<R> : S;
type Trim<S extends string> = TrimEnd<TrimStart<S>>;
/** The runtime squeezes every space out of a type before parsing it (all but enum values). */
type Squeeze<S extends string> = S extends `${infer A}${Space}${infer B}` ? Squeeze<`${A}${B}`> : S;

type Split<S extends string> = S extends `${infer A},${infer B}` ? [A, ...Split<B>] : [S];
type Unquote<S extends string> = S extends `'${infer V}'` | `"${infer V}"` ? V : S;
type EnumStrValues<V extends string> = string extends V ? string : Unquote<Trim<Split<V>[number]>>;
type AsNumber<S extends string> = Trim<S> extends `${infer N extends number}` ? N : number;
type EnumIntValues<V extends string> = string extends V ? number : AsNumber<Split<V>[number]>;

/** `list<T>(…)` → [T, the size range]: the item type runs to the last `>` (items may be `enum<str>(…)`). */
type SplitAtLastGt<S extends string, Head extends string = ''> = S extends `${infer A}>${infer B}`
  ? B extends `${string}>${string}`
    ? SplitAtLastGt<B, `${Head}${A}>`>
    : [`${Head}${A}`, B]
  : never;

/** The base name of a scalar type: `string(1,64)` → `string`. */
type BaseOf<T extends string> = T extends `${infer B}(${string}` ? B : T;

type DictOf<F> = F extends ParamsDeclaration ? ParamsOf<F> : Record<string, unknown>;

/**
 * The converted value of a SEP-12 type (without presence): ObjectId for object_id, Date for datetime and date, the
 * parsed JSON for json<…>, the params of `fields` for a dict. `Raw` keeps the enum values' inner spaces.
 */
export type ValueOfType<Raw extends string, Fields = undefined, T extends string = Squeeze<Raw>> = string extends T
  ? unknown
  : T extends `list<${infer Rest}`
    ? ValueOfType<SplitAtLastGt<Rest>[0], Fields>[]
    : T extends 'json<list>'
      ? unknown[]
      : T extends 'json<map>'
        ? Record<string, unknown>
        : T extends `enum<int>(${string}`
          ? EnumIntValues<EnumText<Raw>>
          : T extends `enum<str>(${string}`
            ? EnumStrValues<EnumText<Raw>>
            : ScalarOf<BaseOf<T>, Fields>;

type EnumText<Raw extends string> = Trim<Raw> extends `${string}(${infer V})` ? V : string;

type ScalarOf<B extends string, Fields> = B extends 'string' | 'str' | 'time'
  ? string
  : B extends 'int' | 'float'
    ? number
    : B extends 'bool'
      ? boolean
      : B extends 'datetime' | 'date'
        ? Date
        : B extends 'object_id'
          ? ObjectId
          : B extends 'dict'
            ? DictOf<Fields>
            : unknown;

type TextOf<S> = S extends string ? S : S extends { type: infer T extends string } ? T : string;
type FieldsOf<S> = S extends { fields: infer F } ? F : undefined;
type PresenceOf<S> = Trim<TextOf<S>> extends `${infer P}${Space}${string}` ? P : string;
type TypeTextOf<S> = Trim<TextOf<S>> extends `${string}${Space}${infer T}` ? Trim<T> : string;
type IsRequired<S> = PresenceOf<S> extends 'M' ? true : false;
type NullOf<S> = S extends { nullable: true } ? null : never;

/** The converted value of one declared param (`'O int'` → `number | undefined` once optional keys are applied). */
export type ParamValue<S> = ValueOfType<TypeTextOf<S>, FieldsOf<S>> | NullOf<S>;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The params a handler gets for a declaration: M params required, O and C ones optional. */
export type ParamsOf<D> = Simplify<
  { -readonly [K in keyof D as IsRequired<D[K]> extends true ? K : never]: ParamValue<D[K]> } & {
    -readonly [K in keyof D as IsRequired<D[K]> extends true ? never : K]?: ParamValue<D[K]>;
  }
>;

/** The names of the params of a declaration. */
export type ParamName<D> = keyof D & string;

/** A rule over C params (params.ts `ParamRule`) naming only declared params. */
export type RuleOf<D> = { exactlyOne: ParamName<D>[] } | { atLeastOne: ParamName<D>[]; none?: WholeMessage };

/** An action whose handler gets the params its declaration states. */
export type TypedActionDefinition<D extends ParamsDeclaration> = Omit<ActionDefinition, 'params' | 'handler' | 'rules'> & {
  params: D;
  rules?: RuleOf<D>[];
  handler: (params: ParamsOf<D>, ctx: HandlerContext) => Promise<unknown>;
};

/**
 * Declares an action whose handler is typed by its params (`defineAction({params: {_id: 'M object_id'}, handler:
 * async ({_id}) => …})` gives `_id: ObjectId`); the runtime object is the definition itself.
 */
export function defineAction<const D extends ParamsDeclaration>(definition: TypedActionDefinition<D>): ActionDefinition {
  // the one cast: the validator yields what ParamsOf<D> states (param-convert.ts), which the table cannot know per action
  return definition as unknown as ActionDefinition;
}

// ---- resources: the names in a spec's options are typed against its declared fields ----

/** Fields every record has (the standard reads may filter, sort and look up by them). */
type SystemField = '_id' | 'created_at' | 'updated_at';
/** A field name, or any name when the fields are only known at run time. */
type NameOf<D> = string extends keyof D ? string : keyof D & string;

/** An index over declared fields (or paths into them, `biography.id`), system fields and `deleted_at`. */
export type IndexOf<Fields> = string extends keyof Fields
  ? IndexDescription
  : Omit<IndexDescription, 'key'> & {
      key: { [K in NameOf<Fields> | SystemField | 'deleted_at' | `${NameOf<Fields>}.${string}`]?: IndexDirection };
    };

/** Which operators each filterable field accepts, over the fields a find may read. */
export type FilterDeclarationOf<Readable extends string> = { readonly [K in Readable]?: readonly FilterOperator[] };

type FindOptionsOf<R extends string> = Omit<FindOptions, 'filters' | 'sortable' | 'defaultSort'> & {
  filters?: FilterDeclarationOf<R>;
  sortable?: readonly R[];
  defaultSort?: { [K in R]?: 1 | -1 };
};

/** A standard action taking only `_id`, its params stated for `defineAction({...std.mark(...), handler})`. */
type ById = Omit<ActionDefinition, 'rules'> & { params: { _id: 'M object_id' } };

/**
 * The standard actions of a resource whose options name its fields: `Field` the declared fields (create, mark),
 * `Readable` those and the stored and system fields (filters, sorting, find_one keys).
 */
export interface TypedStandardActions<Field extends string, Readable extends string>
  extends Omit<StandardActions, 'get' | 'find' | 'findOne' | 'select' | 'create' | 'mark' | 'batchMark'> {
  /** Its params stated, so `defineAction({...std.get(...), handler})` gets a typed `_id`. */
  get(options: ResultOption & { result: string }): ById;
  find(options: FindOptionsOf<Readable>): ActionDefinition;
  findOne(options: ResultOption & { result: string; keys: readonly Readable[] }): ActionDefinition;
  select(options: Omit<SelectOptions, 'filters'> & { filters?: FilterDeclarationOf<Readable> }): ActionDefinition;
  create(options?: ResultOption & { fields?: readonly Field[] }): ActionDefinition;
  /** Its params stated, like get's. */
  mark(options: MarkOptions & { field?: Field }): ById;
  batchMark(options: MarkOptions & { field?: Field }): ActionDefinition;
}

/** A resource spec whose `filters`, `sortable`, `references`, `immutable`, `defaults` and index keys name declared fields. */
export type TypedResourceSpec<F extends ParamsDeclaration, S extends ParamsDeclaration> = Omit<
  ResourceSpec,
  'fields' | 'stored' | 'defaults' | 'immutable' | 'updatableTransitionFields' | 'references' | 'indexes' | 'actions'
> & {
  fields: F;
  stored?: S;
  defaults?: { [K in NameOf<F>]?: unknown };
  immutable?: readonly NameOf<F>[];
  updatableTransitionFields?: readonly NameOf<F>[];
  references?: { [K in NameOf<F>]?: string };
  indexes?: IndexOf<F & S>[];
  actions: (std: StandardActionsOf<F, S>) => Record<string, ActionDefinition>;
};

/** The standard actions of a resource with these fields (and stored fields), for builders outside its spec. */
export type StandardActionsOf<F, S = Record<never, never>> = TypedStandardActions<NameOf<F>, ReadableOf<F, S>>;

/** The fields a find of a resource with these fields may filter and sort by. */
export type ReadableOf<F, S = Record<never, never>> = NameOf<F> | NameOf<S> | SystemField;

// ---- declarations derived from others, with their types ----

/** The names of a declaration, typed (for rules over them). */
export function paramNames<D extends ParamsDeclaration>(declaration: D): ParamName<D>[] {
  return Object.keys(declaration) as ParamName<D>[];
}

/** The declaration without the params `names` (key order kept). */
export function omitParams<D extends ParamsDeclaration, K extends keyof D & string>(declaration: D, names: readonly K[]): Omit<D, K> {
  const kept: ParamsDeclaration = {};
  for (const [name, spec] of Object.entries(declaration)) if (!names.includes(name as K)) kept[name] = spec;
  return kept as Omit<D, K>;
}

/** A param made optional (`O`); it was optional already: also nullable (null removes it). */
type OptionalParam<S> = { type: `O ${TypeTextOf<S>}`; nullable: PresenceOf<S> extends 'O' ? true : false } & (S extends {
  fields: infer F;
}
  ? { fields: F }
  : unknown);

/** What `optionalParams` makes of a declaration. */
export type OptionalParamsOf<D> = { -readonly [K in keyof D]: OptionalParam<D[K]> };

/** Every param optional, the optional ones also nullable: the params of an update that changes only what is given. */
export function optionalParams<D extends ParamsDeclaration>(declaration: D): OptionalParamsOf<D> {
  const params: ParamsDeclaration = {};
  for (const [name, spec] of Object.entries(declaration)) {
    const type = typeof spec === 'string' ? spec : spec.type;
    params[name] = { ...(typeof spec === 'string' ? {} : spec), type: type.replace(/^[MO] /, 'O '), nullable: type.startsWith('O ') };
  }
  return params as OptionalParamsOf<D>;
}
