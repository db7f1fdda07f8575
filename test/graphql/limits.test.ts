import { Writable } from 'node:stream';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { connectDatabase, type Database } from '../../src/core/db.js';
import { createLogger } from '../../src/core/logger.js';
import { createService, type Service } from '../../src/service.js';
import { AUTH, TEST_KEY, startTestService, uniqueDbName, type TestService } from '../helpers/service.js';
import { graphql } from './client.js';

// What a request may ask for (depth, aliases, cost, size), and what development and production serve.
let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.close();
});

const DEEP_INTROSPECTION =
  '{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } }';
const MERCHANDISE_PAGE =
  'merchandises { results(limit: 50) { id displayName defaultLat defaultLon lastLat lastLon firmInfo { id name nip } supplierInfo { id name nip } } }';

describe('query limits', () => {
  it('refuses a query nested deeper than 10 levels before running it', async () => {
    const res = await graphql(t, DEEP_INTROSPECTION).expect(400);

    expect(res.body).toEqual({
      errors: [
        {
          message: 'The query is nested 11 levels deep; at most 10 are allowed',
          locations: [{ line: 1, column: 1 }],
          extensions: { code: 'query_too_deep' },
        },
      ],
    });
  });

  it('refuses more than 20 aliases', async () => {
    const aliases = Array.from({ length: 21 }, (_, i) => `a${i}: __typename`).join(' ');
    const res = await graphql(t, `{ ${aliases} }`).expect(400);

    expect(res.body.errors).toEqual([
      { message: 'The query uses more than 20 aliases', locations: [{ line: 1, column: 313 }], extensions: { code: 'too_many_aliases' } },
    ]);
  });

  it('refuses a query whose rows × fields cost more than 5000', async () => {
    const query = `{ ${Array.from({ length: 8 }, (_, i) => `m${i}: ${MERCHANDISE_PAGE}`).join(' ')} }`;
    const res = await graphql(t, query).expect(400);

    expect(res.body.errors).toEqual([
      {
        message: 'The query may cost 5616 (fields × rows); at most 5000 is allowed',
        locations: [{ line: 1, column: 1 }],
        extensions: { code: 'query_too_costly' },
      },
    ]);
  });

  it('prices results(limit: $n) by the variable', async () => {
    const query = `query ($n: Int) { ${Array.from({ length: 8 }, (_, i) => `m${i}: ${MERCHANDISE_PAGE.replace('limit: 50', 'limit: $n')}`).join(' ')} }`;

    await graphql(t, query, { n: 50 }).expect(400);
    await graphql(t, query, { n: 5 }).expect(200);
  });

  it('refuses a query text longer than 20000 characters', async () => {
    const res = await graphql(t, `{ __typename ${' '.repeat(20_000)}}`).expect(400);

    expect(res.body).toEqual({
      errors: [{ message: 'The query is longer than 20000 characters', extensions: { code: 'query_too_large' } }],
    });
  });

  it('answers introspection in development', async () => {
    const res = await graphql(t, '{ __type(name: "FirmType") { name } }').expect(200);

    expect(res.body).toEqual({ data: { __type: { name: 'FirmType' } } });
  });
});

describe('GraphiQL in development', () => {
  it('serves the page to a browser at GET /graphql without a key, with our own scripts only', async () => {
    const res = await supertest(t.app).get('/graphql').set('Accept', 'text/html,application/xhtml+xml,*/*;q=0.8').expect(200);

    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    const sources = [...res.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(sources).toEqual([
      '/graphql/graphiql/graphiql.css',
      '/graphql/graphiql/react.js',
      '/graphql/graphiql/react-dom.js',
      '/graphql/graphiql/graphiql.js',
      '/graphql/graphiql/start.js',
    ]);
    for (const source of sources)
      await supertest(t.app)
        .get(source as string)
        .expect(200);
  });
});

describe('production', () => {
  let database: Database;
  const services: Service[] = [];
  const start = async (graphqlIntrospection?: boolean) => {
    const logger = createLogger({ level: 'silent', pretty: false, destination: new Writable({ write: (_c, _e, done) => done() }) });
    const service = await createService({
      database,
      config: {
        apiKeys: [TEST_KEY],
        bodyLimitBytes: 1024 * 1024,
        nodeEnv: 'production',
        ...(graphqlIntrospection === undefined ? {} : { graphqlIntrospection }),
      },
      logger,
    });
    services.push(service);
    return service.app;
  };
  beforeAll(async () => {
    database = await connectDatabase({ url: inject('mongoUrl'), dbName: uniqueDbName() });
  });
  afterAll(async () => {
    for (const service of services) await service.stop();
    await database.db.dropDatabase();
    await database.close();
  });

  it('refuses introspection unless GRAPHQL_INTROSPECTION allows it', async () => {
    const closed = await start();
    const open = await start(true);
    const query = { query: '{ __schema { queryType { name } } }' };

    const refused = await supertest(closed).post('/graphql').set(AUTH).send(query);
    const answered = await supertest(open).post('/graphql').set(AUTH).send(query).expect(200);

    expect(refused.body.errors[0].message).toBe(
      'GraphQL introspection has been disabled, but the requested query contained the field "__schema".',
    );
    expect(answered.body).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
  });

  it('serves no GraphiQL page: a browser gets 401 like any caller without a key', async () => {
    const app = await start();

    const res = await supertest(app).get('/graphql').set('Accept', 'text/html');

    expect(res.status).toBe(401);
    await supertest(app).get('/graphql/graphiql/graphiql.js').expect(401);
  });
});
