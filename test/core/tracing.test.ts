import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.js';
import { startTracing, startRequestSpan, traceLogFields, withSpan, type Tracing } from '../../src/core/tracing.js';
import { loadPaymentsConfig } from '../../src/payments/config.js';
import { createWorker } from '../../src/service.js';
import { graphql } from '../graphql/client.js';
import { startTestService, type TestService } from '../helpers/service.js';

const payments = loadPaymentsConfig({ WORKER_POLL_MS: '10', WALLET_LOCK_TTL_MS: '2000' });
const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let t: TestService;
let seq = 0;

beforeAll(async () => {
  tracing = (await startTracing({ exporter, serviceName: 'tracing-test' })) as Tracing;
  t = await startTestService({ payments, logMixin: traceLogFields });
});
afterAll(async () => {
  await t?.close();
  await tracing?.shutdown();
});
beforeEach(() => exporter.reset());

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

function spansOf(traceId: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
}

/** The one request span named `name`, and every other span of its trace, each a child of it. */
function requestTree(name: string): { root: ReadableSpan; children: ReadableSpan[] } {
  const roots = exporter.getFinishedSpans().filter((span) => span.kind === SpanKind.SERVER);
  expect(roots.map((span) => span.name)).toEqual([name]);
  const root = roots[0] as ReadableSpan;
  const children = spansOf(root.spanContext().traceId).filter((span) => span !== root);
  for (const child of children) expect(child.parentSpanContext?.spanId, child.name).toBe(root.spanContext().spanId);
  return { root, children };
}

async function newWallet(): Promise<string> {
  const account = (await t.call('/account/create', { name: 'traced', phone: `1660000${String(++seq).padStart(4, '0')}`, state: 100 })).body
    ._id as string;
  return (await t.call('/wallet/create', { account_id: account })).body._id as string;
}

describe('request spans', () => {
  it('gives account/find one request span whose children are its database commands', async () => {
    await t.call('/account/create', { name: 'span', phone: '16600009999', state: 100 });
    exporter.reset();
    expect((await t.call('/account/find', { name: 'span' })).status).toBe(200);
    const { root, children } = requestTree('account/find');
    expect(root.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.response.status_code': 200 });
    expect(children.map((span) => span.name).sort()).toEqual(['aggregate account', 'find account'].sort());
    for (const child of children) expect(child.attributes).toMatchObject({ 'db.system.name': 'mongodb', 'db.collection.name': 'account' });
  });

  it('joins the trace of an incoming W3C traceparent', async () => {
    const res = await t.call('/account/find', {}).set('traceparent', `00-${TRACE}-${PARENT}-01`);
    expect(res.status).toBe(200);
    const { root } = requestTree('account/find');
    expect({ trace: root.spanContext().traceId, parent: root.parentSpanContext?.spanId }).toEqual({ trace: TRACE, parent: PARENT });
  });

  it('gives a wallet transfer one request span with every wallet or transaction write as its child', async () => {
    const [from, to] = [await newWallet(), await newWallet()];
    await t.db.collection('wallet').updateOne({ _id: new ObjectId(from) }, { $set: { balance_money: 500 } });
    exporter.reset();
    const res = await t.call('/wallet/transfer', { from_wallet_id: from, to_wallet_id: to, money: 200, out_trade_no: `tr-${++seq}` });
    expect(res.body.state).toBe('done');
    const { children } = requestTree('wallet/transfer');
    // in order: the transaction recorded, each state change, two legs applied and committed, then the audit
    // entries moved from the two wallets' outboxes into wallet_audit (one read, one insert, one pull)
    expect(children.map((span) => span.name)).toEqual([
      'insert wallet_transaction',
      'update wallet_transaction',
      'update wallet',
      'update wallet',
      'update wallet_transaction',
      'update wallet',
      'update wallet',
      'update wallet_transaction',
      'find wallet',
      'insert wallet_audit',
      'update wallet',
    ]);
  });

  it('gives a GraphQL query one request span named graphql/query with its database commands as children', async () => {
    const res = await graphql(t, '{ accounts(name_Icontains: "span") { totalCount results { name } } }').expect(200);
    expect(res.body.errors).toBeUndefined();
    const { children } = requestTree('graphql/query');
    expect(children.length).toBeGreaterThan(0);
    expect(new Set(children.map((span) => span.attributes['db.collection.name']))).toEqual(new Set(['account']));
  });

  it('writes the trace id into the request log line', async () => {
    t.logs.length = 0;
    const res = await t.call('/account/find', {}).set('traceparent', `00-${TRACE}-${PARENT}-01`);
    const line = t.logs.find((entry) => entry.req_id === res.headers['x-request-id'] && entry.msg === 'request');
    expect(line?.trace_id).toBe(TRACE);
  });
});

describe('log lines and the gateway', () => {
  it('adds the span’s ids (trace_id, span_id) to a log line written inside it', () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      pretty: false,
      mixin: traceLogFields,
      destination: { write: (line: string) => lines.push(line) },
    });
    const span = startRequestSpan('POST', `00-${TRACE}-${PARENT}-01`);
    withSpan(span, () => logger.info('inside'));
    span.end();
    expect(JSON.parse(lines[0] as string)).toMatchObject({ msg: 'inside', trace_id: TRACE, span_id: span.spanContext().spanId });
  });

  it('sends the gateway the traceparent of a gateway span in the trace of the request that made the payment', async () => {
    const headers: IncomingHttpHeaders[] = [];
    const gatewayServer: Server = createServer((req, res) => {
      headers.push(req.headers);
      req.resume();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ status: 'succeeded', gateway_trade_no: `G${headers.length}` }));
    });
    await new Promise<void>((resolve) => gatewayServer.listen(0, '127.0.0.1', resolve));
    try {
      const wallet = await newWallet();
      exporter.reset();
      const res = await t
        .call('/wallet/recharge', { wallet_id: wallet, money: 100, out_trade_no: `rc-${++seq}` })
        .set('traceparent', `00-${TRACE}-${PARENT}-01`);
      const requestSpan = requestTree('wallet/recharge').root;
      const url = `http://127.0.0.1:${(gatewayServer.address() as AddressInfo).port}`;
      const worker = createWorker(
        t.db,
        t.service.engine,
        { ...payments, gateway: { kind: 'http', url, timeoutMs: 2000, token: undefined } },
        t.logger,
      );
      await worker.round();
      expect((await t.call('/wallet_transaction/get', { _id: res.body._id })).body.state).toBe('done');
      const gatewaySpan = exporter.getFinishedSpans().find((span) => span.name === 'gateway charge') as ReadableSpan;
      expect({ trace: gatewaySpan.spanContext().traceId, parent: gatewaySpan.parentSpanContext?.spanId }).toEqual({
        trace: TRACE,
        parent: requestSpan.spanContext().spanId,
      });
      expect(headers.map((h) => h.traceparent)).toEqual([`00-${TRACE}-${gatewaySpan.spanContext().spanId}-01`]);
    } finally {
      await new Promise((resolve) => gatewayServer.close(resolve));
    }
  });
});
