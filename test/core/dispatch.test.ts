import { describe, expect, it } from 'vitest';
import { buildActionTable, type ActionDefinition, type ResourceDefinition } from '../../src/core/dispatch.js';
import { defineResource } from '../../src/core/resource.js';
import { PROBE_SCHEMA_DIR, probeResource } from '../helpers/probe-resource.js';

const echo: ActionDefinition = { params: {}, result: 'probe_echo', handler: async () => ({}) };

function probeWith(actions: Record<string, ActionDefinition>, name = 'probe'): ResourceDefinition {
  return { ...probeResource, name, actions };
}

describe('buildActionTable refuses malformed declarations', () => {
  it.each<[string, () => ResourceDefinition[], string]>([
    ['a resource declared twice', () => [probeResource, probeResource], 'resource probe: is declared twice'],
    ['a resource name that is not lower_snake_case', () => [probeWith({}, 'Probe')], 'resource Probe: names are lower_snake_case'],
    ['an action name with a dash', () => [probeWith({ 'do-it': echo })], 'probe/do-it: action names are lower_snake_case'],
    ['a missing result schema', () => [probeWith({ x: { ...echo, result: 'nope' } })], 'probe/x: result schema "nope" does not exist'],
    ['a missing handler', () => [probeWith({ x: { ...echo, handler: undefined as never } })], 'probe/x: has no handler'],
    [
      'a bad param type',
      () => [probeWith({ x: { ...echo, params: { a: 'M strin' } } })],
      'probe/x: param a: bad type "strin": unknown type "strin"',
    ],
    [
      'a C param without a rule',
      () => [probeWith({ x: { ...echo, params: { a: 'C string' } } })],
      'probe/x: param a: is C (conditional) but no rule names it',
    ],
    [
      'an unknown envelope',
      () => [probeWith({ x: { ...echo, envelope: 'everything' as never } })],
      'probe/x: unknown envelope "everything"',
    ],
    [
      'public that is not a boolean',
      () => [probeWith({ x: { ...echo, public: 'yes' as never } })],
      'probe/x: `public` must be true or false',
    ],
  ])('%s', (_label, resources, message) => {
    expect(() => buildActionTable(resources(), PROBE_SCHEMA_DIR)).toThrow(message);
  });

  it('refuses a reference to a resource that does not exist', () => {
    const orphan = defineResource({
      name: 'orphan',
      fields: { probe_id: 'O object_id' },
      references: { probe_id: 'nothing' },
      actions: () => ({}),
    });
    expect(() => buildActionTable([probeResource, orphan], PROBE_SCHEMA_DIR)).toThrow(
      'resource orphan: probe_id references unknown resource "nothing"',
    );
  });

  it('refuses a schema whose model_name no resource serves', () => {
    expect(() => buildActionTable([], PROBE_SCHEMA_DIR)).toThrow(
      'test/fixtures/probe-schemas/probe.yaml:6:15: probe_echo.model_name: no resource serves model "probe" (resources: )',
    );
  });
});

describe('buildActionTable refuses what the standard actions cannot serve, naming resource/action', () => {
  it.each<[string, () => ResourceDefinition, string]>([
    [
      'a filter on an undeclared field',
      () =>
        defineResource({
          name: 'r',
          fields: { a: 'M string' },
          // @ts-expect-error: the mistake is a compile error too; this checks the start refuses it in plain JavaScript
          actions: (std) => ({ find: std.find({ result: 'probe_echo', filters: { b: ['eq'] } }) }),
        }),
      'r/find: filter b: not a declared field',
    ],
    [
      'a text operator on a number',
      () =>
        defineResource({
          name: 'r',
          fields: { n: 'M int' },
          actions: (std) => ({ find: std.find({ result: 'probe_echo', filters: { n: ['icontains'] } }) }),
        }),
      'r/find: filter n: icontains needs a string field',
    ],
    [
      'sorting by an undeclared field',
      () =>
        defineResource({
          name: 'r',
          fields: { a: 'M string' },
          // @ts-expect-error: a compile error too
          actions: (std) => ({ find: std.find({ result: 'probe_echo', sortable: ['z'] }) }),
        }),
      'r/find: sortable z: not a declared field',
    ],
    [
      'mark_delete without soft delete',
      () => defineResource({ name: 'r', fields: { a: 'M string' }, actions: (std) => ({ mark_delete: std.markDelete() }) }),
      'r/mark_delete: mark_delete needs softDelete: true',
    ],
    [
      'a mark on an undeclared field',
      () =>
        defineResource({
          name: 'r',
          fields: { a: 'M string' },
          // @ts-expect-error: a compile error too
          actions: (std) => ({ mark_x: std.mark({ field: 'status', from: [1], to: 2 }) }),
        }),
      'r/mark_x: status: not a declared field',
    ],
    [
      'a reference on an undeclared field',
      // @ts-expect-error: a compile error too
      () => defineResource({ name: 'r', fields: { a: 'M string' }, references: { g_id: 'g' }, actions: () => ({}) }),
      'resource r: references: g_id is not a declared field',
    ],
  ])('%s', (_label, build, message) => {
    expect(() => buildActionTable([probeResource, build()], PROBE_SCHEMA_DIR)).toThrow(message);
  });
});
