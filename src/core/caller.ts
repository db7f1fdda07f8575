import type { Db } from 'mongodb';
import type { ActionContext, ActionLookup, Services } from './app.js';
import { serviceCaller, type Caller } from './callers.js';
import { apiError } from './errors.js';
import type { Logger } from './logger.js';

/** Calls `resource/action` with a params object and answers the shaped result (or throws the ApiError). */
export type InProcessCall = (path: `${string}/${string}`, params?: Record<string, unknown>) => Promise<unknown>;

/**
 * tRPC's `createCallerFactory` for the action table: runs an action without HTTP — the same param validation,
 * handler and result shaping, without transport, auth or logging — so param and shaping tests stay fast.
 */
export function createCallerFactory(actions: ActionLookup, db: Db, log: Logger, services: Services): (caller?: Caller) => InProcessCall {
  let sequence = 0;
  return (caller = serviceCaller('in-process')) =>
    async function call(path, params = {}) {
      const [resource = '', name = ''] = path.split('/');
      const action = actions.lookup(resource, name);
      if (!action) throw apiError('unknown_action', { action: path });
      const ctx: ActionContext = { db, log, requestId: `in-process-${++sequence}`, caller, services };
      return await action.run(params, ctx);
    };
}
