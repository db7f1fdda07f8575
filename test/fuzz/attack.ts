/**
 * The attack run: property-based requests against every action of a running service, each checked against the
 * rules a client may rely on. Used by test/fuzz/actions.test.ts (a bounded run in CI) and `npm run fuzz`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv, type ValidateFunction } from 'ajv';
import fc from 'fast-check';
import type { Db } from 'mongodb';
import { HOSTILE_VALUE, IdPool, mutate, RAW_REQUEST, type JsonSchema, validValue } from './arbitraries.js';

type Json = Record<string, unknown>;

interface Operation {
  path: string;
  requestSchema: JsonSchema;
  /** Validators of the declared 2xx answers, by status. */
  success: Map<number, { json: ValidateFunction | undefined; contentTypes: string[] }>;
}

/** One request as sent, for the report of a failing case. */
export interface AttackRequest {
  path: string;
  body: Buffer;
  headers: Record<string, string>;
}

export interface AttackAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export interface AttackFigures {
  requests: number;
  byStatus: Record<string, number>;
  operations: number;
  /** Requests sent with an Idempotency-Key, and answers replayed from an earlier one (`Idempotent-Replayed`). */
  keyed: number;
  replayed: number;
}

/** Reads the operations of an OpenAPI 3.1 document into request schemas and answer validators. */
export function readOperations(openapi: Json): { operations: Operation[]; errorBody: ValidateFunction } {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const components = (openapi.components as Json | undefined)?.schemas as Record<string, unknown> | undefined;
  ajv.addSchema({ $id: 'openapi', components: { schemas: components ?? {} } });
  const resolve = (schema: unknown): unknown => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/'));
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(openapi.paths as Record<string, Json>)) {
    const post = item.post as Json | undefined;
    if (!post) continue;
    const body = (post.requestBody as Json | undefined)?.content as Record<string, { schema?: JsonSchema }> | undefined;
    const requestSchema = body?.['application/json']?.schema ?? { type: 'object' };
    const success = new Map<number, { json: ValidateFunction | undefined; contentTypes: string[] }>();
    for (const [status, response] of Object.entries(post.responses as Record<string, Json>)) {
      if (!/^2\d\d$/.test(status)) continue;
      const content = (response.content ?? {}) as Record<string, { schema?: unknown }>;
      const jsonSchema = content['application/json']?.schema;
      success.set(Number(status), {
        json: jsonSchema ? ajv.compile(resolve(jsonSchema) as object) : undefined,
        contentTypes: Object.keys(content),
      });
    }
    operations.push({ path, requestSchema, success });
  }
  const errorBody = ajv.compile(resolve({ $ref: '#/components/schemas/Error' }) as object);
  return { operations, errorBody };
}

/** Sends one request over a keep-alive agent; rejects after `timeoutMs` (a hang is a failure). */
function send(port: number, agent: http.Agent, request: AttackRequest, timeoutMs: number): Promise<AttackAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: request.path,
        agent,
        headers: { ...request.headers, 'content-length': String(request.body.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(request.body);
  });
}

/** Why an answer breaks the rules, or undefined when it keeps them. */
export function judge(answer: AttackAnswer, operation: Operation | undefined, errorBody: ValidateFunction): string | undefined {
  if (answer.status >= 500) return `status ${answer.status}: ${answer.text.slice(0, 500)}`;
  const type =
    String(answer.headers['content-type'] ?? '')
      .split(';')[0]
      ?.trim() ?? '';
  if (answer.status >= 400) {
    if (type !== 'application/json') return `error answer with content type "${type}"`;
    const body = parseJson(answer.text);
    if (!errorBody(body)) return `error body not in the house shape: ${JSON.stringify(errorBody.errors)} — ${answer.text.slice(0, 300)}`;
    return undefined;
  }
  const declared = operation?.success.get(answer.status);
  if (!declared) return `status ${answer.status} is not declared in the OpenAPI document`;
  if (type !== 'application/json') return declared.contentTypes.includes(type) ? undefined : `content type "${type}" is not declared`;
  if (!declared.json) return `a JSON answer where the OpenAPI document declares none`;
  const body = parseJson(answer.text);
  if (!declared.json(body))
    return `answer does not match its OpenAPI schema: ${JSON.stringify(declared.json.errors?.slice(0, 3))} — ${answer.text.slice(0, 300)}`;
  return undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return Symbol('not JSON');
  }
}

