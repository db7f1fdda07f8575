/**
 * Bench server C: the same two calls in Feathers v5, written the way its docs and its generator (`npm create
 * feathers`, MongoDB, JSON schema) write a service: `@feathersjs/express` REST, one `MongoDBService` per collection,
 * `@feathersjs/schema` query validation (ajv, the generator's `validators.ts`) and resolvers, the reference filled by
 * a `virtual` property resolver in `resolveResult`, fields picked by the caller's `$select`.
 *
 *   GET /accounts/:id?$select[]=_id&$select[]=name&$select[]=group_info            → {_id, name, group_info}
 *   GET /accounts?$limit=30&$sort[_id]=-1&$select[]=…                               → {total, limit, skip, data}
 *
 * BENCH_FEATHERS_LOADER=1: the same, but `group_info` comes from a `dataloader` made per request (an around hook
 * puts it in `params`), so a page's groups are one `groups.find` with `$in` instead of one `groups.get` per row.
 *
 * Not from the docs: the bearer-key check is a small express middleware like the baseline's (Feathers' own
 * authentication is JWT/local strategies, not a static key), and like the other two servers it sends no ETag and
 * no X-Powered-By. Left out of the generated app: cors, helmet, compression, static files, the logger hook, channels.
 */
import type { RequestListener } from 'node:http';
import feathersExpressModule, { type Application, errorHandler, json, notFound, rest, urlencoded } from '@feathersjs/express';
import { feathers, type HookContext as FeathersHookContext, type NextFunction } from '@feathersjs/feathers';
import { keywordObjectId, MongoDBService } from '@feathersjs/mongodb';
import {
  addFormats,
  Ajv,
  getValidator,
  ObjectIdSchema,
  querySyntax,
  resolve,
  resolveExternal,
  resolveQuery,
  resolveResult,
  validateQuery,
  virtual,
} from '@feathersjs/schema';
import DataLoader from 'dataloader';
import { MongoClient, type ObjectId } from 'mongodb';
import { benchEnv, carriesBenchKey, COUNT_COMMANDS, countCommands, failStartup, serve } from './child.js';

interface Group {
  _id: ObjectId;
  name: string;
}

interface Account {
  _id: ObjectId;
  name: string;
  group_id?: ObjectId | null;
  group_info?: Group | null;
}

/** The generator's declarations.ts: the app's services by path, so `app.service('groups')` is typed. */
interface ServiceTypes {
  groups: MongoDBService<Group>;
  accounts: MongoDBService<Account>;
}
type HookContext = FeathersHookContext<Application<ServiceTypes>>;

// a CommonJS module: its default export is `module.exports.default` when imported from an ES module
const feathersExpress = feathersExpressModule.default;
const LOADER = process.env.BENCH_FEATHERS_LOADER === '1';

// the generator's validators.ts
const queryValidator = addFormats(new Ajv({ coerceTypes: true }), []);
queryValidator.addKeyword(keywordObjectId);

const groupProperties = { _id: ObjectIdSchema(), name: { type: 'string' } } as const;
const accountProperties = { _id: ObjectIdSchema(), name: { type: 'string' }, group_id: ObjectIdSchema(), group_info: {} } as const;
const groupQueryValidator = getValidator(
  { $id: 'GroupQuery', type: 'object', additionalProperties: false, properties: { ...querySyntax(groupProperties) } },
  queryValidator,
);
const accountQueryValidator = getValidator(
  { $id: 'AccountQuery', type: 'object', additionalProperties: false, properties: { ...querySyntax(accountProperties) } },
  queryValidator,
);

/** Soft-deleted accounts are not found, as in the service and the baseline (which load groups without that filter). */
const accountQueryResolver = resolve<Record<string, unknown>, HookContext>({ deleted_at: async () => null });
const groupQueryResolver = resolve<Record<string, unknown>, HookContext>({});

type Loaders = { groups: DataLoader<string, Group | null> };

/** The docs' association: one `groups.get` per account. */
const perRowGroup = virtual<Account, Group | null, HookContext>(async (account, context) =>
  account.group_id ? context.app.service('groups').get(account.group_id, { query: { $select: ['_id', 'name'] } }) : null,
);

/** The same association through the request's loader: the rows of one page share one `groups.find`. */
const loadedGroup = virtual<Account, Group | null, HookContext>(async (account, context) =>
  account.group_id ? (context.params.loaders as Loaders).groups.load(account.group_id.toHexString()) : null,
);

const accountResolver = resolve<Account, HookContext>({ group_info: LOADER ? loadedGroup : perRowGroup });
const accountExternalResolver = resolve<Account, HookContext>({});
const groupResolver = resolve<Group, HookContext>({});
const groupExternalResolver = resolve<Group, HookContext>({});

/** A dataloader per request (its cache lives as long as the call), batching the groups of all rows. */
async function withLoaders(context: HookContext, next: NextFunction): Promise<void> {
  const groups = context.app.service('groups');
  const load = async (ids: readonly string[]): Promise<Array<Group | null>> => {
    const found = (await groups.find({
      paginate: false,
      query: { _id: { $in: [...ids] }, $select: ['_id', 'name'] },
    })) as Group[];
    const byId = new Map(found.map((group) => [group._id.toHexString(), group]));
    return ids.map((id) => byId.get(id) ?? null);
  };
  context.params = { ...context.params, loaders: { groups: new DataLoader(load) } satisfies Loaders };
  await next();
}

function requireKey(
  req: { get(name: string): string | undefined },
  res: { status(code: number): { json(body: unknown): void } },
  next: () => void,
): void {
  if (!carriesBenchKey(req.get('authorization'))) {
    res.status(401).json({ name: 'NotAuthenticated', message: 'A valid API key is required', code: 401 });
    return;
  }
  next();
}

async function main(): Promise<void> {
  const { url, dbName } = benchEnv();
  const client = new MongoClient(url, { appName: 'bench-feathers', serverSelectionTimeoutMS: 5_000, monitorCommands: COUNT_COMMANDS });
  const commands = COUNT_COMMANDS ? countCommands(client) : undefined;
  await client.connect();
  const db = client.db(dbName);
  await db.command({ ping: 1 });

  const app = feathersExpress<ServiceTypes>(feathers<ServiceTypes>());
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requireKey);
  app.use(json({ limit: 1_048_576 }));
  app.use(urlencoded({ extended: true }));
  app.configure(rest());
  // the generator's default paginate setting
  const paginate = { default: 10, max: 50 };
  app.use('groups', new MongoDBService<Group>({ Model: db.collection('group'), paginate }));
  app.use('accounts', new MongoDBService<Account>({ Model: db.collection('account'), paginate }));
  app.service('groups').hooks({
    around: { all: [resolveExternal(groupExternalResolver), resolveResult(groupResolver)] },
    before: { all: [validateQuery(groupQueryValidator), resolveQuery(groupQueryResolver)] },
  });
  app.service('accounts').hooks({
    around: {
      all: [...(LOADER ? [withLoaders] : []), resolveExternal(accountExternalResolver), resolveResult(accountResolver)],
    },
    before: { all: [validateQuery(accountQueryValidator), resolveQuery(accountQueryResolver)] },
  });
  app.use(notFound());
  app.use(errorHandler({ logger: false }));
  await app.setup();

  // an express app is a request listener; Feathers' Application type omits express's call signature
  await serve(app as unknown as RequestListener, () => client.close(), commands);
}

main().catch(failStartup);
