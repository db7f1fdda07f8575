import type { FieldInfo, ResultMeta, ScalarType } from './schema-format.js';

// Compiled response serializers (issue 10 item 2): what a strict result schema says about its shaped answer is
// enough to write the JSON without JSON.stringify walking it. The generated function writes exactly the bytes
// JSON.stringify would; wherever the answer is not what the schema says (a key more or less, another order, a
// value of another type, a prototype with toJSON), it gives up and the caller's JSON.stringify writes it.

/** What the serializer needs of a compiled result schema. */
export interface SerializableSchema {
  readonly name: string;
  readonly strict: boolean;
  readonly fields: readonly FieldInfo[];
}

/** Writes a shaped answer as JSON, byte for byte what `JSON.stringify(answer)` gives. */
export type ResultSerializer = (answer: unknown) => string;

/** Thrown inside a generated serializer when the answer is not what the schema says. */
const MISMATCH = new Error('the answer does not fit its schema');

/** The characters JSON.stringify escapes: controls, quote, backslash, and surrogates (a lone one is escaped). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are exactly what must be found
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

function mismatch(): never {
  throw MISMATCH;
}

/** A plain object as the shaper builds it: no toJSON on its prototype, keys exactly `keys` in that order. */
function hasKeys(o: unknown, keys: readonly string[]): o is Record<string, unknown> {
  if (o === null || typeof o !== 'object') return false;
  const proto = Object.getPrototypeOf(o);
  if (proto !== Object.prototype && proto !== null) return false;
  let n = 0;
  for (const key in o) {
    if (key !== keys[n]) return false;
    n++;
  }
  return n === keys.length;
}

/**
 * Compiles the serializer of an action's answer: its schema inside its envelope. Schemas that let undeclared
 * fields through (strict_mode: false, here or in a schema it embeds or references) get plain JSON.stringify.
 */
export function compileSerializer(
  schema: SerializableSchema,
  envelope: ResultMeta,
  lookup: (name: string) => SerializableSchema | undefined,
): ResultSerializer {
  const writer = new WriterSource(lookup);
  let top: string | undefined;
  try {
    top = writer.envelope(schema, envelope);
  } catch (err) {
    if (err !== NOT_COMPILABLE) throw err;
  }
  if (top === undefined) return stringify;
  const factory = new Function('quote', 'mismatch', 'hasKeys', `${writer.source()}\nreturn ${top};`) as (
    q: typeof quote,
    m: typeof mismatch,
    h: typeof hasKeys,
  ) => ResultSerializer;
  const compiled = factory(quote, mismatch, hasKeys);
  const serializer: ResultSerializer = function serializeAnswer(answer) {
    try {
      return compiled(answer);
    } catch (err) {
      if (err === MISMATCH) return stringify(answer);
      throw err;
    }
  };
  COMPILED.add(serializer);
  return serializer;
}

const COMPILED = new WeakSet<ResultSerializer>();

/** Whether a serializer was compiled from its schema (false: it is JSON.stringify, the schema is not strict). */
export function isCompiledSerializer(serializer: ResultSerializer): boolean {
  return COMPILED.has(serializer);
}

function stringify(answer: unknown): string {
  return JSON.stringify(answer);
}

/** Thrown while generating: this schema cannot have a serializer of its own (it is not strict). */
const NOT_COMPILABLE = new Error('not compilable');

/** Builds the source of one function per object shape; keys are emitted as JSON literals, never as code. */
class WriterSource {
  private readonly functions: string[] = [];
  private readonly bySchema = new Map<string, string>();

  constructor(private readonly lookup: (name: string) => SerializableSchema | undefined) {}

  source(): string {
    return this.functions.join('\n');
  }

  envelope(schema: SerializableSchema, envelope: ResultMeta): string | undefined {
    if (!schema.strict) return undefined;
    switch (envelope) {
      case 'object_result':
        return this.schemaFunction(schema);
      case 'ok_result':
        // `{ok: true, ...shaped}`: a declared `ok` would take the first place with its own value
        if (schema.fields.some((f) => f.name === 'ok')) return undefined;
        return this.objectFunction([
          { name: 'ok', write: (v) => `(${v} === true ? 'true' : mismatch())` },
          ...this.fieldsOf(schema.fields),
        ]);
      case 'result_set': {
        const row = this.schemaFunction(schema);
        return this.objectFunction([{ name: 'data', write: (v) => this.listOf(v, row) }]);
      }
      case 'result_set_with_meta': {
        const row = this.schemaFunction(schema);
        return this.objectFunction([
          // _meta is the handler's own small object: JSON.stringify writes it as it would inside the whole
          { name: '_meta', write: (v) => `(${v} !== null && typeof ${v} === 'object' ? JSON.stringify(${v}) : mismatch())` },
          { name: 'data', write: (v) => this.listOf(v, row) },
        ]);
      }
    }
  }

