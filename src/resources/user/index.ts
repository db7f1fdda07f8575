import { ObjectId, type Db } from 'mongodb';
import { defineAction } from '../../core/declared-types.js';
import type { HandlerContext } from '../../core/dispatch.js';
import { apiError, toApiError } from '../../core/errors.js';
import { hashPassword, verifyNobody, verifyPassword } from '../../core/passwords.js';
import { defineResource } from '../../core/resource.js';
import { checkProfile, PROFILE_FIELDS } from './profile.js';

/** Failed logins per username within the window before login answers 429 (issue 13). */
export const LOGIN_FAILURES_ALLOWED = 10;
/** The window of failed logins. */
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;

const CREDENTIALS = {
  username: { type: 'M string(3,64)', note: 'unique; compared as given (case-sensitive)' },
  password: { type: 'M string(8,128)', note: 'never stored or logged: only its scrypt hash is kept' },
} as const;

async function issueToken(ctx: HandlerContext, userId: ObjectId) {
  const { token } = await ctx.services.userTokens.issue(ctx.db, userId);
  return { access_token: token, token_type: 'Bearer' };
}

/** Refuses a login while the username is locked by failed attempts, without looking at the password. */
async function refuseLocked(db: Db, ctx: HandlerContext, bucket: string): Promise<void> {
  const state = await ctx.services.rateLimiter.peek(db, bucket);
  if (state.count >= LOGIN_FAILURES_ALLOWED) {
    throw apiError('login_rate_limited', { seconds: state.retryAfterSeconds }, { retryAfterSeconds: state.retryAfterSeconds });
  }
}

function callerId(ctx: HandlerContext): ObjectId {
  return new ObjectId(ctx.caller.id as string);
}

/** Пользователь — the dream diary's users (seed 002): register, log in, rotate the token, keep a profile. */
const user = defineResource({
  name: 'user',
  summary: 'Пользователи дневника мечты (diary users, seed 002)',
  titleZh: '用户',
  fields: {
    username: CREDENTIALS.username,
    ...PROFILE_FIELDS,
  },
  indexes: [
    { key: { username: 1 }, name: 'username_1', unique: true },
    { key: { email: 1, _id: -1 }, name: 'email_1__id_-1' },
    { key: { created_at: 1, _id: 1 }, name: 'created_at_1__id_1' },
  ],
  actions: (std) => ({
    create: defineAction({
      summary: 'Register: a new user and their first token (shown once); 409 when the username is taken',
      titleZh: '用户注册',
      callers: ['public'],
      errors: ['invalid_params', 'conflict'],
      params: CREDENTIALS,
      result: 'user_token',
      handler: async ({ username, password }, ctx) => {
        const password_hash = await hashPassword(password);
        let _id: ObjectId;
        try {
          _id = await std.model.insert(ctx.db, { username, password_hash });
        } catch (err) {
          throw toApiError(err);
        }
        return await issueToken(ctx, _id);
      },
    }),
    login: defineAction({
      summary: `Log in: a new token; 401 for a wrong username or password, 429 after ${LOGIN_FAILURES_ALLOWED} failures of one username in ${LOGIN_WINDOW_MS / 60_000} min`,
      titleZh: '用户登录',
      callers: ['public'],
      errors: ['invalid_params', 'unauthorized', 'rate_limited'],
      params: CREDENTIALS,
      result: 'user_token',
      handler: async ({ username, password }, ctx) => {
        const bucket = `login:${username}`;
        await refuseLocked(ctx.db, ctx, bucket);
        const record = await std.model.collection(ctx.db).findOne({ username }, { projection: { password_hash: 1 } });
        const ok = record ? await verifyPassword(password, String(record.password_hash)) : await verifyNobody(password);
        if (!ok || !record) {
          await ctx.services.rateLimiter.hit(ctx.db, bucket, LOGIN_WINDOW_MS);
          throw apiError('bad_login');
        }
        return await issueToken(ctx, record._id as ObjectId);
      },
    }),
    token: {
      summary: 'Rotate the token: a new one is issued and the one this call was made with stops working',
      titleZh: '刷新令牌',
      callers: ['user'],
      errors: [],
      params: {},
      result: 'user_token',
      handler: async (_params, ctx) => {
        const fresh = await issueToken(ctx, callerId(ctx));
        if (ctx.caller.tokenId) await ctx.services.userTokens.revokeId(ctx.db, ctx.caller.tokenId);
        return fresh;
      },
    },
    profile: {
      summary: "The caller's own profile (never a token or a password hash)",
      titleZh: '用户资料',
      callers: ['user'],
      access: 'read',
      errors: ['not_found'],
      params: {},
      result: 'user_profile',
      handler: async (_params, ctx) => await std.model.loadOr404(ctx.db, callerId(ctx), ctx.resultProjection),
    },
    update: {
      summary: "Change the caller's profile: fio, phone_number, email, avatar (null removes one)",
      titleZh: '修改用户资料',
      callers: ['user'],
      errors: ['invalid_params', 'not_found'],
      paramChecks: ['email: an address such as name@example.com', 'phone_number: + and 7-15 digits', 'avatar: an http(s) URL'],
      params: Object.fromEntries(
        Object.entries(PROFILE_FIELDS).map(([name, spec]) => [
          name,
          typeof spec === 'string' ? { type: spec, nullable: true } : { ...spec, nullable: true },
        ]),
      ),
      rules: [{ atLeastOne: Object.keys(PROFILE_FIELDS) }],
      result: 'user_profile',
      handler: async (params, ctx) => {
        checkProfile(params);
        const $set: Record<string, unknown> = {};
        const $unset: Record<string, ''> = {};
        for (const [field, value] of Object.entries(params)) {
          if (value === null) $unset[field] = '';
          else $set[field] = value;
        }
        const id = callerId(ctx);
        await std.model.updateChecked(ctx.db, { _id: id }, Object.keys($unset).length > 0 ? { $set, $unset } : { $set });
        return await std.model.loadOr404(ctx.db, id, ctx.resultProjection);
      },
    },
    delete: {
      summary: 'Delete the caller: every record they own (dreams, goals, tasks) and every token of theirs go with them',
      titleZh: '注销用户',
      callers: ['user'],
      errors: ['not_found'],
      params: {},
      result: 'ok_result',
      handler: async (_params, ctx) => {
        const id = callerId(ctx);
        // tokens first: a crash half-way leaves a user who cannot log in with old tokens, never a token without a user
        await ctx.services.userTokens.revokeAll(ctx.db, id);
        for (const owned of std.model.owns) await owned.model.collection(ctx.db).deleteMany({ [owned.field]: id });
        const deleted = await std.model.collection(ctx.db).deleteOne({ _id: id });
        if (deleted.deletedCount === 0) throw apiError('record_not_found', { resource: 'user', id: id.toHexString() });
        return {};
      },
    },
    get: { ...std.get({ result: 'user_detail' }), summary: 'One user by _id (internal services only)' },
    find: std.find({
      result: 'user_detail',
      filters: { username: ['eq', 'icontains'], email: ['eq'] },
      sortable: ['_id', 'created_at'],
    }),
  }),
});

export default user;
