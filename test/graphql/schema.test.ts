import { readFileSync } from 'node:fs';
import path from 'node:path';
import { validateSchema, type GraphQLObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGraphqlSchema, printGraphqlSchema } from '../../src/graphql/index.js';
import { startTestService, type TestService } from '../helpers/service.js';

// The GraphQL schema is generated from the action table: walk every resource and check what it must have made.
let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.close();
});

const docsDir = path.resolve(import.meta.dirname, '..', '..', 'docs');

describe('the generated GraphQL schema', () => {
  it('is a valid schema', () => {
    expect(validateSchema(buildGraphqlSchema(t.service.actions))).toEqual([]);
  });

  it('is what docs/schema.graphql says (run `npm run docs` after changing declarations)', () => {
    const printed = printGraphqlSchema(buildGraphqlSchema(t.service.actions));
    expect(readFileSync(path.join(docsDir, 'schema.graphql'), 'utf8')).toBe(printed);
  });

  const queryFields = () => (buildGraphqlSchema(t.service.actions).getQueryType() as GraphQLObjectType).getFields();
  const baseOf = (resource: string) => resource.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

  it('has a plural list field with Talpa paging for every find', () => {
    const fields = queryFields();
    const finds = t.service.actions.list().filter((action) => action.name === 'find');
    expect(finds.length).toBeGreaterThan(0);
    for (const action of finds) {
      const list = fields[`${baseOf(action.resource)}s`];
      expect(list, action.resource).toBeDefined();
      const listType = list?.type as GraphQLObjectType;
      expect(Object.keys(listType.getFields()).sort(), action.resource).toEqual(['results', 'totalCount']);
      const results = listType.getFields().results;
      expect(
        results?.args.map((a) => `${a.name}: ${String(a.type)}${a.defaultValue === undefined ? '' : ` = ${String(a.defaultValue)}`}`),
      ).toEqual(['limit: Int = 20', 'offset: Int', 'ordering: String']);
    }
  });

  it('has a single field taking an id for every get by _id', () => {
    const fields = queryFields();
    // a get by another key (passport/get by internal_id) has no `id` field to offer
    const gets = t.service.actions
      .list()
      .filter((action) => action.name === 'get' && action.validator.params.map((p) => p.name).join(',') === '_id');
    expect(gets.length).toBeGreaterThan(0);
    for (const action of gets)
      expect(
        fields[baseOf(action.resource)]?.args.map((a) => `${a.name}: ${String(a.type)}`),
        action.resource,
      ).toEqual(['id: ID!']);
  });

  it('has create, update, delete, mark mutations answering {errors, <resource>, ok}', () => {
    const schema = buildGraphqlSchema(t.service.actions);
    const mutation = schema.getMutationType() as GraphQLObjectType;
    const fields = mutation.getFields();
    expect(String(fields.merchandiseCreate?.args[0]?.name)).toBe('newMerchandise');
    expect(String(fields.merchandiseCreate?.args[0]?.type)).toBe('MerchandiseCreateGenericType!');
    expect(String(fields.merchandiseUpdate?.args[0]?.type)).toBe('MerchandiseUpdateGenericType!');
    expect(fields.merchandiseDelete?.args.map((a) => `${a.name}: ${String(a.type)}`)).toEqual(['id: ID!']);
    expect(fields.accountMarkDisable?.args.map((a) => `${a.name}: ${String(a.type)}`)).toEqual(['id: ID!']);
    const payload = fields.merchandiseCreate?.type as GraphQLObjectType;
    expect(payload.name).toBe('MerchandiseSerializerMutation');
    expect(Object.keys(payload.getFields()).sort()).toEqual(['errors', 'merchandise', 'ok']);
  });
});
