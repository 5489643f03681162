// Scoped, revocable, expiring API keys, on every door and in GraphQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/auth/api-key.ts';
import { graphql, request } from '../helpers/http.ts';
import { waitUntil } from '../helpers/service-process.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let clock = Date.parse('2026-11-24T00:00:00Z');
let app: TestApp;
let admin: string;
let secretId: string;

beforeAll(async () => {
  app = await startTestApp({ now: () => new Date(clock) });
  admin = (await app.createProject('scopes')).apiKey;
  secretId = (await request(app.baseUrl, 'POST', '/api/secrets', { apiKey: admin, body: { name: 'SCOPED', value: 'v' } })).body.id;
});
afterAll(() => app.close());

const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
  __typename ... on CreateApiKeySuccess { key apiKey { id name prefix scopes expiresAt revokedAt } } ... on Error { code message } } }`;

async function keyWith(scopes: string[], extra: Record<string, unknown> = {}) {
  const res = await graphql(app.baseUrl, CREATE_KEY, { input: { name: scopes.join('+') || 'none', scopes, ...extra } }, { apiKey: admin });
  expect(res.body.data.createApiKey.__typename).toBe('CreateApiKeySuccess');
  return res.body.data.createApiKey as { key: string; apiKey: { id: string; prefix: string; scopes: string[] } };
}

const writes = (key: string) =>
  [
    [
      'LangWatch',
      request(app.baseUrl, 'PUT', `/api/secrets/${secretId}`, { apiKey: key, body: { value: 'x' } }),
      { error: 'Forbidden', message: expect.stringContaining('secrets:write') },
    ],
    [
      'Together',
      request(app.baseUrl, 'PATCH', `/v1/deployments/secrets/${secretId}`, { headers: { authorization: `Bearer ${key}` }, body: { value: 'x' } }),
      { error: { message: expect.any(String), type: 'permission_error', param: null, code: null } },
    ],
    [
      'v1',
      request(app.baseUrl, 'PUT', `/api/v1/user/secrets/${secretId}`, { headers: { authorization: `Bearer ${key}` }, body: { value: 'x' } }),
      { code: 403, detail: expect.any(String), type: 'permission_error' },
    ],
    [
      'OpenHands',
      request(app.baseUrl, 'PUT', '/api/secrets/SCOPED', { headers: { 'x-session-api-key': key }, body: { name: 'SCOPED', description: 'x' } }),
      { detail: expect.any(String) },
    ],
  ] as const;

describe('scopes', () => {
  it("a secrets:read key reads on every door but every write is 403 in the door's body, and nothing changes", async () => {
    const { key } = await keyWith(['secrets:read']);
    expect((await request(app.baseUrl, 'GET', `/api/secrets/${secretId}`, { apiKey: key })).status).toBe(200);
    expect((await request(app.baseUrl, 'GET', '/v1/deployments/secrets', { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    expect((await request(app.baseUrl, 'GET', `/api/v1/user/secrets/${secretId}`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    for (const [door, pending, body] of writes(key)) {
      const res = await pending;
      expect([door, res.status]).toEqual([door, 403]);
      expect(res.body).toEqual(body);
    }
    const gql = await graphql(
      app.baseUrl,
      'mutation { createSecret(input: {name: "NOPE", value: "v"}) { __typename ... on Error { code } } }',
      {},
      { apiKey: key },
    );
    expect(gql.body.data.createSecret).toEqual({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
    expect(await app.models.SecretVersion.countDocuments({ secretId })).toBe(1);
    expect(await app.models.Secret.countDocuments({ name: 'NOPE' })).toBe(0);
  });

  it('a secrets:write key writes but cannot read; GraphQL queries answer FORBIDDEN', async () => {
    const { key } = await keyWith(['secrets:write']);
    expect((await request(app.baseUrl, 'PUT', `/api/secrets/${secretId}`, { apiKey: key, body: { value: 'w' } })).status).toBe(200);
    const read = await request(app.baseUrl, 'GET', `/api/secrets/${secretId}`, { apiKey: key });
    expect(read.status).toBe(403);
    const list = await graphql(app.baseUrl, '{ secrets { edges { cursor } } }', {}, { apiKey: key });
    expect(list.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it("another project's secret stays not found for a key that may read", async () => {
    const other = await app.createProject('other');
    const res = await request(app.baseUrl, 'GET', `/api/secrets/${secretId}`, { apiKey: other.apiKey });
    expect(res.status).toBe(404);
  });

  it('key management needs keys:manage', async () => {
    const { key } = await keyWith(['secrets:read', 'secrets:write']);
    const res = await graphql(app.baseUrl, CREATE_KEY, { input: { name: 'x', scopes: ['secrets:read'] } }, { apiKey: key });
    expect(res.body.data.createApiKey).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
    const list = await graphql(app.baseUrl, '{ apiKeys { edges { node { id } } } }', {}, { apiKey: key });
    expect(list.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('key management', () => {
  it('createApiKey returns the key once; apiKeys lists name, prefix and scopes, never the key or its hash', async () => {
    const created = await keyWith(['secrets:reveal', 'secrets:read']);
    expect(created.key).toMatch(/^sk-lw-[A-Za-z0-9]{43}$/);
    expect(created.apiKey.prefix).toBe(created.key.slice(0, 10));
    const res = await graphql(
      app.baseUrl,
      '{ apiKeys(first: 100) { edges { node { id name prefix scopes createdAt lastUsedAt expiresAt revokedAt } } } }',
      {},
      { apiKey: admin },
    );
    const nodes = res.body.data.apiKeys.edges.map((e: { node: Record<string, unknown> }) => e.node);
    expect(nodes.find((n: { id: string }) => n.id === created.apiKey.id)).toMatchObject({ scopes: ['secrets:reveal', 'secrets:read'], revokedAt: null });
    expect(nodes[0].scopes).toEqual(['secrets:read', 'secrets:write', 'secrets:reveal', 'keys:manage', 'webhooks:manage']);
    expect(res.text).not.toContain(created.key.slice(10));
    const stored = await app.models.ApiKey.findById(created.apiKey.id).lean();
    expect(stored?.hash).toBe(hashApiKey(created.key));
    expect(res.text).not.toContain(stored!.hash);
    expect(res.text).not.toContain(hashApiKey(admin));
    const type = await graphql(app.baseUrl, '{ __type(name: "ApiKey") { fields { name } } }', {}, { apiKey: admin });
    expect(type.body.data.__type.fields.map((f: { name: string }) => f.name).sort()).toEqual([
      'createdAt',
      'environment',
      'expiresAt',
      'id',
      'identityId',
      'lastUsedAt',
      'name',
      'prefix',
      'requireRevealReason',
      'revokedAt',
      'scopes',
    ]);
  });

  it('refuses unknown scopes, no scopes, an empty name and a past expiry with ValidationError', async () => {
    for (const input of [
      { name: 'x', scopes: ['secrets:everything'] },
      { name: 'x', scopes: [] },
      { name: ' ', scopes: ['secrets:read'] },
      { name: 'x', scopes: ['secrets:read'], expiresAt: new Date(clock - 1000).toISOString() },
    ]) {
      const res = await graphql(app.baseUrl, CREATE_KEY, { input }, { apiKey: admin });
      expect(res.body.data.createApiKey.__typename).toBe('ValidationError');
    }
  });

  it("a revoked key is refused (401) once the key cache lets it go; revoking another project's key is NotFoundError", async () => {
    const { key, apiKey } = await keyWith(['secrets:read']);
    expect((await request(app.baseUrl, 'GET', '/api/secrets', { apiKey: key })).status).toBe(200);
    const revoke = await graphql(
      app.baseUrl,
      'mutation($id: ID!) { revokeApiKey(id: $id) { __typename ... on RevokeApiKeySuccess { apiKey { revokedAt } } } }',
      { id: apiKey.id },
      { apiKey: admin },
    );
    expect(revoke.body.data.revokeApiKey.__typename).toBe('RevokeApiKeySuccess');
    // Refused once the node's cache of valid keys has let it go (README: 2 s);
    // until then it is served as before, never anything else.
    const statuses: number[] = [];
    expect(
      await waitUntil(async () => {
        statuses.push((await request(app.baseUrl, 'GET', '/api/secrets', { apiKey: key })).status);
        return statuses.at(-1) === 401;
      }),
    ).toBe(true);
    expect(statuses.slice(0, -1).filter((s) => s !== 200)).toEqual([]);
    const other = await app.createProject('elsewhere');
    const foreign = await graphql(app.baseUrl, 'mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }', { id: apiKey.id }, { apiKey: other.apiKey });
    expect(foreign.body.data.revokeApiKey.__typename).toBe('NotFoundError');
  });

  it('an expired key is refused at once, even while cached', async () => {
    const { key } = await keyWith(['secrets:read'], { expiresAt: new Date(clock + 3600_000).toISOString() });
    expect((await request(app.baseUrl, 'GET', '/api/secrets', { apiKey: key })).status).toBe(200);
    clock += 2 * 3600_000;
    const res = await request(app.baseUrl, 'GET', '/api/secrets', { apiKey: key });
    expect(res.status).toBe(401);
  });
});
