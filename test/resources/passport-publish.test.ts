import { createServer, type Server } from 'node:http';
import * as dagJson from '@ipld/dag-json';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadPublishingConfig } from '../../src/publishing/config.js';
import { PublishJob } from '../../src/publishing/job.js';
import { CONTENT_COLLECTION, HttpPublisher, LEDGER_COLLECTION, LocalPublisher, type Publisher } from '../../src/publishing/publisher.js';
import { SECOND_STAGE } from '../../src/resources/protocol/names.js';
import { createBuilt, storedPassport } from '../helpers/passport-fixtures.js';
import { childEnv, spawnProcess } from '../helpers/processes.js';
import { startTestService, type TestService } from '../helpers/service.js';

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.close();
});

const CONFIG = { pollMs: 50, leaseTtlMs: 5_000, maxBackoffMs: 1_000 };
const jobs: PublishJob[] = [];
function jobWith(publisher: Publisher = new LocalPublisher(t.db)): PublishJob {
  const job = new PublishJob({ db: t.db, publisher, config: CONFIG, fault: () => undefined, log: t.logger });
  jobs.push(job);
  return job;
}
// every job gives its lease up after its test, so the next test's job can take it
afterEach(async () => {
  await Promise.all(jobs.splice(0).map((job) => job.stop()));
});

