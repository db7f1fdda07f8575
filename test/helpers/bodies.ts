import type { Response } from 'supertest';
import { expect } from 'vitest';
import { ERROR_CODES, type ErrorCode, type FieldError } from '../../src/core/errors.js';

/** The whole error body DESIGN.md §3 requires, with the request id of the response. */
export function errorBody(res: Response, code: ErrorCode, message?: string, fields?: FieldError[], zh?: string) {
  return {
    error: {
      code,
      message: message ?? ERROR_CODES[code].message,
      zh_message: zh ?? ERROR_CODES[code].zh,
      ...(fields ? { fields } : {}),
      request_id: res.headers['x-request-id'],
    },
  };
}

/** Asserts status and whole error body. */
export function expectError(res: Response, status: number, code: ErrorCode, message?: string, fields?: FieldError[], zh?: string): void {
  expect({ status: res.status, body: res.body }).toEqual({ status, body: errorBody(res, code, message, fields, zh) });
}

export const HEX_ID = /^[0-9a-f]{24}$/;
