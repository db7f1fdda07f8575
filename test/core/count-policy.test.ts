import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildActionTable } from '../../src/core/dispatch.js';
import { defineResource } from '../../src/core/resource.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { TALLY_SCHEMA_DIR, tallyResource } from '../helpers/tally-resource.js';

// The count policies of a find (count-policy.ts) on 12 live records (9 of kind a, 3 of kind b) and 2 soft-deleted ones.
let t: TestService;

beforeAll(async () => {
  t = await startTestService({ resources: [tallyResource], schemaDir: TALLY_SCHEMA_DIR, monitorCommands: true });
  const now = new Date();
  const live = Array.from({ length: 12 }, (_, i) => ({ kind: i < 9 ? 'a' : 'b', created_at: now, updated_at: now }));
  const deleted = Array.from({ length: 2 }, () => ({ kind: 'a', created_at: now, updated_at: now, deleted_at: now }));
  await t.db.collection('tally').insertMany([...live, ...deleted]);
});

afterAll(async () => {
  await t?.close();
});

/** The _meta of one call, and the database commands it sent besides the page's find. */
async function metaOf(action: string, body: Record<string, unknown>): Promise<{ meta: unknown; rows: number; others: string[] }> {
  const before = t.commands.length;
  const res = await t.call(`/tally/${action}`, body).expect(200);
  const sent = t.commands.slice(before).map((c) => c.commandName);
  expect(sent.filter((name) => name === 'find')).toEqual(['find']);
  return { meta: res.body._meta, rows: res.body.data.length, others: sent.filter((name) => name !== 'find') };
}

describe('count policy exact (the default)', () => {
  it('answers the seed _meta with the total from countDocuments', async () => {
    expect(await metaOf('find', { _meta: { limit: 2 } })).toEqual({
      meta: { has_more: true, page: 1, page_size: 2, result_count: 12 },
      rows: 2,
      others: ['aggregate'],
    });
  });
});

describe('count policy {cap}', () => {
  it('stops counting at the cap, saying the count is a lower bound', async () => {
    expect(await metaOf('find_capped', { _meta: { limit: 2 } })).toEqual({
      meta: { has_more: true, page: 1, page_size: 2, result_count: 5, result_count_is: 'at_least' },
      rows: 2,
      others: ['aggregate'],
    });
  });

  it('says exact when fewer records than the cap match', async () => {
    expect(await metaOf('find_capped', { kind: 'b', _meta: { limit: 2 } })).toEqual({
      meta: { has_more: true, page: 1, page_size: 2, result_count: 3, result_count_is: 'exact' },
      rows: 2,
      others: ['aggregate'],
    });
  });

  it('sends no count for a page whose rows reach the cap, giving the rows seen as the lower bound', async () => {
    expect(await metaOf('find_capped', { _meta: { page: 3, limit: 2 } })).toEqual({
      meta: { has_more: true, page: 3, page_size: 2, result_count: 7, result_count_is: 'at_least' },
      rows: 2,
      others: [],
    });
  });

  it('knows the exact total on the last page without a count', async () => {
    expect(await metaOf('find_capped', { _meta: { page: 6, limit: 2 } })).toEqual({
      meta: { has_more: false, page: 6, page_size: 2, result_count: 12, result_count_is: 'exact' },
      rows: 2,
      others: [],
    });
  });

  it('counts up to the cap after the rows for a page past the end', async () => {
    expect(await metaOf('find_capped', { _meta: { page: 10, limit: 2 } })).toEqual({
      meta: { has_more: false, page: 10, page_size: 2, result_count: 5, result_count_is: 'at_least' },
      rows: 0,
      others: ['aggregate'],
    });
  });
});

describe('count policy estimated', () => {
  it('reads the collection size without filters, soft-deleted records included', async () => {
    expect(await metaOf('find_estimated', { _meta: { limit: 2 } })).toEqual({
      meta: { has_more: true, page: 1, page_size: 2, result_count: 14, result_count_is: 'estimate' },
      rows: 2,
      others: ['count'],
    });
  });

  it('counts exactly when the caller filters', async () => {
    expect(await metaOf('find_estimated', { kind: 'a', _meta: { limit: 2 } })).toEqual({
      meta: { has_more: true, page: 1, page_size: 2, result_count: 9, result_count_is: 'exact' },
      rows: 2,
      others: ['aggregate'],
    });
  });

  it('counts up to the cap when the caller filters a find declared {estimated, cap}', async () => {
    expect(await metaOf('find_estimated_capped', { kind: 'a', _meta: { limit: 2 } })).toEqual({
      meta: { has_more: true, page: 1, page_size: 2, result_count: 5, result_count_is: 'at_least' },
      rows: 2,
      others: ['aggregate'],
    });
  });
});

describe('count policy none', () => {
  it('answers has_more from the extra row, with no count sent or answered', async () => {
    expect(await metaOf('find_none', { _meta: { limit: 2 } })).toEqual({
      meta: { has_more: true, page: 1, page_size: 2 },
      rows: 2,
      others: [],
    });
  });

  it.each([1, 5, 12])('sends the page alone with limit %i (1 command, whatever the page size)', async (limit) => {
    const { rows, others } = await metaOf('find_none', { _meta: { limit } });
    expect({ rows, others }).toEqual({ rows: limit, others: [] });
  });

  it('says has_more false on the last page', async () => {
    expect(await metaOf('find_none', { kind: 'b', _meta: { limit: 3 } })).toEqual({
      meta: { has_more: false, page: 1, page_size: 3 },
      rows: 3,
      others: [],
    });
  });
});

describe('count policy in the OpenAPI', () => {
  async function metaSchemaOf(action: string): Promise<unknown> {
    const doc = (await supertest(t.app).get('/openapi.json').expect(200)).body;
    return doc.paths[`/tally/${action}`].post.responses['200'].content['application/json'].schema.properties._meta;
  }

  it('states result_count_is with what the capped count means', async () => {
    expect(await metaSchemaOf('find_capped')).toEqual({
      type: 'object',
      description: 'paging',
      required: ['has_more', 'page', 'page_size', 'result_count', 'result_count_is'],
      properties: {
        has_more: { type: 'boolean', description: 'a next page exists' },
        page: { type: 'integer', minimum: 1, description: 'the page answered' },
        page_size: { type: 'integer', minimum: 1, description: 'the limit used' },
        result_count: {
          type: 'integer',
          minimum: 0,
          description: 'the number of matching records, counted up to 5 (a lower bound beyond)',
        },
        result_count_is: {
          type: 'string',
          enum: ['exact', 'at_least'],
          description: 'exact: result_count is the total; at_least: the count stopped at its cap, there are at least result_count',
        },
      },
    });
  });

  it('leaves result_count out under the policy none', async () => {
    expect(await metaSchemaOf('find_none')).toEqual({
      type: 'object',
      description: 'paging',
      required: ['has_more', 'page', 'page_size'],
      properties: {
        has_more: { type: 'boolean', description: 'a next page exists' },
        page: { type: 'integer', minimum: 1, description: 'the page answered' },
        page_size: { type: 'integer', minimum: 1, description: 'the limit used' },
      },
    });
  });
});

describe('count policy declarations', () => {
  it('refuses a cap that is not a positive integer', () => {
    const broken = defineResource({
      name: 'tally',
      fields: { kind: 'M string(1,16)' },
      actions: (std) => ({ find: std.find({ result: 'tally_item', count: { cap: 0 } }) }),
    });
    expect(() => buildActionTable([broken], TALLY_SCHEMA_DIR)).toThrow('count: cap must be an integer 1..1000000 (got 0)');
  });
});
