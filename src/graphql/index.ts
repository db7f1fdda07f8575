import type express from 'express';
import type { GraphQLSchema } from 'graphql';
import type { SharedTransport } from '../core/app.js';
import type { ActionTable } from '../core/dispatch.js';
import { graphqlRoute, type GraphqlSettings } from './http.js';
import { buildGraphqlSchema } from './schema.js';

export type { GraphqlSettings } from './http.js';
export { buildGraphqlSchema, printGraphqlSchema } from './schema.js';

/**
 * The `/graphql` route for `createApp({graphql})`. `table` answers the action table in use: the schema is built at
 * startup (a mistake stops the start) and again when the table changes (result schemas reloaded in development);
 * a reloaded table the schema cannot be built from keeps the last good schema.
 */
export function createGraphql(table: () => ActionTable, settings: GraphqlSettings): (shared: SharedTransport) => express.RequestHandler {
  let built = { table: table(), schema: buildGraphqlSchema(table()) };
  const current = (): GraphQLSchema => {
    const now = table();
    if (now !== built.table) {
      let schema = built.schema;
      try {
        schema = buildGraphqlSchema(now);
      } catch {
        // the reloader already logged the declarations' problems; this table is retried on the next request only if it changes
      }
      built = { table: now, schema };
    }
    return built.schema;
  };
  return graphqlRoute(current, settings);
}
