import { MongoClient, ObjectId } from 'mongodb';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectDatabase, type Database } from '../../src/core/db.js';
import { createLogger } from '../../src/core/logger.js';
import { createService, type Service } from '../../src/service.js';
import { cuttingProxy, type CuttingProxy } from '../helpers/cutting-proxy.js';
import { AUTH, TEST_KEY, uniqueDbName } from '../helpers/service.js';

let proxy: CuttingProxy;
let database: Database;
let service: Service;
let direct: MongoClient;

beforeAll(async () => {
  proxy = await cuttingProxy(new URL(inject('mongoUrl')));
  database = await connectDatabase({ url: proxy.url, dbName: uniqueDbName('batchcut') });
  direct = new MongoClient(inject('mongoUrl'));
  service = await createService({
    database,
    config: { apiKeys: [TEST_KEY], bodyLimitBytes: 1024 * 1024 },
    logger: createLogger({ level: 'silent', pretty: false }),
  });
});
afterAll(async () => {
  await service.stop();
  await database.db.dropDatabase().catch(() => undefined);
  await database.close();
  await direct.close();
  await proxy.close();
});

describe('partial batch_create when the database connection breaks during the insert', () => {
  it('answers unavailable, not created, for docs it cannot know are stored (the last of 1000 was never sent)', async () => {
    const docs = Array.from({ length: 1000 }, (_, i) => ({
      _id: new ObjectId().toHexString(),
      name: `cut ${i}`,
      phone: String(8_100_000 + i),
      state: 100,
    }));
    const accounts = direct.db(database.db.databaseName).collection('account');
    proxy.arm();
    const cut = await supertest(service.app).post('/account/batch_create').set(AUTH).send({ atomic: false, docs });
    expect(proxy.cuts()).toBe(1);
    // the driver sent the 1000 docs as two insert commands, 999 + 1; the cut came after the first was stored
    expect(await accounts.countDocuments({ name: /^cut / })).toBe(999);
    expect(cut.status).toBe(503);
    expect(cut.body.error.code).toBe('unavailable');

    // what the import CLI does next: the same docs again; the stored ones are refused on their own _id
    const retry = await supertest(service.app).post('/account/batch_create').set(AUTH).send({ atomic: false, docs });
    expect(retry.status).toBe(200);
    expect(retry.body.created_count).toBe(1);
    expect(retry.body.errors).toHaveLength(999);
    expect(new Set(retry.body.errors.map((e: { field: string }) => e.field))).toEqual(new Set(['_id']));
    expect(await accounts.countDocuments({ name: /^cut / })).toBe(1000);
  });
});
