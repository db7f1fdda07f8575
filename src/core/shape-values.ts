import { Binary, Decimal128, Double, Int32, Long, ObjectId, Timestamp } from 'mongodb';
import type { ScalarType } from './schema-format.js';
import { isPlainObject } from './schema-format.js';

/** A record that does not fit the schema it is sent with: a server bug, answered with 500 and logged. */
export class ShapeError extends Error {
  constructor(where: string, message: string) {
    super(`result does not fit ${where}: ${message}`);
    this.name = 'ShapeError';
  }
}

/** A converter for one scalar type; a value of another type is a ShapeError (never sent silently). */
export function scalarConverter(where: string, type: ScalarType): (value: unknown) => unknown {
  const bad = (value: unknown): never => {
    throw new ShapeError(where, `expected ${type}, got ${describe(value)}`);
  };
  switch (type) {
    case 'object_id':
      return (v) => {
        if (v === null || v === undefined) return null;
        if (v instanceof ObjectId) return v.toHexString();
        return typeof v === 'string' && /^[0-9a-f]{24}$/i.test(v) ? v : bad(v);
      };
    case 'string':
      return (v) => (v === null || v === undefined ? null : typeof v === 'string' ? v : bad(v));
    case 'int':
      return (v) => {
        if (v === null || v === undefined) return null;
        const n = toNumber(v);
        return n !== undefined && Number.isSafeInteger(n) ? n : bad(v);
      };
    case 'float':
      return (v) => {
        if (v === null || v === undefined) return null;
        const n = toNumber(v);
        return n !== undefined && Number.isFinite(n) ? n : bad(v);
      };
    case 'bool':
      return (v) => (v === null || v === undefined ? null : typeof v === 'boolean' ? v : bad(v));
    case 'datetime':
      return (v) => (v === null || v === undefined ? null : v instanceof Date && !Number.isNaN(v.getTime()) ? v.toISOString() : bad(v));
    case 'date':
      return (v) =>
        v === null || v === undefined ? null : v instanceof Date && !Number.isNaN(v.getTime()) ? v.toISOString().slice(0, 10) : bad(v);
  }
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v instanceof Long) return v.toNumber();
  if (v instanceof Int32 || v instanceof Double) return v.valueOf();
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

/** Any stored value as JSON (strict_mode: false passes undeclared fields through this). */
export function toJsonSafe(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof ObjectId) return value.toHexString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Long) return value.toNumber();
  if (value instanceof Int32 || value instanceof Double) return value.valueOf();
  if (value instanceof Decimal128) return value.toString();
  if (value instanceof Timestamp) return value.toString();
  if (value instanceof Binary) return Buffer.from(value.buffer).toString('base64');
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(toJsonSafe);
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonSafe(v)]));
  }
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  return value;
}

/** A value's kind for a ShapeError message (never the value of a secret-looking object). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof ObjectId) return 'an ObjectId';
  if (value instanceof Date) return 'a Date';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}
