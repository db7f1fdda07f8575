import { describe, expect, it } from 'vitest';
import { ERROR_CODES, MESSAGES, apiError, formatMessage, invalidParams, type MessageTemplate } from '../../src/core/errors.js';

// en + zh templates per code (issue 9 item 7): a specific English message never comes with a generic Chinese one.
const placeholders = (text: string) => [...text.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]).sort();

describe('MESSAGES', () => {
  it.each(Object.entries(MESSAGES as Record<string, MessageTemplate>))('%s belongs to a code of the error table', (_key, template) => {
    expect(Object.keys(ERROR_CODES)).toContain(template.code);
  });

  it.each(Object.entries(MESSAGES as Record<string, MessageTemplate>))(
    '%s takes the same arguments in English as in Chinese',
    (key, template) => {
      // invalid_param's "(and N more)" has a Chinese form of its own
      const zh = key === 'invalid_param' ? placeholders(template.zh).map((p) => (p === 'more_zh' ? 'more' : p)) : placeholders(template.zh);
      const en = key === 'invalid_param' ? placeholders(template.en).filter((p) => p !== 'detail') : placeholders(template.en);
      expect(zh).toEqual(en);
    },
  );

  it.each(Object.entries(MESSAGES as Record<string, MessageTemplate>))(
    '%s has a Chinese text that is not the generic one of its code',
    (_key, template) => {
      expect(template.zh).not.toBe(ERROR_CODES[template.code].zh);
    },
  );
});

describe('apiError', () => {
  it('fills both texts, keeping the code with the reason', () => {
    const err = apiError('record_not_found', { resource: 'account', id: '5da57976ce6d2a647d539af0' });
    expect({ code: err.code, status: err.status, reason: err.reason, message: err.message, zh: err.zhMessage }).toEqual({
      code: 'not_found',
      status: 404,
      reason: 'record_not_found',
      message: 'account 5da57976ce6d2a647d539af0 not found',
      zh: 'account 5da57976ce6d2a647d539af0 不存在',
    });
  });

  it('names the first bad field in both languages for invalid_params', () => {
    const err = invalidParams([
      { field: 'docs[2].phone', messages: ['is required'] },
      { field: 'docs[3].state', messages: ['must be one of 100, 200'] },
    ]);
    expect({ reason: err.reason, message: err.message, zh: err.zhMessage }).toEqual({
      reason: 'invalid_param',
      message: 'Invalid parameter docs[2].phone: is required (and 1 more)',
      zh: '参数 docs[2].phone 错误（另有 1 处错误）',
    });
  });

  it('leaves a placeholder without an argument visible', () => {
    expect(formatMessage('{resource} {id} not found', { resource: 'group' })).toBe('group {id} not found');
  });
});
