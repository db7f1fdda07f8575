import express, { type Request, type Response } from 'express';
import { GraphQLError, NoSchemaIntrospectionCustomRule, getOperationAST, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { createHandler, type Request as GraphqlRequest } from 'graphql-http';
import type { RequestState, SharedTransport } from '../core/app.js';
import { ApiError, toApiError } from '../core/errors.js';
import { serviceCaller } from '../core/callers.js';
import { DocumentCache } from './document-cache.js';
import { GRAPHIQL_ASSETS, GRAPHIQL_CSP, graphiqlPage } from './graphiql.js';
import { DEFAULT_LIMITS, limitRules, type QueryLimits } from './limits.js';
import type { GraphqlContext } from './run.js';
import { withSpan } from '../core/tracing.js';
import { IDEMPOTENCY_HEADER, REPLAYED_HEADER } from '../core/idempotency-key.js';
import { keyedMutationRule } from './idempotency.js';

/** How `/graphql` behaves; development and production differ in the page and in introspection. */
export interface GraphqlSettings {
  /** Serve GraphiQL at `GET /graphql` to browsers (development only). */
  graphiql: boolean;
  /** Answer `__schema` / `__type` queries. */
  introspection: boolean;
  bodyLimitBytes: number;
  limits?: QueryLimits;
}

/** Distinct query texts kept parsed and validated. */
const DOCUMENT_CACHE_SIZE = 500;

interface RequestContext {
  graphql: GraphqlContext;
  state: RequestState;
}

/**
 * `GET|POST /graphql` per GraphQL-over-HTTP (graphql-http), behind the same bearer keys as the actions, with the
 * same request id in every answer and log line, the same body limit, and internal errors hidden behind their code.
 */
export function graphqlRoute(schema: () => GraphQLSchema, settings: GraphqlSettings): (shared: SharedTransport) => express.RequestHandler {
  const limits = settings.limits ?? DEFAULT_LIMITS;
  const documents = new DocumentCache(DOCUMENT_CACHE_SIZE, limits.maxTokens);
  const handle = createHandler<unknown, RequestContext, GraphqlContext>({
    schema: () => schema(),
    parse: (source) => documents.parse(typeof source === 'string' ? source : source.body),
    // the standard rules run (once per document) inside documents.validate; these are the request's own
    validate: (schema, document, rules) => documents.validate(schema, document, rules ?? []),
    onSubscribe: (_req, params) => {
      if (typeof params.query === 'string' && params.query.length > limits.maxQueryLength) {
        return [
          new GraphQLError(`The query is longer than ${limits.maxQueryLength} characters`, { extensions: { code: 'query_too_large' } }),
        ];
      }
      return undefined;
    },
    validationRules: (req, args) => {
      const key = (req.context as RequestContext).graphql.idempotency?.key;
      return [
        ...limitRules(limits, args.variableValues as Record<string, unknown> | undefined),
        ...(settings.introspection ? [] : [NoSchemaIntrospectionCustomRule]),
        ...(key !== undefined ? [keyedMutationRule(key, args.operationName)] : []),
      ];
    },
    context: (req) => (req.context as RequestContext).graphql,
    onOperation: (req, args, result) => {
      const context = req.context as RequestContext;
      const operation = getOperationAST(args.document, args.operationName);
      context.state.action = operation?.name?.value ?? operation?.operation;
      return hideInternalErrors(result as ExecutionResult, context);
    },
  });

  return (shared) => {
    const router = express.Router();
    const readBody = express.text({ limit: settings.bodyLimitBytes, type: () => true });
    if (settings.graphiql) {
      router.get('/', function graphiqlPageForBrowsers(req, res, next) {
        // a browser's navigation prefers HTML; GraphQL clients (and */*) get the endpoint itself
        if (req.url.includes('?') || req.accepts(['application/json', 'application/graphql-response+json', 'text/html']) !== 'text/html') {
          next();
          return;
        }
        res.setHeader('Content-Security-Policy', GRAPHIQL_CSP);
        res.type('html').send(graphiqlPage(`${req.baseUrl}/graphiql`));
      });
      router.get('/graphiql/:asset', function graphiqlAsset(req, res, next) {
        const asset = GRAPHIQL_ASSETS[String(req.params.asset)];
        if (!asset) {
          next();
          return;
        }
        res.setHeader('Cache-Control', 'public, max-age=3600');
        res.type(asset.type);
        if (asset.text !== undefined) res.send(asset.text);
        else res.sendFile(asset.file as string);
      });
    }
    router.all(
      '/',
      function requireKey(req, res, next) {
        const state = shared.stateOf(res);
        state.resource = 'graphql';
        const keyName = shared.authenticate(req.get('authorization'));
        if (keyName === null) {
          refuse(res, state, new ApiError('unauthorized'));
          return;
        }
        state.caller = serviceCaller(keyName);
        next();
      },
      function parseBody(req, res, next) {
        readBody(req, res, (err?: unknown) => next(err === undefined ? undefined : shared.bodyError(req, err)));
      },
      async function runGraphql(req, res) {
        const state = shared.stateOf(res);
        const graphql: GraphqlContext = {
          actionContext: () => shared.actionContext(state),
          requestId: state.requestId,
          reportInternal: (error) => {
            state.error ??= error;
          },
        };
        const key = req.get(IDEMPOTENCY_HEADER);
        if (key !== undefined && shared.idempotency) graphql.idempotency = { key, store: shared.idempotency };
        const run = () => handle(toGraphqlRequest(req, { graphql, state }));
        // the resolvers' database commands are children of the request's span (tracing on)
        const [body, init] = await (state.span ? withSpan(state.span, run) : run());
        const headers = { ...(init.headers as Record<string, string>), ...(graphql.replayed ? { [REPLAYED_HEADER]: 'true' } : {}) };
        res.writeHead(init.status, init.statusText, headers).end(body);
      },
    );
    return router;
  };
}

function toGraphqlRequest(req: Request, context: RequestContext): GraphqlRequest<Request, RequestContext> {
  return {
    url: req.url,
    method: req.method,
    headers: { get: (key: string) => req.get(key) ?? null },
    // read by express.text within the body limit; a request without a body reads as ''
    body: typeof req.body === 'string' ? req.body : '',
    raw: req,
    context,
  };
}

/** The operation's errors as clients may see them: ours keep code and fields; anything else becomes `internal`. */
function hideInternalErrors(result: ExecutionResult, { graphql }: RequestContext): ExecutionResult {
  if (!result.errors) return result;
  const errors = result.errors.map((error) => {
    if (error.extensions.code !== undefined || error.originalError === undefined) return error;
    const internal = toApiError(error.originalError);
    graphql.reportInternal(internal);
    return new GraphQLError(internal.status >= 500 ? internal.message : error.message, {
      ...(error.nodes ? { nodes: error.nodes } : {}),
      ...(error.path ? { path: error.path } : {}),
      extensions: { code: internal.code, request_id: graphql.requestId },
    });
  });
  return { ...result, errors };
}

function refuse(res: Response, state: RequestState, error: ApiError): void {
  state.error = error;
  res.status(error.status);
  if (error.code === 'unauthorized') res.setHeader('WWW-Authenticate', 'Bearer');
  res.json({ errors: [{ message: error.message, extensions: { code: error.code, request_id: state.requestId } }] });
}
