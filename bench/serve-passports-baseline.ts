/**
 * Bench server B for bench/passports.ts: passport/find written by hand with express 5 and the official driver, no
 * framework: bearer key, JSON body, the same param checks the measured bodies need, the same queries the service
 * sends (find with sort/skip/limit+1 beside countDocuments), and the same JSON (checked byte-for-byte first).
 */
import { timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { type Document, MongoClient } from 'mongodb';
import { BENCH_KEY, benchEnv, failStartup, serve } from './child.js';

const KEY = Buffer.from(BENCH_KEY.secret, 'utf8');
const SCRATCH = Buffer.alloc(KEY.length);
const STATUSES = new Set(['production', 'built', 'revision', 'approved', 'finalized']);
const PROJECTION = { internal_id: 1, uuid: 1, model: 1, type: 1, date: 1, status: 1, serial_number: 1 };

function fail(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

function requireKey(req: Request, res: Response, next: NextFunction): void {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
  const token = match?.[1] ?? '';
  SCRATCH.fill(0);
  SCRATCH.write(token.slice(0, KEY.length), 'utf8');
  if (token.length !== KEY.length || !timingSafeEqual(SCRATCH, KEY)) {
    fail(res, 401, 'unauthorized', 'Missing or invalid API key');
    return;
  }
  next();
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/** The query of the body, or the name of the first bad param. */
function queryOf(body: Record<string, unknown>): { query: Document; page: number; limit: number; sort: Record<string, 1 | -1> } | string {
  const query: Document = {};
  const meta = (body._meta ?? {}) as { page?: unknown; limit?: unknown };
  const page = meta.page ?? 1;
  const limit = meta.limit ?? 30;
  if (!Number.isInteger(page) || (page as number) < 1) return '_meta.page';
  if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > 100) return '_meta.limit';
  if (body.status !== undefined) {
    if (typeof body.status !== 'string' || !STATUSES.has(body.status)) return 'status';
    query.status = { $eq: body.status };
  }
  const date: Document = {};
  for (const op of ['gte', 'lt'] as const) {
    const raw = body[`date__${op}`];
    if (raw === undefined) continue;
    const value = typeof raw === 'string' ? new Date(raw) : new Date(Number.NaN);
    if (Number.isNaN(value.getTime())) return `date__${op}`;
    date[`$${op}`] = value;
  }
  if (Object.keys(date).length > 0) query.date = date;
  if (body.type__in !== undefined) {
    if (!Array.isArray(body.type__in) || body.type__in.some((t) => typeof t !== 'string')) return 'type__in';
    query.type = { $in: body.type__in };
  }
  query.deleted_at = null;
  if (body.name !== undefined) {
    if (typeof body.name !== 'string') return 'name';
    const regex = { $regex: escapeRegex(body.name), $options: 'i' };
    query.$or = [{ model: regex }, { passport_short_url: regex }, { uuid: regex }];
  }
  const direction = body._sort === 'date' ? 1 : -1;
  return { query, page: page as number, limit: limit as number, sort: { date: direction, _id: direction } };
}

async function main(): Promise<void> {
  const { url, dbName } = benchEnv();
  const client = await MongoClient.connect(url, { appName: 'bench-baseline' });
  const passports = client.db(dbName).collection('passport');
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.post('/passport/find', requireKey, express.json({ limit: '1mb' }), async (req: Request, res: Response) => {
    const parsed = queryOf((req.body ?? {}) as Record<string, unknown>);
    if (typeof parsed === 'string') {
      fail(res, 400, 'invalid_params', `Invalid parameter ${parsed}`);
      return;
    }
    const { query, page, limit, sort } = parsed;
    try {
      const [rows, total] = await Promise.all([
        passports
          .find(query, { projection: PROJECTION })
          .sort(sort)
          .skip((page - 1) * limit)
          .limit(limit + 1)
          .toArray(),
        passports.countDocuments(query),
      ]);
      const hasMore = rows.length > limit;
      const data = (hasMore ? rows.slice(0, limit) : rows).map((row) => ({
        internal_id: row.internal_id ?? null,
        uuid: row.uuid ?? null,
        model: row.model ?? null,
        type: row.type ?? null,
        date: row.date instanceof Date ? row.date.toISOString() : null,
        status: row.status ?? null,
        serial_number: row.serial_number ?? null,
      }));
      res.json({ _meta: { has_more: hasMore, page, page_size: limit, result_count: total }, data });
    } catch {
      fail(res, 500, 'internal', 'Internal server error');
    }
  });
  await serve(app, () => client.close());
}

main().catch(failStartup);
