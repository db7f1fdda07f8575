import { type MongoClient, ObjectId } from 'mongodb';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/core/db.js';
import type { Service } from '../../src/service.js';
import { type CuttingProxy, type ServiceBehindProxy, serviceBehindProxy } from '../helpers/cutting-proxy.js';
import { AUTH } from '../helpers/service.js';

let proxy: CuttingProxy;
let database: Database;
let service: Service;
let direct: MongoClient;
let behind: ServiceBehindProxy;

beforeAll(async () => {
  behind = await serviceBehindProxy({ dbLabel: 'batchcut' });
  ({ proxy, database, service, direct } = behind);
});
afterAll(async () => {
  await behind.stop();
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