  /** The function writing a record of a named schema (shared by every field that embeds or references it). */
  private schemaFunction(schema: SerializableSchema): string {
    const known = this.bySchema.get(schema.name);
    if (known) return known;
    if (!schema.strict) throw NOT_COMPILABLE;
    const name = `w${this.functions.length}`;
    this.bySchema.set(schema.name, name);
    this.functions.push(''); // its place, filled once its fields (which may refer back to it) are written
    const index = this.functions.length - 1;
    this.functions[index] = this.objectSource(name, this.fieldsOf(schema.fields));
    return name;
  }

  private objectFunction(fields: FieldWriter[]): string {
    const name = `w${this.functions.length}`;
    this.functions.push('');
    this.functions[this.functions.length - 1] = this.objectSource(name, fields);
    return name;
  }

  private objectSource(name: string, fields: FieldWriter[]): string {
    const keys = JSON.stringify(fields.map((f) => f.name));
    const lines = fields.map((field, i) => {
      const prefix = JSON.stringify(`${i === 0 ? '' : ','}${JSON.stringify(field.name)}:`);
      return `  v = o[${JSON.stringify(field.name)}];\n  s += ${prefix} + ${field.write('v')};`;
    });
    return `const ${name}Keys = ${keys};\nfunction ${name}(o) {\n  if (!hasKeys(o, ${name}Keys)) mismatch();\n  let v;\n  let s = '{';\n${lines.join('\n')}\n  return s + '}';\n}`;
  }

  private fieldsOf(fields: readonly FieldInfo[]): FieldWriter[] {
    return fields.map((field) => ({ name: field.name, write: this.fieldWriter(field) }));
  }

  private fieldWriter(field: FieldInfo): (v: string) => string {
    switch (field.type) {
      case 'object_ref': {
        // the shaper gives the referenced record, null (dangling or absent), or a list of those for a list of ids
        const target = this.schemaFunction(this.target(field.schema));
        return (v) => `(${v} === null ? 'null' : Array.isArray(${v}) ? ${this.listOf(v, target, true)} : ${target}(${v}))`;
      }
      case 'list': {
        const item = field.items ? this.scalarFunction(field.items) : this.schemaFunction(this.target(field.schema));
        return (v) => `(${v} === null ? 'null' : ${this.listOf(v, item)})`;
      }
      case 'object': {
        const nested = this.objectFunction(this.fieldsOf(field.fields ?? []));
        return (v) => `(${v} === null ? 'null' : ${nested}(${v}))`;
      }
      default:
        return scalarWriter(field.type);
    }
  }

  private scalarFunction(type: ScalarType): string {
    const known = this.bySchema.get(`#${type}`);
    if (known) return known;
    const name = `w${this.functions.length}`;
    this.bySchema.set(`#${type}`, name);
    this.functions.push(`function ${name}(v) {\n  return ${scalarWriter(type)('v')};\n}`);
    return name;
  }

  /** A list written item by item; `orNull`: an item may be null (a dangling ref in a list of ids). */
  private listOf(v: string, item: string, orNull = false): string {
    const fn = `${item}List${orNull ? 'N' : ''}`;
    if (!this.bySchema.has(fn)) {
      this.bySchema.set(fn, fn);
      const each = orNull ? `x === null ? 'null' : ${item}(x)` : `${item}(x)`;
      this.functions.push(
        `function ${fn}(a) {\n  if (!Array.isArray(a)) mismatch();\n  let s = '[';\n  for (let i = 0; i < a.length; i++) {\n` +
          `    const x = a[i];\n    if (x === undefined) mismatch();\n    s += (i === 0 ? '' : ',') + (${each});\n  }\n  return s + ']';\n}`,
      );
    }
    return `${fn}(${v})`;
  }

  private target(name: string | undefined): SerializableSchema {
    const schema = this.lookup(name as string);
    if (!schema) throw new Error(`unchecked schema declaration: "${name}" is not compiled`);
    return schema;
  }
}

interface FieldWriter {
  name: string;
  /** The expression writing the value held in the variable `v`. */
  write: (v: string) => string;
}

/** The shaper's output for a scalar: a string (ids, dates), a finite number, a boolean, or null. */
function scalarWriter(type: Exclude<FieldInfo['type'], 'list' | 'object' | 'object_ref'>): (v: string) => string {
  switch (type) {
    case 'object_id':
    case 'string':
    case 'datetime':
    case 'date':
      return (v) => `(typeof ${v} === 'string' ? quote(${v}) : ${v} === null ? 'null' : mismatch())`;
    case 'int':
    case 'float':
      // '' + n is JSON.stringify's number (-0 → "0", 1e21 → "1e+21"); NaN and ±Infinity are null there
      return (v) => `(typeof ${v} === 'number' ? (Number.isFinite(${v}) ? '' + ${v} : 'null') : ${v} === null ? 'null' : mismatch())`;
    case 'bool':
      return (v) => `(${v} === true ? 'true' : ${v} === false ? 'false' : ${v} === null ? 'null' : mismatch())`;
  }
}
