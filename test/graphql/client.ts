import supertest from 'supertest';
import type { TestService } from '../helpers/service.js';
import { AUTH } from '../helpers/service.js';

/** POST /graphql with the test key, as a GraphQL client sends it. */
export function graphql(t: TestService, query: string, variables?: Record<string, unknown>): supertest.Test {
  return supertest(t.app)
    .post('/graphql')
    .set(AUTH)
    .set('Accept', 'application/graphql-response+json, application/json')
    .send(variables === undefined ? { query } : { query, variables });
}
