import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CountPolicy } from '../../src/core/count-policy.js';
import { defineResource } from '../../src/core/resource.js';

/** Schemas of the tally resource. */
export const TALLY_SCHEMA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'count-schemas');

/** The cap of the capped finds of the tally resource. */
export const TALLY_CAP = 5;

const POLICIES: Record<string, CountPolicy> = {
  find: 'exact',
  find_capped: { cap: TALLY_CAP },
  find_estimated: 'estimated',
  find_estimated_capped: { cap: TALLY_CAP, estimated: true },
  find_none: 'none',
};

/** A test-only resource with one find per count policy over the same records (soft-deletable, filter `kind`). */
export const tallyResource = defineResource({
  name: 'tally',
  softDelete: true,
  fields: { kind: 'M string(1,16)' },
  indexes: [{ key: { kind: 1, _id: -1 }, name: 'kind_1__id_-1' }],
  actions: (std) =>
    Object.fromEntries(
      Object.entries(POLICIES).map(([name, count]) => [name, std.find({ result: 'tally_item', filters: { kind: ['eq'] }, count })]),
    ),
});