/** The keys of stored documents that start with `$` (none may: a client value must never become an operator). */
export async function dollarKeys(db: Db): Promise<string[]> {
  const found: string[] = [];
  const walk = (value: unknown, path: string): void => {
    if (value === null || typeof value !== 'object' || value instanceof Date || Buffer.isBuffer(value)) return;
    if ((value as { _bsontype?: string })._bsontype) return;
    for (const [key, child] of Object.entries(value)) {
      if (key.startsWith('$')) found.push(`${path}.${key}`);
      walk(child, `${path}.${key}`);
    }
  };
  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    for await (const doc of db.collection(name).find({})) walk(doc, `${name}/${String(doc._id)}`);
  }
  return found;
}

/** Idempotency-Key values: mostly from a small pool (so retries meet), some out of format (latin1 a header can carry). */
const IDEMPOTENCY_KEY = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('retry-1', 'retry-2', 'import row 17', '~!@#$%^&*()', 'k'.repeat(255)) },
  { weight: 1, arbitrary: fc.constantFrom('', 'k'.repeat(256), 'caf\xe9', 'tab\there', '\x80-high') },
);

/**
 * Runs `requests` property-based requests against the server on `port` with the bearer `secret`; throws (with
 * fast-check's shrunk counterexample and seed) on the first answer that breaks a rule.
 */
export async function attack(options: {
  port: number;
  secret: string;
  openapi: Json;
  requests: number;
  seed?: number;
  timeoutMs?: number;
}): Promise<AttackFigures> {
  const { operations, errorBody } = readOperations(options.openapi);
  const pool = new IdPool();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const figures: AttackFigures = { requests: 0, byStatus: {}, operations: operations.length, keyed: 0, replayed: 0 };
  const auth = { authorization: `Bearer ${options.secret}`, 'content-type': 'application/json' };
  const byPath = new Map(operations.map((op) => [op.path, op]));
  const operation = fc.constantFrom(...operations);
  // cases carry the request only (a counterexample prints as the request that failed)
  const json = (op: Operation, body: unknown) => ({ path: op.path, body: Buffer.from(JSON.stringify(body) ?? 'null'), headers: auth });
  const wellFormed = operation.chain((op) => validValue(op.requestSchema, pool).map((body) => json(op, body)));
  const hostile = operation.chain((op) =>
    validValue(op.requestSchema, pool).chain((body) => mutate(body as Json, op.requestSchema).map((bad) => json(op, bad))),
  );
  // Idempotency-Key: a few keys reused across requests (replays, conflicts) and malformed ones (400)
  const keyed = fc.tuple(fc.oneof(wellFormed, hostile), IDEMPOTENCY_KEY).map(([request, key]) => ({
    ...request,
    headers: { ...request.headers, 'idempotency-key': key },
  }));
  const raw = fc.tuple(operation, RAW_REQUEST).map(([op, r]) => {
    const headers: Record<string, string> = {};
    if (r.contentType) headers['content-type'] = r.contentType;
    if (r.contentEncoding) headers['content-encoding'] = r.contentEncoding;
    headers.authorization = r.authorization ?? auth.authorization;
    return { path: op.path, body: r.body, headers };
  });
  const unknownPath = fc
    .tuple(
      fc.constantFrom(
        '/nope/get',
        '/account/nope',
        '/account',
        '/',
        '/ACCOUNT/GET',
        '/account/get/extra',
        '/%00/get',
        '/account/__proto__',
      ),
      HOSTILE_VALUE,
    )
    .map(([path, body]) => ({ path, body: Buffer.from(JSON.stringify(body) ?? 'null'), headers: auth }));
  const cases = fc.oneof(
    { weight: 5, arbitrary: wellFormed },
    { weight: 5, arbitrary: hostile },
    { weight: 2, arbitrary: keyed },
    { weight: 1, arbitrary: raw },
    { weight: 1, arbitrary: unknownPath },
  );
  try {
    await fc.assert(
      fc.asyncProperty(cases, async (request: AttackRequest) => {
        const op = byPath.get(request.path);
        const answer = await send(options.port, agent, request, options.timeoutMs ?? 10_000);
        figures.requests++;
        figures.byStatus[answer.status] = (figures.byStatus[answer.status] ?? 0) + 1;
        if (request.headers['idempotency-key'] !== undefined) figures.keyed++;
        if (answer.headers['idempotent-replayed'] === 'true') figures.replayed++;
        if (answer.status === 200) pool.collect(parseJson(answer.text));
        const broken = judge(answer, op, errorBody);
        if (broken) throw new Error(`${request.path} ${request.body.toString('utf8').slice(0, 300)}\n  → ${broken}`);
      }),
      { numRuns: options.requests, ...(options.seed === undefined ? {} : { seed: options.seed }), endOnFailure: false, maxSkipsPerRun: 0 },
    );
  } finally {
    agent.destroy();
  }
  return figures;
}

/** Listens on a free loopback port for the attack and returns it with a close function. */
export async function listen(app: http.RequestListener): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
