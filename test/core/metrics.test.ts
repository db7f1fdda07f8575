import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectDatabase } from '../../src/core/db.js';
import { createLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { createService } from '../../src/service.js';
import { parsePrometheus } from '../helpers/prometheus.js';
import { AUTH, startTestService, TEST_KEY, type TestService, uniqueDbName } from '../helpers/service.js';

let t: TestService;

beforeAll(async () => {
  t = await startTestService({ metrics: new Metrics() });
});
afterAll(async () => {
  await t?.close();
});

async function scrape(): Promise<Map<string, number>> {
  const res = await supertest(t.app).get('/metrics').set(AUTH);
  expect(res.status).toBe(200);
  return parsePrometheus(res.text);
}

function delta(before: Map<string, number>, after: Map<string, number>, key: string): number {
  return (after.get(key) ?? 0) - (before.get(key) ?? 0);
}

describe('GET /metrics', () => {
  it('answers 401 unauthorized without an API key', async () => {
    const res = await supertest(t.app).get('/metrics');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
  });

  it('answers Prometheus text that parses strictly, with process metrics', async () => {
    const res = await supertest(t.app).get('/metrics').set(AUTH);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parsePrometheus(res.text);
    expect(samples.get('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(samples.get('rpc_requests_in_flight')).toBe(1);
  });

  it('counts requests per (action, status), with one histogram observation each', async () => {
    const created = await t.call('/account/create', { name: 'metrics', phone: '13100000001', state: 100 });
    const before = await scrape();
    for (let i = 0; i < 3; i++) expect((await t.call('/account/get', { _id: created.body._id })).status).toBe(200);
    expect((await t.call('/account/get', { _id: 'nope' })).status).toBe(400);
    expect((await t.call('/account/get', { _id: '000000000000000000000000' })).status).toBe(404);
    expect((await t.call('/account/nope', {})).status).toBe(404);
    const after = await scrape();
    expect(delta(before, after, 'rpc_requests_total{action="account/get",status="200"}')).toBe(3);
    expect(delta(before, after, 'rpc_requests_total{action="account/get",status="400"}')).toBe(1);
    expect(delta(before, after, 'rpc_requests_total{action="account/get",status="404"}')).toBe(1);
    expect(delta(before, after, 'rpc_requests_total{action="unmatched",status="404"}')).toBe(1);
    expect(delta(before, after, 'rpc_request_duration_seconds_count{action="account/get"}')).toBe(5);
  });

  it('counts database commands by name, as many as the driver sent', async () => {
    const before = await scrape();
    const from = t.commands.length;
    await t.call('/account/create', { name: 'metrics 2', phone: '13100000002', state: 100 });
    const sent = t.commands.slice(from).filter((c) => c.commandName === 'insert').length;
    const after = await scrape();
    expect(sent).toBeGreaterThanOrEqual(1);
    expect(delta(before, after, 'mongodb_commands_total{command="insert",outcome="ok"}')).toBe(sent);
    expect(delta(before, after, 'mongodb_command_duration_seconds_count{command="insert"}')).toBe(sent);
    expect(after.get('mongodb_pool_connections')).toBeGreaterThan(0);
  });

  it('reports no lease holder without a worker', async () => {
    expect((await scrape()).get('payment_worker_lease_held{holder=""}')).toBe(0);
  });

  it('reports unfinished wallet transactions per (kind, state)', async () => {
    const account = await t.call('/account/create', { name: 'wallet metrics', phone: '13100000003', state: 100 });
    const wallet = await t.call('/wallet/create', { account_id: account.body._id });
    expect((await t.call('/wallet/recharge', { wallet_id: wallet.body._id, money: 100, out_trade_no: 'metrics-1' })).status).toBeLessThan(
      300,
    );
    const samples = await scrape();
    const recharges = [...samples].filter(([key]) => key.startsWith('wallet_transactions_unfinished{kind="recharge"'));
    expect(recharges.reduce((sum, [, n]) => sum + n, 0)).toBe(1);
    expect(samples.get('wallet_oldest_unfinished_transaction_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(samples.get('wallet_parked_payments')).toBe(0);
  });

  it('counts a 503 from a database that went away, with a scrape error for each gauge it could not read', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const database = await connectDatabase({ url: inject('mongoUrl'), dbName: uniqueDbName('metrics503') });
    const service = await createService({
      database,
      config: { apiKeys: [TEST_KEY], bodyLimitBytes: 1024 * 1024 },
      logger: createLogger({ level: 'silent', pretty: false }),
      metrics,
    });
    await database.db.dropDatabase();
    await database.close();
    const res = await supertest(service.app).post('/account/get').set(AUTH).send({ _id: '000000000000000000000000' });
    expect(res.status).toBe(503);
    const text = (await supertest(service.app).get('/metrics').set(AUTH)).text;
    const samples = parsePrometheus(text);
    expect(samples.get('rpc_requests_total{action="account/get",status="503"}')).toBe(1);
    expect(samples.get('metrics_scrape_errors_total{gauge="wallet_parked_payments"}')).toBe(1);
    await service.stop();
  });
});
