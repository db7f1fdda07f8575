import fc from 'fast-check';
import { Long, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CompiledAction, shapeResult } from '../../src/core/dispatch.js';
import type { FieldInfo, ResultSchema } from '../../src/core/result-schemas.js';
import { compileSerializer, isCompiledSerializer } from '../../src/core/result-serializer.js';
import { startTestService, type TestService } from '../helpers/service.js';

// The compiled serializers write what JSON.stringify writes, byte for byte: for every action of the service, on
// answers shaped from stored records (with their refs loaded from the database) and on random answers that fit
// their schema or not (a value of another type, a key more or less: there the serializer falls back).

let t: TestService;
let actions: CompiledAction[];
beforeAll(async () => {
  t = await startTestService();
  actions = t.service.actions.list();
});
afterAll(async () => {
  await t.close();
});

const schemaOf = (name: string) => t.service.actions.schemas.get(name);
const collectionOf = (model: string) => t.service.actions.resources.find((r) => r.name === model)?.model.collectionName as string;

/** Strings JSON.stringify escapes or that are easy to get wrong. */
const TRICKY = ['张三', 'a"b\\c', 'line\nbreak\u0000', '\u2028\u2029', 'lone \ud800 high', 'lone \udc00 low', '😀 pair', '\u007f\u001f'];

/** A stored value of a scalar type (as the driver gives it), from the field's example where it has one. */
function storedScalar(type: string, example: unknown, i: number): unknown {
  switch (type) {
    case 'object_id':
      return new ObjectId();
    case 'datetime':
    case 'date':
      return new Date(Date.UTC(2024, 4, 1, 8, 0, i));
    case 'int':
      return i % 2 === 0 ? Long.fromNumber(typeof example === 'number' ? Math.trunc(example) : i) : -i;
    case 'float':
      return i % 2 === 0 ? -0 : typeof example === 'number' ? example : 1e21;
    case 'bool':
      return i % 2 === 0;
    default:
      // unique, for the unique indexes of the collections refs point into
      return `${TRICKY[i % TRICKY.length]} #${++stored}`;
  }
}
let stored = 0;

/** A record as stored for `fields`; each object_ref gets a target record inserted into its collection. */
async function storedRecord(fields: readonly FieldInfo[], i: number, depth = 0): Promise<Record<string, unknown>> {
  const record: Record<string, unknown> = { _id: new ObjectId(), undeclared: TRICKY[i % TRICKY.length] };
  for (const [n, field] of fields.entries()) {
    const k = i + n;
    if (field.type === 'object_ref') {
      const target = schemaOf(field.schema as string) as ResultSchema;
      if (depth > 2 || k % 4 === 3) {
        record[field.from as string] = k % 8 === 3 ? new ObjectId() : null; // dangling, or no ref
        continue;
      }
      const doc = await storedRecord(target.fields, k + 1, depth + 1);
      await insertUnique(collectionOf(target.modelName as string), doc);
      record[field.from as string] = doc._id;
    } else if (field.type === 'list') {
      const target = field.schema ? (schemaOf(field.schema) as ResultSchema) : undefined;
      record[field.name] = target
        ? depth > 2
          ? []
          : [await storedRecord(target.fields, k + 1, depth + 1), await storedRecord(target.fields, k + 2, depth + 1)]
        : [storedScalar(field.items as string, undefined, k), null, storedScalar(field.items as string, undefined, k + 1)];
    } else if (field.type === 'object') {
      record[field.name] = k % 5 === 4 ? null : await storedRecord(field.fields ?? [], k + 1, depth + 1);
    } else if (k % 6 !== 5) {
      record[field.name] = storedScalar(field.type, field.example, k); // every sixth left out: emitted as null
    }
  }
  return record;
}

/** Inserts `doc`, filling what a unique index of the collection needs and the record lacks (a null is a value there). */
async function insertUnique(collection: string, doc: Record<string, unknown>): Promise<void> {
  for (const index of await t.db.collection(collection).indexes()) {
    if (!index.unique) continue;
    for (const key of Object.keys(index.key)) if (doc[key] === undefined || doc[key] === null) doc[key] = `u${++stored}`;
  }
  await t.db.collection(collection).insertOne(doc);
}

/** What a handler of this envelope returns around its records. */
function handlerResult(action: CompiledAction, records: Record<string, unknown>[]): unknown {
  if (action.envelope === 'result_set_with_meta') {
    return { _meta: { has_more: true, page: 2, page_size: records.length, result_count: 1e21 }, data: records };
  }
  if (action.envelope === 'result_set') return { data: records };
  return records[0];
}

