// The served OpenAPI documents: every route in them, generated from the same zod schemas.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REST_DOOR_SLUGS, type RestDoorSlug } from '../../src/auth/caller.ts';
import { request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

type Doc = { openapi: string; paths: Record<string, Record<string, { requestBody?: any; responses: Record<string, unknown> }>> };
const fetchDoc = async (path: string) => {
  const res = await request<Doc>(app.baseUrl, 'GET', path);
  expect(res.status).toBe(200);
  expect(res.body.openapi).toBe('3.1.0');
  return res.body;
};
const operations = (doc: Doc) =>
  Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();

/** Each door's operations, by the registry's slugs: a new door is refused by the compiler until it is here. */
const OPERATIONS: Record<RestDoorSlug, string[]> = {
  langwatch: [
    'DELETE /api/secrets/{id}',
    'GET /api/secrets',
    'GET /api/secrets/values',
    'GET /api/secrets/{id}',
    'GET /api/secrets/{id}/value',
    'GET /api/secrets/{id}/versions',
    'POST /api/secrets',
    'POST /api/secrets/{id}/restore',
    'PUT /api/secrets/{id}',
  ],
  together: [
    'DELETE /v1/deployments/secrets/{id}',
    'GET /v1/deployments/secrets',
    'GET /v1/deployments/secrets/{id}',
    'PATCH /v1/deployments/secrets/{id}',
    'POST /v1/deployments/secrets',
  ],
  'user-secrets-v1': [
    'DELETE /api/v1/user/secrets/{id}',
    'GET /api/v1/user/secrets',
    'GET /api/v1/user/secrets/presets',
    'GET /api/v1/user/secrets/{id}',
    'POST /api/v1/user/secrets',
    'POST /api/v1/user/secrets/preset',
    'PUT /api/v1/user/secrets/{id}',
  ],
  openhands: [
    'DELETE /api/secrets/{secret_id}',
    'DELETE /api/v1/secrets/{secret_id}',
    'GET /api/secrets',
    'GET /api/v1/secrets',
    'GET /api/v1/secrets/search',
    'POST /api/secrets',
    'POST /api/v1/secrets',
    'PUT /api/secrets/{secret_id}',
    'PUT /api/v1/secrets/{secret_id}',
  ],
};

describe('OpenAPI documents', () => {
  it('the combined document has every REST route of the app, and nothing else', async () => {
    const combined = await fetchDoc('/openapi.json');
    // Routes the app really serves (OpenHands' V0 routes share LangWatch's paths and are in their own document).
    const served = app.routes
      .filter((r) => !(r.schema as { hide?: boolean } | undefined)?.hide && !r.constraints?.dialect)
      .flatMap((r) => (Array.isArray(r.method) ? r.method : [r.method]).filter((m) => m !== 'HEAD').map((m) => `${m} ${r.url.replace(/:(\w+)/g, '{$1}')}`))
      .sort();
    expect(served.length).toBeGreaterThanOrEqual(16);
    expect(operations(combined)).toEqual(served);
  });

  it.each(REST_DOOR_SLUGS.map((slug) => [slug, OPERATIONS[slug]] as const))("/openapi/%s.json has exactly that door's routes", async (slug, expected) => {
    expect(operations(await fetchDoc(`/openapi/${slug}.json`))).toEqual(expected);
  });

  it('documents the rules the handlers enforce (one zod source) and the error statuses', async () => {
    const langwatch = await fetchDoc('/openapi/langwatch.json');
    const create = langwatch.paths['/api/secrets']!.post!;
    const body = create.requestBody.content['application/json'].schema;
    expect(body.properties.name).toMatchObject({ minLength: 1, maxLength: 255, pattern: '^[A-Z][A-Z0-9_]*$' });
    expect(body.properties.value).toMatchObject({ minLength: 1, maxLength: 10000 });
    expect(Object.keys(create.responses).sort()).toEqual(['201', '400', '401', '403', '404', '409', '412', '413', '422', '429', '503']);

    const together = await fetchDoc('/openapi/together.json');
    const patch = together.paths['/v1/deployments/secrets/{id}']!.patch!;
    expect(patch.requestBody.content['application/json'].schema.properties.name).toMatchObject({ maxLength: 100 });

    const openhands = await fetchDoc('/openapi/openhands.json');
    expect(Object.keys(openhands.paths['/api/secrets/{secret_id}']!.put!.responses)).toContain('422');
  });
});
