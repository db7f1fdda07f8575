/**
 * Bench server B: what a backend engineer would write by hand for the same two calls, with express 5 and the
 * official driver, and no framework: bearer-key check, JSON body, `_id` / `_meta` validation, the same queries the
 * service sends, and the same JSON answer (bench/api.ts checks that it is byte-for-byte the service's before it
 * measures anything).
 *
 *   account/get   findOne account {_id, deleted_at: null} → findOne its group → {_id, name, group_info}
 *   account/find_detail  find {deleted_at: null} sort _id desc, limit+1  ∥  countDocuments, then one $in on the groups
 *                 → {_meta: {has_more, page, page_size, result_count}, data: [{_id, name, group_info}]}
 *
 * Like the service it sends no ETag and no X-Powered-By (express computes an ETag hash of every body by default,
 * which would make the baseline do more work than the service).
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { MongoClient, ObjectId } from 'mongodb';
import { benchEnv, carriesBenchKey, COUNT_COMMANDS, countCommands, failStartup, serve } from './child.js';

interface AccountRow {
  _id: ObjectId;
  name: string;
  group_id?: ObjectId | null;
}

interface GroupRow {
  _id: ObjectId;
  name: string;
}

const HEX_ID = /^[0-9a-fA-F]{24}$/;

function fail(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

/** Bearer key in constant time, the way the service compares it (token copied into a buffer of the key's length). */
function requireKey(req: Request, res: Response, next: NextFunction): void {
  if (!carriesBenchKey(req.get('authorization'))) {
    fail(res, 401, 'unauthorized', 'A valid API key is required');
    return;
  }
  next();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function intIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function groupInfo(group: GroupRow | null | undefined): { _id: string; name: string } | null {
  return group ? { _id: group._id.toHexString(), name: group.name } : null;
}

async function main(): Promise<void> {
  const { url, dbName } = benchEnv();
  // attribution (BENCH_COMPARE=ab): the same handlers in a process that has also loaded other modules, e.g.
  // BENCH_PRELOAD=../src/service.js (the service's whole module graph) or BENCH_PRELOAD=graphql,exceljs
  for (const specifier of (process.env.BENCH_PRELOAD ?? '').split(',').filter(Boolean)) await import(specifier);
  // the options connectDatabase (src/core/db.ts) gives the service's client
  const client = new MongoClient(url, { appName: 'bench-baseline', serverSelectionTimeoutMS: 5_000, monitorCommands: COUNT_COMMANDS });
  const commands = COUNT_COMMANDS ? countCommands(client) : undefined;
  await client.connect();
  const db = client.db(dbName);
  await db.command({ ping: 1 });
  const accounts = db.collection<AccountRow>('account');
  const groups = db.collection<GroupRow>('group');

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', false);
  const json = express.json({ limit: 1_048_576 });

  app.post('/account/get', requireKey, json, async (req, res) => {
    const body: unknown = req.body;
    const id = isObject(body) ? body._id : undefined;
    if (typeof id !== 'string' || !HEX_ID.test(id)) {
      fail(res, 400, 'invalid_params', '_id must be a 24-hex object id');
      return;
    }
    const _id = ObjectId.createFromHexString(id);
    const account = await accounts.findOne({ _id, deleted_at: null }, { projection: { _id: 1, name: 1, group_id: 1 } });
    if (!account) {
      fail(res, 404, 'not_found', `account ${id} not found`);
      return;
    }
    const group = account.group_id ? await groups.findOne({ _id: account.group_id }, { projection: { _id: 1, name: 1 } }) : null;
    res.json({ _id: account._id.toHexString(), name: account.name, group_info: groupInfo(group) });
  });

  app.post('/account/find_detail', requireKey, json, async (req, res) => {
    const body: unknown = req.body ?? {};
    const meta = isObject(body) ? body._meta : undefined;
    if (!isObject(body) || (meta !== undefined && !isObject(meta))) {
      fail(res, 400, 'invalid_params', '_meta must be an object');
      return;
    }
    const page = meta?.page ?? 1;
    const limit = meta?.limit ?? 30;
    if (!intIn(page, 1, 100_000) || !intIn(limit, 1, 100)) {
      fail(res, 400, 'invalid_params', '_meta.page must be 1..100000 and _meta.limit 1..100');
      return;
    }
    const filter = { deleted_at: null };
    const [rows, total] = await Promise.all([
      accounts
        .find(filter, { projection: { _id: 1, name: 1, group_id: 1 } })
        .sort({ _id: -1 })
        .skip((page - 1) * limit)
        .limit(limit + 1)
        .toArray(),
      accounts.countDocuments(filter),
    ]);
    const hasMore = rows.length > limit;
    const pageRows = hasMore ? rows.slice(0, limit) : rows;
    const groupIds = new Map<string, ObjectId>();
    for (const row of pageRows) if (row.group_id) groupIds.set(row.group_id.toHexString(), row.group_id);
    const found =
      groupIds.size > 0 ? await groups.find({ _id: { $in: [...groupIds.values()] } }, { projection: { _id: 1, name: 1 } }).toArray() : [];
    const byId = new Map(found.map((g) => [g._id.toHexString(), g]));
    res.json({
      _meta: { has_more: hasMore, page, page_size: limit, result_count: total },
      data: pageRows.map((row) => ({
        _id: row._id.toHexString(),
        name: row.name,
        group_info: row.group_id ? groupInfo(byId.get(row.group_id.toHexString())) : null,
      })),
    });
  });

  app.use((_req: Request, res: Response) => fail(res, 404, 'unknown_action', 'Unknown action'));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: number }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) fail(res, status, 'bad_request', 'Bad request');
    else fail(res, 500, 'internal', 'Internal error');
  });

  await serve(app, () => client.close(), commands);
}

main().catch(failStartup);