describe('every action: the compiled serializer writes the bytes of JSON.stringify', () => {
  it('gives the same string for every action on answers shaped from stored records with their refs', async () => {
    const compared: string[] = [];
    for (const action of actions) {
      const records = [await storedRecord(action.schema.fields, 0), await storedRecord(action.schema.fields, 3)];
      const answer = await shapeResult(action.schema, action.envelope, handlerResult(action, records), t.db);
      expect(action.serialize(answer), `${action.resource}/${action.name}`).toBe(JSON.stringify(answer));
      compared.push(`${action.resource}/${action.name}`);
    }
    expect(compared).toHaveLength(actions.length);
    expect(compared).toEqual(expect.arrayContaining(['account/get', 'account/find_detail', 'merchandise/find', 'wallet/get']));
  });

  it('compiles a serializer exactly for the actions whose schemas are strict (the others fall back)', () => {
    const strictAll = (schema: ResultSchema | undefined, seen = new Set<string>()): boolean => {
      if (!schema || seen.has(schema.name)) return true;
      seen.add(schema.name);
      if (!schema.strict) return false;
      const nested = (fields: readonly FieldInfo[]): boolean =>
        fields.every((f) => (f.type === 'object' ? nested(f.fields ?? []) : !f.schema || strictAll(schemaOf(f.schema), seen)));
      return nested(schema.fields);
    };
    for (const action of actions) {
      const okClash = action.envelope === 'ok_result' && action.schema.fields.some((f) => f.name === 'ok');
      expect(isCompiledSerializer(action.serialize), `${action.resource}/${action.name}`).toBe(strictAll(action.schema) && !okClash);
    }
    expect(isCompiledSerializer((t.service.actions.lookup('account', 'get') as CompiledAction).serialize)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// random answers, fitting or not

const trickyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom(...TRICKY),
  fc.string({ unit: fc.constantFrom('a', '"', '\\', '\n', '\u2028', '\ud800', '\udfff', '\u0000', 'é'), maxLength: 8 }),
);
const anyNumber = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(-0, 1e21, -1e-7, Number.NaN, Infinity, -Infinity, 2 ** 53 + 2));
/** A value a schema would not give: the serializer must hand it to JSON.stringify. */
const wrongValue = fc.oneof(
  fc.constantFrom(undefined, 0, '', true, [], {}),
  fc.date({ noInvalidDate: false }),
  fc.constant(null).map(() => new ObjectId()),
  fc.constant(null).map(() => Long.fromNumber(7)),
);

function scalarAnswer(type: string): fc.Arbitrary<unknown> {
  const fitting = type === 'int' || type === 'float' ? anyNumber : type === 'bool' ? fc.boolean() : trickyString.map((s) => s as unknown);
  return fc.oneof({ weight: 8, arbitrary: fitting }, { weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: wrongValue });
}

function objectAnswer(fields: readonly FieldInfo[], depth: number): fc.Arbitrary<unknown> {
  const values = fc.tuple(...fields.map((f) => fieldAnswer(f, depth)));
  const fitting = values.map((vs) => Object.fromEntries(fields.map((f, i) => [f.name, vs[i]])));
  const misfit = fc.tuple(values, fc.constantFrom('extra', 'missing', 'reversed', 'date')).map(([vs, how]) => {
    const entries: Array<[string, unknown]> = fields.map((f, i) => [f.name, vs[i]]);
    if (how === 'extra') entries.push(['extra', 1]);
    if (how === 'missing') entries.pop();
    if (how === 'reversed') entries.reverse();
    return how === 'date' ? new Date(0) : Object.fromEntries(entries);
  });
  return fc.oneof({ weight: 9, arbitrary: fitting }, { weight: 1, arbitrary: misfit });
}

function fieldAnswer(field: FieldInfo, depth: number): fc.Arbitrary<unknown> {
  const deep = depth > 2;
  switch (field.type) {
    case 'object_ref': {
      const target = schemaOf(field.schema as string) as ResultSchema;
      if (deep) return fc.constant(null);
      const one = objectAnswer(target.fields, depth + 1);
      return fc.oneof(fc.constant(null), one, fc.array(fc.oneof(one, fc.constant(null)), { maxLength: 3 }));
    }
    case 'list': {
      const item = field.items
        ? scalarAnswer(field.items)
        : deep
          ? fc.constant({})
          : objectAnswer(schemaOf(field.schema as string)!.fields, depth + 1);
      return fc.oneof(fc.constant(null), fc.array(item, { maxLength: 3 }), fc.sparseArray(item, { maxLength: 3 }));
    }
    case 'object':
      return deep ? fc.constant(null) : fc.oneof(fc.constant(null), objectAnswer(field.fields ?? [], depth + 1));
    default:
      return scalarAnswer(field.type);
  }
}

function envelopeAnswer(action: CompiledAction): fc.Arbitrary<unknown> {
  const row = objectAnswer(action.schema.fields, 0);
  const meta = fc.record({ has_more: fc.boolean(), page: anyNumber, page_size: fc.integer(), result_count: anyNumber });
  switch (action.envelope) {
    case 'result_set_with_meta':
      return fc.record({ _meta: fc.oneof(meta, fc.constant(null)), data: fc.array(row, { maxLength: 4 }) });
    case 'result_set':
      return fc.record({ data: fc.array(row, { maxLength: 4 }) });
    case 'ok_result':
      return row.map((r) => (r !== null && typeof r === 'object' && !(r instanceof Date) ? { ok: true, ...r } : r));
    default:
      return row;
  }
}

describe('random answers (fast-check): the same bytes as JSON.stringify', () => {
  it('writes every action’s random answers like JSON.stringify, falling back where they do not fit', () => {
    for (const action of actions) {
      fc.assert(
        fc.property(envelopeAnswer(action), (answer) => {
          expect(action.serialize(answer)).toBe(JSON.stringify(answer));
        }),
        { numRuns: 60 },
      );
    }
  });

  it('writes random records shaped by account_detail or merchandise (unicode, -0, 1e21, Longs, Dates) like JSON.stringify', async () => {
    for (const [resource, name] of [
      ['account', 'get'],
      ['merchandise', 'find'],
    ] as const) {
      const action = t.service.actions.lookup(resource, name) as CompiledAction;
      const record = fc.record(
        {
          _id: fc.constant(null).map(() => new ObjectId()),
          name: trickyString,
          display_name: trickyString,
          default_lat: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(-0, 1e21)),
          default_address_string: fc.oneof(trickyString, fc.constant(null)),
          created_at: fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(Date.UTC(9999, 0)) }),
        },
        { requiredKeys: ['_id'] },
      );
      await fc.assert(
        fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 5 }), async (records) => {
          const answer = await shapeResult(action.schema, action.envelope, handlerResult(action, records), t.db);
          expect(action.serialize(answer)).toBe(JSON.stringify(answer));
        }),
        { numRuns: 40 },
      );
    }
  });
});

