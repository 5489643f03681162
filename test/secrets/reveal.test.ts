// The audited reveal path: the one way a value comes back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const MARKER = 'REVEAL-MARKER-9d2e';
let app: TestApp;
let admin: string;
let id: string;

beforeAll(async () => {
  app = await startTestApp();
  admin = (await app.createProject('reveal')).apiKey;
  id = (await request(app.baseUrl, 'POST', '/api/secrets', { apiKey: admin, body: { name: 'REVEALED', value: `${MARKER}-v1` } })).body.id;
  await request(app.baseUrl, 'PUT', `/api/secrets/${id}`, { apiKey: admin, body: { value: `${MARKER}-v2 ünïcødé` } });
  await request(app.baseUrl, 'POST', '/api/secrets', { apiKey: admin, body: { name: 'ALSO_REVEALED', value: `${MARKER}-other` } });
});
afterAll(() => app.close());

async function keyWith(scopes: string[]) {
  const res = await graphql(
    app.baseUrl,
    'mutation($s: [String!]!) { createApiKey(input: {name: "k", scopes: $s}) { ... on CreateApiKeySuccess { key } } }',
    { s: scopes },
    { apiKey: admin },
  );
  return res.body.data.createApiKey.key as string;
}

describe('reveal', () => {
  it('GET /api/secrets/{id}/value returns exactly the stored value, current or an older version, never cached', async () => {
    const current = await request(app.baseUrl, 'GET', `/api/secrets/${id}/value`, { apiKey: admin });
    expect(current.status).toBe(200);
    expect(current.body).toEqual({ id, name: 'REVEALED', version: 2, value: `${MARKER}-v2 ünïcødé` });
    expect(current.headers.get('cache-control')).toBe('no-store');
    const older = await request(app.baseUrl, 'GET', `/api/secrets/${id}/value?version=1`, { apiKey: admin });
    expect(older.body).toEqual({ id, name: 'REVEALED', version: 1, value: `${MARKER}-v1` });
    expect((await request(app.baseUrl, 'GET', `/api/secrets/${id}/value?version=9`, { apiKey: admin })).status).toBe(404);
  });

  it('GET /api/secrets/values returns every current value by name', async () => {
    const res = await request(app.baseUrl, 'GET', '/api/secrets/values', { apiKey: admin });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect({ ...res.body, sources: undefined }).toEqual({ values: { ALSO_REVEALED: `${MARKER}-other`, REVEALED: `${MARKER}-v2 ünïcødé` } });
  });

  it('GraphQL revealSecret returns {secret, value}', async () => {
    const query =
      'query($id: ID!, $v: Int) { revealSecret(id: $id, version: $v) { __typename ... on RevealSecretSuccess { value secret { name version } } ... on Error { code } } }';
    const res = await graphql(app.baseUrl, query, { id }, { apiKey: admin });
    expect(res.body.data.revealSecret).toEqual({ __typename: 'RevealSecretSuccess', value: `${MARKER}-v2 ünïcødé`, secret: { name: 'REVEALED', version: 2 } });
    expect((await graphql(app.baseUrl, query, { id, v: 1 }, { apiKey: admin })).body.data.revealSecret.value).toBe(`${MARKER}-v1`);
    expect((await graphql(app.baseUrl, query, { id: 'nope' }, { apiKey: admin })).body.data.revealSecret).toEqual({
      __typename: 'NotFoundError',
      code: 'NOT_FOUND',
    });
  });

  it('needs secrets:reveal: 403 / ForbiddenError otherwise, even with every other scope', async () => {
    const key = await keyWith(['secrets:read', 'secrets:write', 'keys:manage']);
    const one = await request(app.baseUrl, 'GET', `/api/secrets/${id}/value`, { apiKey: key });
    expect(one.status).toBe(403);
    expect(one.text).not.toContain(MARKER);
    expect((await request(app.baseUrl, 'GET', '/api/secrets/values', { apiKey: key })).status).toBe(403);
    const gql = await graphql(app.baseUrl, 'query($id: ID!) { revealSecret(id: $id) { __typename ... on Error { code } } }', { id }, { apiKey: key });
    expect(gql.body.data.revealSecret).toEqual({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
    const revealOnly = await keyWith(['secrets:reveal']);
    expect((await request(app.baseUrl, 'GET', `/api/secrets/${id}/value`, { apiKey: revealOnly })).status).toBe(200);
  });

  it('another project cannot reveal: not found', async () => {
    const other = await app.createProject('other');
    expect((await request(app.baseUrl, 'GET', `/api/secrets/${id}/value`, { apiKey: other.apiKey })).status).toBe(404);
    expect({ ...(await request(app.baseUrl, 'GET', '/api/secrets/values', { apiKey: other.apiKey })).body, sources: undefined }).toEqual({ values: {} });
  });

  it('every reveal is an audit event, without the value; no log line carries it', async () => {
    const events = await app.models.AuditEvent.find({ operation: 'reveal' }).lean();
    const succeeded = events.filter((e) => e.outcome === 'success');
    expect(succeeded.length).toBeGreaterThanOrEqual(7);
    expect(succeeded.some((e) => e.secretName === 'REVEALED' && e.version === 1)).toBe(true);
    expect(events.some((e) => e.outcome === 'forbidden')).toBe(true);
    for (const e of succeeded) expect(e.requestId).toBeTruthy();
    const raw = JSON.stringify(await app.connection.db!.collection('audit_events').find({}).toArray());
    expect(raw).not.toContain(MARKER);
    expect(app.logs.join('')).not.toContain(MARKER);
  });
});
