import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineResource } from '../../src/core/resource.js';

/** Schemas of the probe resource. */
export const PROBE_SCHEMA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'probe-schemas');

/** A test-only resource that exercises the transport: echo, a public action, a crash, a unique index. */
export const probeResource = defineResource({
  name: 'probe',
  fields: { code: 'M string(1,32)' },
  indexes: [{ key: { code: 1 }, name: 'code_1', unique: true }],
  actions: () => ({
    echo: {
      params: { text: 'O string(0,100000)', n: 'O int(0,10)' },
      result: 'probe_echo',
      handler: async (params) => ({ received: params }),
    },
    slow: {
      params: { ms: 'M int(0,10000)' },
      result: 'probe_echo',
      // a request that takes a while without holding the event loop (readiness during a shutdown)
      handler: async (params) => {
        await new Promise((resolve) => setTimeout(resolve, params.ms as number));
        return { slept_ms: params.ms };
      },
    },
    unkeyed: {
      idempotent: false,
      params: { text: 'O string(0,100)' },
      result: 'probe_echo',
      // a write action that opts out of Idempotency-Key: every call runs
      handler: async (params, ctx) => {
        const result = await ctx.db.collection('probe_unkeyed').insertOne({ text: params.text ?? null });
        return { _id: result.insertedId.toHexString() };
      },
    },
    ping: {
      public: true,
      params: {},
      result: 'probe_echo',
      handler: async () => ({ pong: true }),
    },
    crash: {
      params: {},
      result: 'probe_echo',
      handler: async () => {
        throw new Error('driver said: connection string mongodb://admin:hunter2@db/ is broken at /srv/app/x.js:1');
      },
    },
    bad_shape: {
      params: {},
      result: 'probe_summary',
      handler: async () => ({ _id: 'not-an-object-id' }),
    },
    insert: {
      params: { code: 'M string(1,32)' },
      result: 'probe_summary',
      // straight through the driver: the unique index is the database's, not ours
      handler: async (params, ctx) => {
        const result = await ctx.db.collection('probe').insertOne({ code: params.code });
        return { _id: result.insertedId };
      },
    },
  }),
});
