// A key can mint only keys that can do no more than itself, for no longer,
// and none outlives its creator's revocation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let clock = Date.parse('2030-06-01T00:00:00Z');
let app: TestApp;
let admin: string;
beforeAll(async () => {
  app = await startTestApp({ now: () => new Date(clock) });
  admin = (await app.createProject('minting')).apiKey;
});
afterAll(() => app.close());

const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
  __typename ... on CreateApiKeySuccess { key apiKey { id scopes expiresAt } } ... on Error { code message } ... on ValidationError { fields { path message } } } }`;
const mint = (as: string, scopes: string[], expiresAt?: number) =>
  graphql(
    app.baseUrl,
    CREATE_KEY,
    { input: { name: 'minted', scopes, ...(expiresAt ? { expiresAt: new Date(expiresAt).toISOString() } : {}) } },
    { apiKey: as },
  ).then((res) => res.body.data.createApiKey);
const minted = async (as: string, scopes: string[], expiresAt?: number) => {
  const result = await mint(as, scopes, expiresAt);
  expect(result.__typename).toBe('CreateApiKeySuccess');
  return result as { key: string; apiKey: { id: string; scopes: string[]; expiresAt: string | null } };
};
const HOUR = 3600_000;
const keyCount = () => app.models.ApiKey.countDocuments({});

describe('minting a key', () => {
  it('an expiry already passed is a ValidationError on input.expiresAt, nothing stored', async () => {
    const before = await keyCount();
    expect(await mint(admin, ['secrets:read'], clock - 1)).toEqual({
      __typename: 'ValidationError',
      code: 'VALIDATION_FAILED',
      message: 'Invalid input: input.expiresAt: expiresAt must be in the future',
      fields: [{ path: ['input', 'expiresAt'], message: 'expiresAt must be in the future' }],
    });
    expect(await keyCount()).toBe(before);
  });

  it('a key with only keys:manage cannot give a key secrets:reveal (or any scope it lacks): ForbiddenError, nothing stored', async () => {
    const manager = await minted(admin, ['keys:manage']);
    const before = await keyCount();
    for (const scopes of [['secrets:reveal'], ['keys:manage', 'secrets:read'], ['secrets:write']]) {
      const result = await mint(manager.key, scopes);
      expect(result).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
      expect(result.message).toMatch(/lacks the secrets:\w+ scope, so it cannot give it/);
    }
    expect(await keyCount()).toBe(before);
    // Its own scopes it can give.
    expect((await minted(manager.key, ['keys:manage'])).apiKey).toMatchObject({ scopes: ['keys:manage'] });
  });

  it('a key that expires mints only keys that expire, no later than itself', async () => {
    const expiry = clock + 2 * HOUR;
    const temporary = await minted(admin, ['keys:manage', 'secrets:read'], expiry);
    const before = await keyCount();
    for (const later of [undefined, expiry + 1]) {
      const result = await mint(temporary.key, ['secrets:read'], later);
      expect(result).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
      expect(result.message).toContain(`expires at ${new Date(expiry).toISOString()}`);
    }
    expect(await keyCount()).toBe(before);
    const child = await minted(temporary.key, ['secrets:read'], expiry);
    expect(child.apiKey.expiresAt).toBe(new Date(expiry).toISOString());
    clock = expiry;
    expect((await request(app.baseUrl, 'GET', '/api/secrets', { apiKey: child.key })).status).toBe(401);
  });

  it('revoking a key revokes the keys it minted, and theirs', async () => {
    const parent = await minted(admin, ['keys:manage', 'secrets:read']);
    const child = await minted(parent.key, ['keys:manage', 'secrets:read']);
    const grandchild = await minted(child.key, ['secrets:read']);
    const unrelated = await minted(admin, ['secrets:read']);
    const revoked = await graphql(app.baseUrl, 'mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }', { id: parent.apiKey.id }, { apiKey: admin });
    expect(revoked.body.data.revokeApiKey.__typename).toBe('RevokeApiKeySuccess');
    for (const { apiKey } of [parent, child, grandchild]) {
      expect((await app.models.ApiKey.findById(apiKey.id).lean())?.revokedAt).toEqual(new Date(clock));
    }
    expect((await app.models.ApiKey.findById(unrelated.apiKey.id).lean())?.revokedAt).toBeNull();
    // Refused on every request once the node's key cache lets go of it.
    await expect
      .poll(async () => (await request(app.baseUrl, 'GET', '/api/secrets', { apiKey: grandchild.key })).status, { timeout: 10_000, interval: 200 })
      .toBe(401);
    expect((await request(app.baseUrl, 'GET', '/api/secrets', { apiKey: unrelated.key })).status).toBe(200);
  });

  it('a key minted by a creator revoked meanwhile (still in the key cache) is revoked with it, and the caller is told', async () => {
    const parent = await minted(admin, ['keys:manage', 'secrets:read']);
    // The parent is cached as valid by this node now; revoke it behind the cache's back.
    expect((await request(app.baseUrl, 'GET', '/api/secrets', { apiKey: parent.key })).status).toBe(200);
    await app.models.ApiKey.updateOne({ _id: parent.apiKey.id }, { $set: { revokedAt: new Date(clock) } });
    const res = await graphql(app.baseUrl, CREATE_KEY, { input: { name: 'late', scopes: ['secrets:read'] } }, { apiKey: parent.key });
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const late = await app.models.ApiKey.findOne({ name: 'late' }).lean();
    expect(late?.revokedAt).toEqual(new Date(clock));
  });
});

describe('viewer', () => {
  const VIEWER = '{ viewer { keyId projectId scopes environment expiresAt requireRevealReason } }';
  const view = (key: string) => graphql(app.baseUrl, VIEWER, {}, { apiKey: key }).then((res) => res.body);

  it('tells any valid key what it is and may do: its project, scopes, binding, expiry and reason rule; never the key itself', async () => {
    await graphql(app.baseUrl, 'mutation { createEnvironment(input: {slug: "staging", name: "Staging"}) { __typename } }', {}, { apiKey: admin });
    const expiry = clock + 5 * HOUR;
    const made = await graphql(
      app.baseUrl,
      CREATE_KEY,
      { input: { name: 'narrow', scopes: ['secrets:read'], environment: 'staging', expiresAt: new Date(expiry).toISOString(), requireRevealReason: true } },
      { apiKey: admin },
    );
    const narrow = made.body.data.createApiKey as { key: string; apiKey: { id: string } };
    const body = await view(narrow.key);
    expect(body.errors).toBeUndefined();
    expect(body.data.viewer).toEqual({
      keyId: narrow.apiKey.id,
      projectId: expect.stringMatching(/^[0-9a-f]{24}$/),
      scopes: ['secrets:read'],
      environment: 'staging',
      expiresAt: new Date(expiry).toISOString(),
      requireRevealReason: true,
    });
    expect(JSON.stringify(body)).not.toContain(narrow.key);
    // The admin's key: unbound, never expires, its own project.
    const mine = (await view(admin)).data.viewer;
    expect(mine).toMatchObject({ projectId: body.data.viewer.projectId, environment: null, expiresAt: null, requireRevealReason: false });
    expect(mine.scopes).toEqual(expect.arrayContaining(['secrets:read', 'secrets:write', 'keys:manage']));
  });

  it('is refused without a valid key (401), as every query is', async () => {
    const res = await graphql(app.baseUrl, VIEWER, {}, { headers: { authorization: 'Bearer nope' } });
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
