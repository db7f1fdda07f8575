import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError } from '../../src/core/errors.js';
import { defineResource } from '../../src/core/resource.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** A schema folder with the caller probes' schemas and the project's common ones (generic_summary, ok_result, …). */
export function callerSchemaDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'caller-schemas-'));
  copyFileSync(path.join(HERE, '..', 'fixtures', 'caller-schemas', 'caller.yaml'), path.join(dir, 'caller.yaml'));
  copyFileSync(path.join(HERE, '..', '..', 'result-schemas', 'common.yaml'), path.join(dir, 'common.yaml'));
  return dir;
}

/** A test-only resource that answers who called it, and an error with a Retry-After. */
export const callerProbe = defineResource({
  name: 'caller_probe',
  fields: { code: 'M string(1,32)' },
  actions: () => ({
    whoami: { params: {}, result: 'caller_echo', handler: async (_params, ctx) => ({ caller: ctx.caller }) },
    whoami_public: { public: true, params: {}, result: 'caller_echo', handler: async (_params, ctx) => ({ caller: ctx.caller }) },
    whoami_user: { callers: ['user'], params: {}, result: 'caller_echo', handler: async (_params, ctx) => ({ caller: ctx.caller }) },
    whoami_any: {
      callers: ['user', 'service'],
      params: {},
      result: 'caller_echo',
      handler: async (_params, ctx) => ({ caller: ctx.caller }),
    },
    busy: {
      params: {},
      result: 'caller_echo',
      handler: async () => {
        throw new ApiError('rate_limited', { retryAfterSeconds: 7 });
      },
    },
  }),
});

/** The owners of notes (a stand-in for a users resource). */
export const memberResource = defineResource({ name: 'member', fields: { name: 'M string(1,32)' }, actions: () => ({}) });

/** An owned resource with every kind of standard action, for the ownership tests. */
export const noteResource = defineResource({
  name: 'note',
  softDelete: true,
  fields: { text: 'M string(1,100)', state: 'O enum<int>(1,2)' },
  stored: { user_id: 'O object_id' },
  defaults: { state: 1 },
  owner: { field: 'user_id', resource: 'member' },
  callers: ['user', 'service'],
  indexes: [{ key: { user_id: 1, _id: -1 }, name: 'user_id_1__id_-1' }],
  updatableTransitionFields: [],
  actions: (std) => ({
    get: std.get({ result: 'note_detail' }),
    find: std.find({ result: 'note_detail', filters: { text: ['eq'] } }),
    select: std.select({ result: 'note_detail' }),
    create: std.create(),
    update: std.update(),
    mark_done: std.mark({ from: [1], to: 2 }),
    batch_done: std.batchMark({ from: [1], to: 2 }),
    mark_delete: std.markDelete(),
    mark_restore: std.markRestore(),
    batch_create: std.batchCreate(),
    batch_update: std.batchUpdate(),
    batch_delete: std.batchMarkDelete(),
  }),
});

/** The resources the caller schema folder serves (every test service on it takes all three). */
export const CALLER_RESOURCES = [callerProbe, memberResource, noteResource];
