import path from 'node:path';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { META_PARAM } from '../../src/core/paging.js';
import { defineResource } from '../../src/core/resource.js';
import { AUTH, startTestService, type TestService } from '../helpers/service.js';
import { graphql } from './client.js';

// The transport of /graphql: the same keys, request ids, logs and error hiding as the actions.
const SECRET_TEXT = 'driver said: mongodb://admin:hunter2@db/ is broken at /srv/app/x.js:1';
const crashy = defineResource({
  name: 'crashy',
  fields: { code: 'O string(1,8)' },
  actions: () => ({
    find: {
      summary: 'Always fails',
      params: { _meta: META_PARAM },
      result: 'crashy_item',
      envelope: 'result_set_with_meta',
      handler: async () => {
        throw new Error(SECRET_TEXT);
      },
    },
  }),
});

let t: TestService;
beforeAll(async () => {
  t = await startTestService({ resources: [crashy], schemaDir: path.join(import.meta.dirname, 'fixtures') });
});
afterAll(async () => {
  await t.close();
});

describe('POST /graphql', () => {
  it('answers 401 in the GraphQL error shape without a key', async () => {
    const res = await supertest(t.app).post('/graphql').set('X-Request-Id', 'req-401').send({ query: '{ __typename }' });

    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.body).toEqual({
      errors: [{ message: 'Missing or invalid API key', extensions: { code: 'unauthorized', request_id: 'req-401' } }],
    });
  });

  it('answers 401 for a wrong key', async () => {
    const res = await supertest(t.app)
      .post('/graphql')
      .set('Authorization', 'Bearer not-the-key-0123456789')
      .send({ query: '{ __typename }' });

    expect(res.status).toBe(401);
  });

  /** A named query sent with X-Request-Id req-graphql-1, the logs emptied before it. */
  async function namedQuery() {
    t.logs.length = 0;
    return await graphql(t, 'query Named { __typename }').set('X-Request-Id', 'req-graphql-1').expect(200);
  }

  it('echoes X-Request-Id', async () => {
    const res = await namedQuery();

    expect(res.headers['x-request-id']).toBe('req-graphql-1');
    expect(res.body).toEqual({ data: { __typename: 'Query' } });
  });

  it('logs one line naming the key, never the secret', async () => {
    await namedQuery();

    const lines = t.logs.filter((l) => l.req_id === 'req-graphql-1');
    expect(lines).toEqual([
      expect.objectContaining({ method: 'POST', path: '/graphql', resource: 'graphql', action: 'Named', status: 200, key: 'test-suite' }),
    ]);
    expect(JSON.stringify(t.logs)).not.toContain(AUTH.Authorization.slice('Bearer '.length));
  });

  /** A query whose resolver crashes, sent with X-Request-Id req-crash, the logs emptied before it. */
  async function crashingQuery() {
    t.logs.length = 0;
    return await graphql(t, '{ crashies { results { id } } }').set('X-Request-Id', 'req-crash').expect(200);
  }

  it('hides an internal error behind its code with the request id', async () => {
    const res = await crashingQuery();

    expect(res.body).toEqual({
      data: { crashies: { results: null } },
      errors: [
        {
          message: 'Internal server error',
          locations: [{ line: 1, column: 14 }],
          path: ['crashies', 'results'],
          extensions: { code: 'internal', request_id: 'req-crash' },
        },
      ],
    });
    expect(res.text).not.toContain('hunter2');
  });

  it('logs the cause of an internal error', async () => {
    await crashingQuery();

    const line = t.logs.find((l) => l.req_id === 'req-crash') as Record<string, unknown>;
    expect(line).toMatchObject({ level: 50, error_code: 'internal', err: { message: SECRET_TEXT } });
  });

  it('refuses a mutation over GET with 405', async () => {
    const res = await supertest(t.app)
      .get('/graphql')
      .query({ query: 'mutation { __typename }' })
      .set(AUTH)
      .set('Accept', 'application/json');

    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
  });

  it('answers a query over GET', async () => {
    const res = await supertest(t.app)
      .get('/graphql')
      .query({ query: '{ __typename }' })
      .set(AUTH)
      .set('Accept', 'application/json')
      .expect(200);

    expect(res.body).toEqual({ data: { __typename: 'Query' } });
  });

  it('answers 413 past the body limit', async () => {
    const res = await graphql(t, `{ __typename } # ${'x'.repeat(1024 * 1024)}`);

    expect(res.status).toBe(413);
  });
});