describe('serializers of schemas the project does not have', () => {
  const lookupOf = (schemas: ResultSchema[]) => (name: string) => schemas.find((s) => s.name === name);
  const node: ResultSchema = {
    name: 'node',
    strict: true,
    fields: [
      { name: 'name', type: 'string' },
      { name: 'children', type: 'list', schema: 'node' },
    ],
  } as unknown as ResultSchema;

  it('writes a schema that lists itself (a tree) like JSON.stringify', () => {
    const serialize = compileSerializer(node, 'object_result', lookupOf([node]));
    const tree = {
      name: 'root',
      children: [
        { name: 'a\ud800', children: [] },
        { name: 'b', children: [{ name: 'c', children: null }] },
      ],
    };
    expect(isCompiledSerializer(serialize)).toBe(true);
    expect(serialize(tree)).toBe(JSON.stringify(tree));
  });

  it('falls back to JSON.stringify for a schema that lets undeclared fields through, also when only a ref target does', () => {
    const loose = { name: 'loose', strict: false, fields: [{ name: '_id', type: 'object_id' }] } as unknown as ResultSchema;
    const holder = {
      name: 'holder',
      strict: true,
      fields: [{ name: 'loose_info', type: 'object_ref', schema: 'loose', from: 'loose_id' }],
    } as unknown as ResultSchema;
    expect(isCompiledSerializer(compileSerializer(loose, 'object_result', lookupOf([loose])))).toBe(false);
    const serialize = compileSerializer(holder, 'object_result', lookupOf([loose, holder]));
    expect(isCompiledSerializer(serialize)).toBe(false);
    const answer = { loose_info: { _id: 'x', more: [1, { deep: -0 }] } };
    expect(serialize(answer)).toBe(JSON.stringify(answer));
  });
});
