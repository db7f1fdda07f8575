import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError } from '../../src/core/errors.js';
import { defineResource } from '../../src/core/resource.js';

/** Schemas of the caller probe resource. */
export const CALLER_SCHEMA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'caller-schemas');

/** A test-only resource that answers who called it, and an error with a Retry-After. */
export const callerProbe = defineResource({
  name: 'caller_probe',
  fields: { code: 'M string(1,32)' },
  actions: () => ({
    whoami: { params: {}, result: 'caller_echo', handler: async (_params, ctx) => ({ caller: ctx.caller }) },
    whoami_public: { public: true, params: {}, result: 'caller_echo', handler: async (_params, ctx) => ({ caller: ctx.caller }) },
    busy: {
      params: {},
      result: 'caller_echo',
      handler: async () => {
        throw new ApiError('rate_limited', { retryAfterSeconds: 7 });
      },
    },
  }),
});
