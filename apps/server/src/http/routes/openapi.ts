import type { Hono } from 'hono';
import type { AppEnv } from '../context.js';
import { buildOpenApiDocument } from '../openapi.js';
import { renderReferencePage } from '../reference-page.js';

/** `GET /openapi.json` and `GET /docs`, the readable reference; both built once. */
export function registerOpenApi(app: Hono<AppEnv>, version: string): void {
  const document = buildOpenApiDocument(version);
  const page = renderReferencePage(document);
  app.get('/openapi.json', (c) => c.json(document));
  app.get('/docs', (c) => c.html(page));
}
