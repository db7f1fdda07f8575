import type { Response } from 'supertest';
import { expect } from 'vitest';
import { ERROR_CODES, MESSAGES, formatMessage, type ErrorCode, type FieldError, type MessageTemplate } from '../../src/core/errors.js';

/**
 * The Chinese text that must come with an English one: the template whose English form the message fits (the most
 * specific one when several do), filled with the same arguments; the code's generic text when no template fits.
 */
export function zhFor(code: ErrorCode, message: string | undefined, fields?: FieldError[]): string {
  if (message === undefined) return ERROR_CODES[code].zh;
  if (code === 'invalid_params' && fields?.[0] && message.startsWith('Invalid parameter ')) {
    const more = fields.length - 1;
    return `参数 ${fields[0].field} 错误${more > 0 ? `（另有 ${more} 处错误）` : ''}`;
  }
  let best: { template: MessageTemplate; args: Record<string, string>; literal: number } | undefined;
  for (const template of Object.values(MESSAGES) as MessageTemplate[]) {
    if (template.code !== code) continue;
    const names: string[] = [];
    const source = template.en.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\{([a-z_]+)\\\}/g, (_, name: string) => {
      names.push(name);
      return '(.*?)';
    });
    const match = new RegExp(`^${source}$`).exec(message);
    if (!match) continue;
    const literal = template.en.replace(/\{[a-z_]+\}/g, '').length;
    if (best && best.literal >= literal) continue;
    best = { template, args: Object.fromEntries(names.map((name, i) => [name, match[i + 1] as string])), literal };
  }
  return best ? formatMessage(best.template.zh, best.args) : ERROR_CODES[code].zh;
}

/** The whole error body DESIGN.md §3 requires, with the request id of the response. */
export function errorBody(res: Response, code: ErrorCode, message?: string, fields?: FieldError[], zh?: string) {
  return {
    error: {
      code,
      message: message ?? ERROR_CODES[code].message,
      zh_message: zh ?? zhFor(code, message, fields),
      ...(fields ? { fields } : {}),
      request_id: res.headers['x-request-id'],
    },
  };
}

/** Asserts status and whole error body; the Chinese text must be the one of the English message's template. */
export function expectError(res: Response, status: number, code: ErrorCode, message?: string, fields?: FieldError[], zh?: string): void {
  expect({ status: res.status, body: res.body }).toEqual({ status, body: errorBody(res, code, message, fields, zh) });
}

export const HEX_ID = /^[0-9a-f]{24}$/;
