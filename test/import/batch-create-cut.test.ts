import { createServer, connect, type Server, type Socket } from 'node:net';
import { MongoClient, ObjectId } from 'mongodb';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectDatabase, type Database } from '../../src/core/db.js';
import { createLogger } from '../../src/core/logger.js';
import { createService, type Service } from '../../src/service.js';
import { AUTH, TEST_KEY, uniqueDbName } from '../helpers/service.js';

/**
 * A TCP proxy to the test database that, once armed, lets the next large request (the insert command of a big
 * insertMany) through and then cuts that connection instead of passing the server's reply: the server has stored
 * what it received, the driver sees its connection die, and whatever the insertMany had not sent yet is never sent.
 */
function cuttingProxy(target: URL): Promise<{ server: Server; url: string; arm(): void; cuts(): number }> {
  let armed = false;
  let cuts = 0;
  const server = createServer((client: Socket) => {
    const upstream = connect(Number(target.port), target.hostname);
    let sentSinceArmed = 0;
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      if (armed) sentSinceArmed += chunk.length;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (armed && sentSinceArmed > 50_000) {
        armed = false;
        cuts += 1;
        closeBoth();
        return;
      }
      client.write(chunk);
    });
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      resolve({ server, url: `mongodb://127.0.0.1:${port}/?directConnection=true`, arm: () => (armed = true), cuts: () => cuts });
    });
  });
}

let proxy: Awaited<ReturnType<typeof cuttingProxy>>;
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
  await new Promise((resolve) => proxy.server.close(resolve));
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
