import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/**
 * The files of the GraphiQL page, served by us from the installed packages: no CDN, so it works offline.
 * GraphiQL 4's UMD build expects React 18's UMD globals (React 19 ships no UMD build).
 */
export const GRAPHIQL_ASSETS: Record<string, { file?: string; text?: string; type: string }> = {
  'react.js': { file: packageFile('react', 'umd/react.production.min.js'), type: 'text/javascript; charset=utf-8' },
  'react-dom.js': { file: packageFile('react-dom', 'umd/react-dom.production.min.js'), type: 'text/javascript; charset=utf-8' },
  'graphiql.js': { file: packageFile('graphiql', 'graphiql.min.js'), type: 'text/javascript; charset=utf-8' },
  'graphiql.css': { file: packageFile('graphiql', 'graphiql.min.css'), type: 'text/css; charset=utf-8' },
  // a file of its own, not an inline script: the page's CSP allows scripts from this server only
  'start.js': {
    text: [
      'const fetcher = GraphiQL.createFetcher({ url: location.pathname });',
      "const headers = JSON.stringify({ Authorization: 'Bearer <your API key>' }, null, 2);",
      "ReactDOM.createRoot(document.getElementById('graphiql')).render(",
      "  React.createElement(GraphiQL, { fetcher, defaultHeaders: headers, defaultEditorToolsVisibility: 'headers' }),",
      ');',
      '',
    ].join('\n'),
    type: 'text/javascript; charset=utf-8',
  },
};

/** The page at `GET /graphql` (development): the key goes into GraphiQL's headers editor, never into the page. */
export function graphiqlPage(assetBase: string): string {
  const asset = (name: string) => `${assetBase}/${name}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>GraphiQL</title>
<link rel="stylesheet" href="${asset('graphiql.css')}">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="${asset('react.js')}"></script>
<script src="${asset('react-dom.js')}"></script>
<script src="${asset('graphiql.js')}"></script>
<script src="${asset('start.js')}"></script>
</body>
</html>
`;
}

/** Content-Security-Policy of the page: everything from this server only. */
export const GRAPHIQL_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:";

function packageFile(name: string, file: string): string {
  return path.join(path.dirname(require.resolve(`${name}/package.json`)), file);
}
