import path from 'node:path';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type Database } from '../../src/core/db.js';
import { createLogger } from '../../src/core/logger.js';
import { startEmbedded } from '../../src/local-db/embedded.js';
import type { LocalServer } from '../../src/local-db/types.js';
import { createService } from '../../src/service.js';
import { AUTH, TEST_KEY } from '../helpers/service.js';

// This file needs a database it can take away, so it starts a second embedded server of its own.
const projectRoot = path.resolve(import.meta.dirname, '..', '..');
let server: LocalServer;
let database: Database;
let http: supertest.Agent;

beforeAll(async () => {
  server = await startEmbedded({
    projectRoot,
    storage: 'memory',
    cacheDir: path.join(projectRoot, '.cache', 'embedded-mongo'),
    log: () => undefined,
  });
  database = await connectDatabase({ url: server.url, dbName: 'health', serverSelectionTimeoutMS: 1_000 });
  const service = await createService({
    database,
    config: { apiKeys: [TEST_KEY], bodyLimitBytes: 1024 * 1024 },
    logger: createLogger({ level: 'silent', pretty: false }),
  });
  http = supertest.agent(service.app);
});
afterAll(async () => {
  await database.close().catch(() => undefined);
  await server.stop();
});

describe('when the database goes away', () => {
  it('answers 200 while it is up, then 503 unavailable on /healthz and on actions', async () => {
    expect((await http.get('/healthz')).status).toBe(200);
    await server.stop();

    const health = await http.get('/healthz');
    expect(health.status).toBe(503);
    expect(health.body).toEqual({
      error: { code: 'unavailable', message: 'The database is unavailable', zh_message: '数据库暂不可用', request_id: health.headers['x-request-id'] },
    });

    const action = await http.post('/group/find').set(AUTH).send({});
    expect(action.status).toBe(503);
    expect(action.body).toEqual({
      error: { code: 'unavailable', message: 'The database is unavailable', zh_message: '数据库暂不可用', request_id: action.headers['x-request-id'] },
    });
  });
});
