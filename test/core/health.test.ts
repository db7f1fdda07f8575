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
const BOUND_MS = 1_500;
const UNAVAILABLE = (res: supertest.Response) => ({
  error: {
    code: 'unavailable',
    message: 'The database is unavailable',
    zh_message: '数据库暂不可用',
    request_id: res.headers['x-request-id'],
  },
});

beforeAll(async () => {
  server = await startEmbedded({
    projectRoot,
    storage: 'memory',
    cacheDir: path.join(projectRoot, '.cache', 'embedded-mongo'),
    log: () => undefined,
  });
  database = await connectDatabase({ url: server.url, dbName: 'health', serverSelectionTimeoutMS: 1_000, operationTimeoutMs: BOUND_MS });
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

describe('when the database stops answering (SIGSTOP)', () => {
  it('bounds calls sent during the freeze to a 503 unavailable within the operation bound, answering 200 again after SIGCONT', async () => {
    expect((await http.post('/group/find').set(AUTH).send({})).status).toBe(200);
    const pid = server.pid as number;
    process.kill(pid, 'SIGSTOP');
    let answers: Array<{ res: supertest.Response; ms: number }>;
    try {
      const frozenAt = Date.now();
      const calls = Array.from({ length: 4 }, () =>
        http
          .post('/group/find')
          .set(AUTH)
          .send({})
          .then((res) => ({ res, ms: Date.now() - frozenAt })),
      );
      // without a bound these would hang until SIGCONT: give up waiting after a while so the test can say so
      const gaveUp = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), BOUND_MS * 6));
      const settled = await Promise.race([Promise.all(calls), gaveUp]);
      expect(settled).not.toBe('hung');
      answers = settled as typeof answers;
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    for (const { res, ms } of answers) {
      expect(res.status).toBe(503);
      expect(res.body).toEqual(UNAVAILABLE(res));
      expect(ms).toBeLessThan(BOUND_MS * 3); // the bound, plus room for a loaded machine
    }
    const after = await http.post('/group/find').set(AUTH).send({});
    expect(after.status).toBe(200);
  });
});

describe('when the database goes away', () => {
  it('answers 503 unavailable on /readyz or on actions once it is gone, while /healthz (alive) stays 200', async () => {
    expect((await http.get('/readyz')).status).toBe(200);
    await server.stop();

    expect((await http.get('/healthz')).status).toBe(200);
    const health = await http.get('/readyz');
    expect(health.status).toBe(503);
    expect(health.body).toEqual({
      error: {
        code: 'unavailable',
        message: 'The database is unavailable',
        zh_message: '数据库暂不可用',
        request_id: health.headers['x-request-id'],
      },
    });

    const action = await http.post('/group/find').set(AUTH).send({});
    expect(action.status).toBe(503);
    expect(action.body).toEqual({
      error: {
        code: 'unavailable',
        message: 'The database is unavailable',
        zh_message: '数据库暂不可用',
        request_id: action.headers['x-request-id'],
      },
    });
  });
});
