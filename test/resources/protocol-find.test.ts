import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPublishingConfig } from '../../src/publishing/config.js';
import { createResources } from '../../src/resources/index.js';
import { APPROVED, FIRST_STAGE, SECOND_STAGE } from '../../src/resources/protocol/names.js';
import { createPassport } from '../helpers/passport-fixtures.js';
import { startTestService, type TestService } from '../helpers/service.js';

let t: TestService;
const unit: Record<string, string> = {};
const PENDING_AFTER_MS = 1_500;

// pending is checked with a short PROTOCOL_PENDING_AFTER_MS, read from the environment as the service reads it
beforeAll(async () => {
  const publishing = loadPublishingConfig({ PROTOCOL_PENDING_AFTER_MS: String(PENDING_AFTER_MS) });
  t = await startTestService({ resources: createResources(publishing) });
  const rows = [
    { key: 'a', name: 'Протокол датчика', serial: 'SN-ALPHA-1', status: FIRST_STAGE },
    { key: 'b', name: 'Протокол привода', serial: 'SN-BETA-2', status: SECOND_STAGE },
    { key: 'c', name: 'Протокол манипулятора', serial: 'SN-GAMMA-3', status: SECOND_STAGE },
  ];
  for (const { key, name, serial, status } of rows) {
    unit[key] = await createPassport(t, { status: 'built', serial_number: serial });
    expect((await t.call('/protocol/save', { internal_id: unit[key], protocol_name: name, rows: [], status })).status).toBe(200);
  }
  expect((await t.call('/protocol/mark_approve', { internal_id: unit.c })).status).toBe(200);
  // spread the creation dates a day apart: a, b, c from oldest to newest
  for (const [i, key] of ['a', 'b', 'c'].entries()) {
    await t.db.collection('protocol').updateOne({ internal_id: unit[key] }, { $set: { date: new Date(Date.UTC(2024, 0, 1 + i)) } });
  }
});
afterAll(async () => {
  await t.close();
});

const keysOf = (body: { data: Array<{ internal_id: string }> }) =>
  body.data.map((row) => Object.keys(unit).find((k) => unit[k] === row.internal_id));

describe('protocol/find', () => {
  it('answers rows with the unit brief, newest first', async () => {
    const res = await t.call('/protocol/find', { _meta: { limit: 1 } });
    expect(res.body).toEqual({
      _meta: { has_more: true, page: 1, page_size: 1, result_count: 3 },
      data: [
        {
          _id: expect.any(String),
          internal_id: unit.c,
          protocol_name: 'Протокол манипулятора',
          status: APPROVED,
          date: '2024-01-03T00:00:00.000Z',
          passport_info: { internal_id: unit.c, serial_number: 'SN-GAMMA-3', model: 'Манипулятор М1', status: 'approved' },
        },
      ],
    });
  });

  it('sorts oldest first with _sort date', async () => {
    expect(keysOf((await t.call('/protocol/find', { _sort: 'date' })).body)).toEqual(['a', 'b', 'c']);
  });

  it('filters by status', async () => {
    expect(keysOf((await t.call('/protocol/find', { status: SECOND_STAGE })).body)).toEqual(['b']);
  });

  it('filters by name over the protocol name', async () => {
    expect(keysOf((await t.call('/protocol/find', { name: 'ПРИВОДА' })).body)).toEqual(['b']);
  });

  it("filters by name over the unit's serial number", async () => {
    expect(keysOf((await t.call('/protocol/find', { name: 'alpha' })).body)).toEqual(['a']);
  });

  it('filters by a date range', async () => {
    expect(keysOf((await t.call('/protocol/find', { date__gte: '2024-01-02T00:00:00Z', date__lt: '2024-01-03T00:00:00Z' })).body)).toEqual([
      'b',
    ]);
  });
});

describe('protocol/pending', () => {
  it('lists protocols older than PROTOCOL_PENDING_AFTER_MS that are not approved, oldest first', async () => {
    const res = await t.call('/protocol/pending', {});
    const ids = await Promise.all(
      ['a', 'b'].map(async (k) => (await t.db.collection('protocol').findOne({ internal_id: unit[k] }))?._id.toHexString()),
    );
    expect(res.body).toEqual({ count: 2, pending: ids });
  });

  it('leaves out a protocol until it is older than the limit', async () => {
    const fresh = await createPassport(t);
    await t.call('/protocol/save', { internal_id: fresh, rows: [], status: FIRST_STAGE });
    const id = (await t.db.collection('protocol').findOne({ internal_id: fresh }))?._id.toHexString();
    expect((await t.call('/protocol/pending', {})).body.pending).not.toContain(id);
    await new Promise((resolve) => setTimeout(resolve, PENDING_AFTER_MS + 100));
    expect((await t.call('/protocol/pending', {})).body).toEqual({ count: 3, pending: [expect.any(String), expect.any(String), id] });
  });
});

describe('PROTOCOL_PENDING_AFTER_MS', () => {
  it('defaults to two days', () => {
    expect(loadPublishingConfig({}).pendingAfterMs).toBe(2 * 24 * 60 * 60 * 1000);
  });

  it('refuses a value that is not an integer, naming the variable', () => {
    expect(() => loadPublishingConfig({ PROTOCOL_PENDING_AFTER_MS: 'soon' })).toThrow(
      'PROTOCOL_PENDING_AFTER_MS: must be an integer (got "soon")',
    );
  });
});
