import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportOf } from '../../src/core/export.js';
import { queryFind } from '../../src/core/query-find.js';
import { defineResource } from '../../src/core/resource.js';
import { PROBE_SCHEMA_DIR } from '../helpers/probe-resource.js';
import { AUTH, startTestService, type TestService } from '../helpers/service.js';

/** A resource whose export query the database refuses at its first read (an operator no server knows). */
const refused = defineResource({
  name: 'probe',
  fields: { code: 'M string(1,32)' },
  actions: (std) => {
    const find = queryFind({
      model: std.model,
      params: {},
      result: 'probe_rows',
      build: () => ({ filter: { $no_such_operator: 1 }, sort: { _id: -1 } }),
    });
    return { create: std.create({ result: 'probe_summary' }), find, export: exportOf(find) };
  },
});

let t: TestService;

beforeAll(async () => {
  t = await startTestService({ resources: [refused], schemaDir: PROBE_SCHEMA_DIR });
  expect((await t.call('/probe/create', { code: 'a' })).status).toBe(200);
});
afterAll(async () => {
  await t.close();
});

describe('<resource>/export when the database refuses the query', () => {
  it('answers the JSON error, not an xlsx, when the first read fails (seed 003: download failed → error info)', async () => {
    const res = await supertest(t.app).post('/probe/export').set(AUTH).send({});
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['content-disposition']).toBeUndefined();
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      error: {
        code: 'internal',
        message: expect.any(String),
        zh_message: expect.any(String),
        request_id: res.headers['x-request-id'],
      },
    });
  });
});
