import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { RESULT_SCHEMA_JSON_SCHEMA, YAML_SCHEMA_HEADER, resultSchemaJsonSchema } from '../../src/core/schema-json-schema.js';
import { schemaFilesIn } from '../../src/core/schema-files.js';
import { SCHEMA_DIR } from '../../src/service.js';

// The JSON Schema editors use (yaml-language-server) must accept every shipped file and stay what the code generates.
const root = path.resolve(import.meta.dirname, '..', '..');
const committed = JSON.parse(readFileSync(path.join(root, RESULT_SCHEMA_JSON_SCHEMA), 'utf8')) as Record<string, unknown>;
const validate = new Ajv({ allErrors: true, strict: false }).compile(committed);
const shipped = schemaFilesIn(SCHEMA_DIR);

describe('result-schemas/result-schema.schema.json', () => {
  it('is what the format tables generate (run `npm run docs` after changing src/core/schema-format.ts)', () => {
    expect(committed).toEqual(resultSchemaJsonSchema());
  });

  it.each(shipped.map((file) => [path.basename(file), file]))('accepts the shipped %s', (_name, file) => {
    validate(parse(readFileSync(file, 'utf8')));
    expect(validate.errors ?? []).toEqual([]);
  });

  it.each(shipped.map((file) => [path.basename(file), file]))('is named on the first line of %s', (_name, file) => {
    expect(readFileSync(file, 'utf8').split('\n')[0]).toBe(YAML_SCHEMA_HEADER);
  });

  it('underlines a misspelt field key', () => {
    validate({ a: { meta: 'object_result', data: { n: { type: 'string', shema: 'x' } } } });
    expect(validate.errors?.map((e) => [e.instancePath, e.message, e.params])).toContainEqual([
      '/a/data/n',
      'must NOT have additional properties',
      { additionalProperty: 'shema' },
    ]);
  });

  it('underlines an unknown field type', () => {
    validate({ a: { meta: 'object_result', data: { n: { type: 'strng' } } } });
    expect(validate.errors?.map((e) => [e.instancePath, e.message])).toContainEqual([
      '/a/data/n/type',
      'must be equal to one of the allowed values',
    ]);
  });

  it('underlines an object_ref without schema', () => {
    validate({ a: { meta: 'object_result', data: { g_info: { type: 'object_ref' } } } });
    expect(validate.errors?.map((e) => [e.instancePath, e.message])).toContainEqual([
      '/a/data/g_info',
      "must have required property 'schema'",
    ]);
  });
});
