import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { ean13 } from '../../src/resources/passport/fields.js';
import type { TestService } from './service.js';

let seq = 0;

/** A fresh valid EAN-13 (unique within the test run). */
export function nextInternalId(): string {
  seq += 1;
  return ean13(`40${String(process.pid % 1000).padStart(3, '0')}${String(seq).padStart(7, '0')}`);
}

/** The same number with a wrong check digit. */
export function withWrongCheckDigit(internalId: string): string {
  return `${internalId.slice(0, 12)}${(Number(internalId[12]) + 1) % 10}`;
}

/** A passport as the seed's POST / takes it, with the given fields over the defaults. */
export function passportParams(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema_id: 'default',
    uuid: randomUUID().replaceAll('-', ''),
    internal_id: nextInternalId(),
    model: 'Манипулятор М1',
    type: 'manipulator',
    ...fields,
  };
}

/** Creates a passport through the API; returns its internal_id. */
export async function createPassport(t: TestService, fields: Record<string, unknown> = {}): Promise<string> {
  const params = passportParams(fields);
  const res = await t.call('/passport/create', params);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return params.internal_id as string;
}

/** A built passport with stages `ids` in its biography. */
export async function createBuilt(t: TestService, stageIds: string[] = ['s1', 's2', 's3']): Promise<string> {
  return await createPassport(t, {
    status: 'built',
    serial_number: `SN-${randomUUID()}`,
    biography: stageIds.map((id) => ({ id, name: `stage ${id}`, employee_name: 'Иванов' })),
  });
}

/** The stored passport document. */
export async function storedPassport(t: TestService, internalId: string) {
  return await t.db.collection('passport').findOne({ internal_id: internalId });
}
