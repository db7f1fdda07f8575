import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DeclarationError } from '../../src/core/declaration-error.js';
import { checkDeclarations } from '../../src/core/declarations.js';
import { buildActionTable } from '../../src/core/dispatch.js';
import { defineResource } from '../../src/core/resource.js';
import { checkSchemas } from '../../src/core/schema-check.js';
import { readSchemaText } from '../../src/core/schema-files.js';
import { createResources } from '../../src/resources/index.js';
import { SCHEMA_DIR } from '../../src/service.js';

// The declaration checks need no database: they run at startup before anything is served, and in `schemas check`.
const root = path.resolve(import.meta.dirname, '..', '..');
const BAD_DIR = path.join(root, 'test', 'fixtures', 'bad-schemas');
const resources = createResources();

/** What the fixture folder's mistakes must give: one line each, at the line and column where each was written. */
const FIXTURE_LINES = [
  'test/fixtures/bad-schemas/one.yaml:20:3: fx_unknown_key.strict: unknown key "strict" (allowed: strict_mode, model_name, meta, data, note)',
  'test/fixtures/bad-schemas/one.yaml:27:18: fx_unknown_type.name: unknown type "text" (allowed: object_id, string, int, float, bool, datetime, date, list, object, object_ref)',
  'test/fixtures/bad-schemas/one.yaml:30:9: fx_unknown_meta.meta: meta must be one of object_result, result_set_with_meta, result_set, ok_result (got "object")',
  `test/fixtures/bad-schemas/one.yaml:34:15: fx_unknown_model.model_name: no resource serves model "acount" (resources: ${resources.map((r) => r.name).join(', ')})`,
  'test/fixtures/bad-schemas/one.yaml:42:44: fx_unknown_ref.group_info: unknown schema "group_breif"',
  'test/fixtures/bad-schemas/one.yaml:49:5: fx_undeclared_field.nmae: account declares no field "nmae" (declared: _id, created_at, updated_at, deleted_at, name, phone, identity_card_id, state, group_id, labels), so it would always be null',
  'test/fixtures/bad-schemas/one.yaml:55:19: fx_type_mismatch.state: type string contradicts the declared enum<int> of account.state',
  'test/fixtures/bad-schemas/one.yaml:61:5: fx_ref_missing_source.team_info: reads "team_id", which account does not declare (set `from:` to its id field)',
  'test/fixtures/bad-schemas/one.yaml:67:62: fx_ref_not_id.owner_info: reads "name", a string of account, not an object_id or list<object_id>',
  'test/fixtures/bad-schemas/one.yaml:73:44: fx_ref_wrong_model.group_info: schema fx_account shapes account records, but account.group_id references group (use a schema with model_name: group)',
  'test/fixtures/bad-schemas/one.yaml:75:1: fx_cycle_a: schemas refer to each other in a cycle without end: fx_cycle_a → fx_cycle_b → fx_cycle_a',
  'test/fixtures/bad-schemas/three.yaml:6:11: not valid YAML: Nested mappings are not allowed in compact mappings',
  'test/fixtures/bad-schemas/two.yaml:3:1: fx_account: already defined in test/fixtures/bad-schemas/one.yaml',
];