async function approved(stages = ['s1']): Promise<string> {
  const id = await createBuilt(t, stages);
  await t.call('/protocol/save', { internal_id: id, rows: [], status: SECOND_STAGE });
  expect((await t.call('/protocol/mark_approve', { internal_id: id })).status).toBe(200);
  return id;
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('publishing an approved passport', () => {
  it('the running worker finalizes it: a CIDv1 (dag-json, sha2-256) of its document, a ledger txn_hash', async () => {
    const id = await approved();
    const job = jobWith();
    job.start();
    const doc = await until(
      () => storedPassport(t, id),
      (d) => d?.status === 'finalized',
    );
    await job.stop();
    // the published document, built here by hand: content fields only, dates as ISO strings, sorted keys
    const published = {
      biography: [{ employee_name: 'Иванов', id: 's1', name: 'stage s1' }],
      date: (doc?.date as Date | undefined)?.toISOString(),
      internal_id: id,
      model: 'Манипулятор М1',
      schema_id: 'default',
      serial_number: doc?.serial_number,
      type: 'manipulator',
      uuid: doc?.uuid,
    };
    const expected = CID.create(1, dagJson.code, await sha256.digest(dagJson.encode(published))).toString();
    const cid = CID.parse(doc?.passport_ipfs_cid as string);
    expect({ version: cid.version, codec: cid.code, hash: cid.multihash.code, text: cid.toString() }).toEqual({
      version: 1,
      codec: 0x0129,
      hash: 0x12,
      text: expected,
    });
    const record = await t.db.collection(LEDGER_COLLECTION).findOne({ _id: doc?._id });
    expect(doc?.txn_hash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(record).toMatchObject({ internal_id: id, cid: expected, txn_hash: doc?.txn_hash });
    const content = await t.db.collection(CONTENT_COLLECTION).findOne({ _id: expected as never });
    expect(JSON.parse(content?.json as string)).toEqual(published);
  });

  it('a second round changes nothing: one CID, one content document, one ledger record', async () => {
    const id = await approved();
    const job = jobWith();
    await job.round();
    const first = await storedPassport(t, id);
    await job.publish({ ...first, status: 'approved' });
    await job.round();
    const after = await storedPassport(t, id);
    expect(after).toEqual(first);
    expect(await t.db.collection(LEDGER_COLLECTION).countDocuments({ internal_id: id })).toBe(1);
    expect(await t.db.collection(CONTENT_COLLECTION).countDocuments({ _id: first?.passport_ipfs_cid })).toBe(1);
  });

  it('three publications of one passport at once: one finalizes, the others find it changed, one ledger record', async () => {
    const id = await approved();
    const doc = await storedPassport(t, id);
    const outcomes = await Promise.all([jobWith().publish(doc as never), jobWith().publish(doc as never), jobWith().publish(doc as never)]);
    // only the one that wrote the CID goes on; the others find a CID already set and stop
    expect(outcomes.sort()).toEqual(['changed', 'changed', 'finalized']);
    expect(await t.db.collection(LEDGER_COLLECTION).countDocuments({ internal_id: id })).toBe(1);
    expect((await storedPassport(t, id))?.status).toBe('finalized');
  });

  it('only the lease holder publishes: a second job on the same database does nothing meanwhile', async () => {
    const ids = await Promise.all(Array.from({ length: 5 }, () => approved()));
    const [a, b] = [jobWith(), jobWith()];
    const [doneA, doneB] = await Promise.all([a.round(), b.round()]);
    expect([doneA, doneB].sort()).toEqual([0, 5]);
    for (const id of ids) expect(await t.db.collection(LEDGER_COLLECTION).countDocuments({ internal_id: id })).toBe(1);
  });

  it('waits (with backoff) while the protocol is not approved', async () => {
    const id = await createBuilt(t);
    await t.call('/protocol/save', { internal_id: id, rows: [], status: SECOND_STAGE });
    await t.db.collection('passport').updateOne({ internal_id: id }, { $set: { status: 'approved' } });
    const job = jobWith();
    expect(await job.publish((await storedPassport(t, id)) as never)).toBe('waiting');
    expect(await storedPassport(t, id)).toMatchObject({
      status: 'approved',
      publish_attempts: 1,
      publish_error: 'the protocol is not approved',
      publish_next_at: expect.any(Date),
    });
    expect((await storedPassport(t, id))?.passport_ipfs_cid).toBeUndefined();
  });
});

describe('the HTTP publisher (IPFS_GATEWAY_URL)', () => {
  let server: Server;
  let url: string;
  const calls: Array<{ path: string; key: string; body: string }> = [];
  let failures = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', async () => {
        calls.push({ path: req.url ?? '', key: String(req.headers['idempotency-key']), body });
        if (failures > 0) {
          failures -= 1;
          res.writeHead(503).end();
          return;
        }
        const cid = CID.create(1, dagJson.code, await sha256.digest(new TextEncoder().encode(body))).toString();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(req.url === '/ipfs' ? { cid } : { txn_hash: `0xgateway${calls.length}` }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as { port: number };
    url = `http://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('retries a failing gateway with growing waits, then finalizes with the gateway txn_hash', async () => {
    const id = await approved();
    failures = 2;
    const job = new PublishJob({
      db: t.db,
      publisher: new HttpPublisher({ url, timeoutMs: 2_000 }),
      config: { ...CONFIG, pollMs: 1_000, maxBackoffMs: 10_000 },
      fault: () => undefined,
      log: t.logger,
    });
    jobs.push(job);
    // each failure sets publish_next_at = (time of the write) + pollMs * 2^(attempts-1): bracket it by the call's start and end
    for (const expected of [1_000, 2_000]) {
      const before = Date.now();
      expect(await job.publish((await storedPassport(t, id)) as never)).toBe('failed');
      const after = Date.now();
      const next = ((await storedPassport(t, id))?.publish_next_at as Date | undefined)?.getTime() ?? 0;
      expect(next - after).toBeLessThanOrEqual(expected);
      expect(next - before).toBeGreaterThanOrEqual(expected);
    }
    expect(await storedPassport(t, id)).toMatchObject({
      status: 'approved',
      publish_attempts: 2,
      publish_error: 'gateway /ipfs answered HTTP 503',
    });
    expect(await job.publish((await storedPassport(t, id)) as never)).toBe('finalized');
    const doc = await storedPassport(t, id);
    expect(doc).toMatchObject({ status: 'finalized', txn_hash: expect.stringMatching(/^0xgateway/) });
    expect(doc).not.toHaveProperty('publish_attempts');
    const ours = calls.slice(-2);
    expect(ours.map((c) => [c.path, c.key])).toEqual([
      ['/ipfs', doc?.passport_ipfs_cid],
      ['/datalog', doc?._id.toHexString()],
    ]);
    expect(JSON.parse(ours[1]?.body as string)).toEqual({ cid: doc?.passport_ipfs_cid, internal_id: id });
  });
});

describe('npm run cli -- passport verify', () => {
  const cli = (id: string) =>
    spawnProcess(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'passport', 'verify', id],
      childEnv({ MONGODB_URL: inject('mongoUrl'), MONGODB_DB: t.db.databaseName }),
    );

  it('passes a published passport (exit 0), recomputing its CID', async () => {
    const id = await approved();
    await jobWith().round();
    const run = cli(id);
    const { code } = await run.exited;
    const cid = (await storedPassport(t, id))?.passport_ipfs_cid as string;
    expect({ code, output: run.output() }).toEqual({
      code: 0,
      output: `ok   cid: recomputed ${cid}\nok   content: the stored document hashes to the CID and matches the passport\nok   ledger: record ${(await storedPassport(t, id))?.txn_hash} for ${cid}\npassport OK\n`,
    });
  });

  it('exits 1 when the stored passport no longer matches its CID', async () => {
    const id = await approved();
    await jobWith().round();
    await t.db.collection('passport').updateOne({ internal_id: id }, { $set: { model: 'подделка' } });
    const run = cli(id);
    const { code } = await run.exited;
    expect(code).toBe(1);
    expect(run.output()).toMatch(/^FAIL cid: recomputed \S+, stored \S+\n/);
    expect(run.output()).toContain('PASSPORT NOT VERIFIED');
  });
});

describe('publishing configuration', () => {
  it('publishes locally (content store, ledger) without IPFS_GATEWAY_URL', () => {
    expect(loadPublishingConfig({}).gateway).toEqual({ kind: 'local' });
  });

  it('uses the HTTP publisher when IPFS_GATEWAY_URL is set', () => {
    expect(loadPublishingConfig({ IPFS_GATEWAY_URL: 'http://gw.local:8080/' }).gateway).toEqual({
      kind: 'http',
      url: 'http://gw.local:8080',
      timeoutMs: 10_000,
    });
  });

  it('refuses an IPFS_GATEWAY_URL that is not http(s), naming it', () => {
    expect(() => loadPublishingConfig({ IPFS_GATEWAY_URL: 'ftp://gw' })).toThrow(
      'IPFS_GATEWAY_URL: must be an http(s) URL (got "ftp://gw")',
    );
  });
});
