import { describe, expect, it } from 'vitest';
import { judge, readOperations } from './attack.js';

const openapi = {
  paths: {
    '/thing/get': {
      post: {
        requestBody: { content: { 'application/json': { schema: { type: 'object' } } } },
        responses: {
          200: {
            content: { 'application/json': { schema: { type: 'object', required: ['_id'], properties: { _id: { type: 'string' } } } } },
          },
          default: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        },
      },
    },
  },
  components: {
    schemas: {
      Error: {
        type: 'object',
        required: ['error'],
        properties: { error: { type: 'object', required: ['code'], properties: { code: { type: 'string' } } } },
      },
    },
  },
};
const { operations, errorBody } = readOperations(openapi);
const op = operations[0];
const json = { 'content-type': 'application/json; charset=utf-8' };

describe('attack suite judge', () => {
  it('flags a 5xx answer', () => {
    expect(judge({ status: 500, headers: json, text: '{"error":{"code":"internal"}}' }, op, errorBody)).toMatch(/^status 500/);
  });

  it('flags an error body that is not in the house shape', () => {
    expect(judge({ status: 400, headers: json, text: '{"message":"bad"}' }, op, errorBody)).toMatch(/house shape/);
  });

  it('flags a 200 answer that does not match its OpenAPI schema', () => {
    expect(judge({ status: 200, headers: json, text: '{"id":1}' }, op, errorBody)).toMatch(/does not match/);
  });

  it('flags a success status the document does not declare', () => {
    expect(judge({ status: 202, headers: json, text: '{}' }, op, errorBody)).toMatch(/not declared/);
  });

  it('accepts a house-shaped error or a schema-valid result', () => {
    expect(judge({ status: 404, headers: json, text: '{"error":{"code":"not_found"}}' }, op, errorBody)).toBeUndefined();
    expect(judge({ status: 200, headers: json, text: '{"_id":"x"}' }, op, errorBody)).toBeUndefined();
  });
});