describe('the result-schema checker', () => {
  it('reports every mistake of the fixture folder at its line:column, in one run', () => {
    const { problems } = checkDeclarations(resources, BAD_DIR);
    expect(problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.where ? `${p.where}: ` : ''}${p.message}`)).toEqual(FIXTURE_LINES);
  });

  it('gives each kind of mistake its stable code', () => {
    const { problems } = checkDeclarations(resources, BAD_DIR);
    expect(problems.map((p) => p.code)).toEqual([
      'unknown_key',
      'unknown_type',
      'unknown_meta',
      'unknown_model',
      'unknown_schema',
      'undeclared_field',
      'type_mismatch',
      'bad_ref_source',
      'bad_ref_source',
      'ref_model_mismatch',
      'ref_cycle',
      'yaml_syntax',
      'duplicate_schema',
    ]);
  });

  it('finds no problem in the shipped result-schemas/', () => {
    expect(checkDeclarations(resources, SCHEMA_DIR).problems).toEqual([]);
  });

  it('prints the same lines from `schemas check <dir>`, exiting 1', async () => {
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'schemas', 'check', 'test/fixtures/bad-schemas'], {
      cwd: root,
    });
    const failure = await run.then(
      () => undefined,
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect({ code: failure?.code, lines: failure?.stdout.trimEnd().split('\n'), stderr: failure?.stderr }).toEqual({
      code: 1,
      lines: FIXTURE_LINES,
      stderr: 'test/fixtures/bad-schemas: 13 problem(s)\n',
    });
  });

  it.each<[string, string, string]>([
    [
      'strict_mode that is not a boolean',
      'a:\n  strict_mode: yes\n  meta: object_result\n  data: {}\n',
      'f.yaml:2:16: a.strict_mode: strict_mode must be true or false',
    ],
    [
      'a list with neither items nor schema',
      'a:\n  meta: object_result\n  data:\n    l: {type: list}\n',
      'f.yaml:4:8: a.l: a list needs exactly one of `items:` (a type) or `schema:` (a schema name)',
    ],
    [
      'list items of an unknown type',
      'a:\n  meta: object_result\n  data:\n    l: {type: list, items: text}\n',
      'f.yaml:4:28: a.l: list items must be one of object_id, string, int, float, bool, datetime, date (got "text")',
    ],
    [
      'a key that does not go with the type',
      'a:\n  meta: object_result\n  data:\n    n: {type: string, from: x}\n',
      'f.yaml:4:23: a.n: "from" does not go with type string',
    ],
    [
      'an object_ref without from on a name not ending in _info',
      'b:\n  model_name: m\n  meta: object_result\n  data: {}\na:\n  meta: object_result\n  data:\n    team: {type: object_ref, schema: b}\n',
      'f.yaml:8:11: a.team: an object_ref needs `from:` (the local id field) unless its name ends in _info or _infos',
    ],
    [
      'an object_ref to a schema without model_name',
      'b:\n  meta: object_result\n  data: {}\na:\n  meta: object_result\n  data:\n    b_info: {type: object_ref, schema: b}\n',
      'f.yaml:7:40: a.b_info: schema "b" has no model_name, so it cannot be referenced',
    ],
    [
      'a nested object field of an unknown type',
      'a:\n  meta: object_result\n  data:\n    o:\n      type: object\n      data:\n        x: {type: nope}\n',
      'f.yaml:7:19: a.o.x: unknown type "nope" (allowed: object_id, string, int, float, bool, datetime, date, list, object, object_ref)',
    ],
    [
      'a schema without data',
      'a:\n  meta: object_result\n',
      'f.yaml:1:1: a: `data:` must map field names to field definitions (`data: {}` for none)',
    ],
    [
      'a duplicate key in one file',
      'a:\n  meta: object_result\n  meta: ok_result\n  data: {}\n',
      'f.yaml:3:3: not valid YAML: Map keys must be unique',
    ],
  ])('reports %s at its position', (_label, text, line) => {
    const read = readSchemaText('f.yaml', text);
    const checked = checkSchemas(read.sources, { models: new Map([['m', { collection: 'ms' }]]) });
    expect(new DeclarationError([...read.problems, ...checked.problems]).lines).toEqual([line]);
  });
});

describe('resource declaration mistakes', () => {
  // a new resource as a user would add it, with one mistake of each kind the framework can only see at startup
  const stockIn = () =>
    defineResource({
      name: 'goods_in', // not stock_in: that is a real resource now
      fields: { sku: 'M string(1,32)', qty: 'M integr', received_at: 'O datetime' },
      // @ts-expect-error: an index on an undeclared field is a compile error as well as a startup one
      indexes: [{ key: { reciept_id: 1 }, name: 'reciept_id_1' }],
      actions: (std) => ({
        get: std.get({ result: 'generic_summary' }),
      }),
    });
  const stockOut = () =>
    defineResource({
      name: 'stock_out',
      fields: { sku: 'M string(1,32)', qty: 'M int(1,100)' },
      actions: (std) => ({
        find: std.find({
          result: 'generic_summary',
          // @ts-expect-error: a filter on an undeclared field is a compile error as well as a startup one
          filters: { skuu: ['eq'], sku: ['eq', 'contains' as never], qty: ['icontains'] },
          // @ts-expect-error: so is sorting by one
          sortable: ['qty', 'when'],
        }),
        select: std.select({ result: 'generic_summary', filters: { sku: ['eq'] } }),
        get: std.get({ result: 'stock_out_detail' }),
      }),
    });

  it('names resource/action for each mistake, all of them in one DeclarationError', () => {
    let error: unknown;
    try {
      buildActionTable([stockIn(), stockOut(), ...resources], SCHEMA_DIR);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DeclarationError);
    expect((error as DeclarationError).lines).toEqual([
      'resource goods_in: field qty: bad type "integr": unknown type "integr"',
      'resource goods_in: index reciept_id_1: reciept_id is not a declared field (declare it in fields, or in stored when other code writes it)',
      'stock_out/find: sortable when: not a declared field',
      'stock_out/find: filter skuu: not a declared field',
      'stock_out/find: filter sku: unknown operator "contains" (operators: eq, in, ne, gt, gte, lt, lte, icontains, istartswith, iendswith, isnull)',
      'stock_out/find: filter qty: icontains needs a string field',
      'stock_out/get: result schema "stock_out_detail" does not exist',
    ]);
  });
});

describe('unique indexes of owned resources', () => {
  // a resource whose records belong to users, with the unique index given
  const notebook = (index: { key: Record<string, 1>; name: string }) =>
    defineResource({
      name: 'notebook',
      fields: { title: 'M string(1,64)' },
      stored: { user_id: 'O object_id' },
      owner: { field: 'user_id', resource: 'user' },
      indexes: [{ ...index, unique: true }],
      actions: (std) => ({ get: std.get({ result: 'generic_summary' }) }),
    });
  const problemsOf = (resource: ReturnType<typeof notebook>) => {
    try {
      buildActionTable([resource, ...resources], SCHEMA_DIR);
      return [];
    } catch (err) {
      return (err as DeclarationError).lines;
    }
  };

  it('refuses one that does not start with the owner field (it would be unique across users)', () => {
    expect(problemsOf(notebook({ key: { title: 1 }, name: 'title_1' }))).toEqual([
      'resource notebook: index title_1: a unique index of an owned resource must start with its owner field user_id (unique per user), e.g. { user_id: 1, title: 1 }',
    ]);
  });

  it('accepts one that starts with the owner field (unique per user)', () => {
    expect(problemsOf(notebook({ key: { user_id: 1, title: 1 }, name: 'user_id_1_title_1' }))).toEqual([]);
  });
});
