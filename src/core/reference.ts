import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type Request, type Response } from 'express';
import type { ActionTable } from './dispatch.js';
import { apiError } from './errors.js';
import { renderOpenApi } from './openapi.js';

/** The Scalar page's browser bundle, shipped in the npm package: served by us, since callers may have no internet. */
const RENDERER_BUNDLE = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@scalar/api-reference')),
  'browser',
  'standalone.js',
);

// Relative URLs keep the page working behind a path prefix. No fonts, telemetry, proxy or AI agent from outside.
const PAGE = `<!doctype html>
<html lang="zh">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>RPC action API — reference</title>
</head>
<body>
  <div id="reference"></div>
  <script src="docs/scalar.js"></script>
  <script>
    Scalar.createApiReference('#reference', {
      url: 'openapi.json',
      withDefaultFonts: false,
      telemetry: false,
      agent: { disabled: true },
      hideClientButton: true,
      defaultOpenAllTags: true,
      showOperationId: true,
      showDeveloperTools: 'never',
    });
  </script>
</body>
</html>
`;

const GET_ONLY = 'GET, HEAD';

/**
 * The served reference (DESIGN.md §9): `GET /openapi.json`, the interactive page `GET /docs` and its bundle.
 * Public, like docs/ in the repository; any other method answers 405 with `Allow`.
 */
export function referenceRoutes(currentTable: () => ActionTable): express.Router {
  // rendered once per table: the table is rebuilt when result schemas are reloaded
  let rendered: { table: ActionTable; json: string } | undefined;
  const document = (): string => {
    const table = currentTable();
    if (rendered?.table !== table) rendered = { table, json: JSON.stringify(renderOpenApi(table)) };
    return rendered.json;
  };
  const router = express.Router({ caseSensitive: true, strict: true });
  router.get('/openapi.json', function openApiDocument(_req, res) {
    res.type('application/json').send(document());
  });
  router.get('/docs', function referencePage(_req, res) {
    res.type('text/html').setHeader('Cache-Control', 'no-cache').send(PAGE);
  });
  router.get('/docs/scalar.js', function rendererBundle(_req, res) {
    res.type('text/javascript').sendFile(RENDERER_BUNDLE, { maxAge: '1h' });
  });
  for (const route of ['/openapi.json', '/docs', '/docs/scalar.js']) router.all(route, methodNotAllowed(GET_ONLY));
  return router;
}

/** A handler answering 405 `method_not_allowed` with the methods the path takes in `Allow`. */
export function methodNotAllowed(allow: string): (req: Request, res: Response) => void {
  return function refuseMethod(req, res) {
    res.setHeader('Allow', allow);
    throw apiError('method_not_allowed', { method: req.method, path: req.path, allow });
  };
}
