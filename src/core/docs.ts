/** The generated API reference: SEP-12 Markdown (docs/api.md) and OpenAPI (docs/openapi.json, GET /openapi.json). */
export { renderSep12 } from './docs-sep12.js';
export { renderOpenApi } from './openapi.js';
