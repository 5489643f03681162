// Workload identity: a real issuer on loopback (keys made and tokens signed
// by jose, its discovery document and JWKS served over HTTP), identities
// that trust it, logins over REST and GraphQL, every refusal, a key rotation
// at the issuer, and the keys a deleted identity had issued dying on two
// nodes. A GitHub Actions-shaped and a Kubernetes-shaped token each read
// exactly their environment through a seed door.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { graphqlClient } from '../helpers/doors.ts';
import { request } from '../helpers/http.ts';
import { startTestIssuer, type TestIssuer } from '../helpers/oidc-issuer.ts';
import { waitUntil } from '../helpers/service-process.ts';
import type { IssuerTiming } from '../../src/identities/oidc.ts';

const MARKER = `oidc-${randomBytes(6).toString('hex')}`;
const AUDIENCE = 'secrets-service';
let issuer: TestIssuer;
let app: TestApp;
let admin: string;

const gql = (key: string | undefined, on: TestApp = app) => graphqlClient(on.baseUrl, key);

const IDENTITY_FIELDS =
  '__typename ... on CreateIdentitySuccess { identity { id name environment scopes maxTtlSeconds claims { claim pattern } } } ... on Error { code message } ... on ValidationError { fields { path message } }';

async function createIdentity(input: Record<string, unknown>, key = admin, on: TestApp = app) {
  const res = await gql(key, on)(`mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { ${IDENTITY_FIELDS} } }`, {
    input: { issuer: issuer.url, audiences: [AUDIENCE], scopes: ['secrets:read', 'secrets:reveal'], ...input },
  });
  expect(res.body.errors).toBeUndefined();
  return res.body.data.createIdentity;
}

async function identityId(input: Record<string, unknown>, on: TestApp = app): Promise<string> {
  const result = await createIdentity(input, admin, on);
  expect(result.__typename).toBe('CreateIdentitySuccess');
  return result.identity.id;
}

const login = (identity: string, token: string, on: TestApp = app) => request(on.baseUrl, 'POST', '/api/auth/oidc', { body: { identity, token } });

async function createEnvironment(slug: string, on: TestApp = app) {
  const res = await gql(admin, on)('mutation($input: CreateEnvironmentInput!) { createEnvironment(input: $input) { __typename } }', {
    input: { slug, name: slug },
  });
  expect(res.body.data.createEnvironment.__typename).toBe('CreateEnvironmentSuccess');
}

async function createSecret(environment: string, name: string, value: string, on: TestApp = app) {
  const res = await gql(admin, on)(
    'mutation($e: String, $n: String!, $v: String!) { createSecret(environment: $e, input: {name: $n, value: $v}) { __typename } }',
    { e: environment, n: name, v: value },
  );
  expect(res.body.data.createSecret.__typename).toBe('CreateSecretSuccess');
}

/** What a GitHub Actions job's token says (the claims GitHub documents), for acme/app's main branch. */
function githubClaims(overrides: Record<string, unknown> = {}) {
  return {
    sub: 'repo:acme/app:ref:refs/heads/main',
    repository: 'acme/app',
    repository_owner: 'acme',
    repository_id: '74',
    repository_owner_id: '65',
    ref: 'refs/heads/main',
    ref_type: 'branch',
    sha: 'e4d4b2c5',
    workflow: 'deploy',
    event_name: 'push',
    job_workflow_ref: 'acme/app/.github/workflows/deploy.yml@refs/heads/main',
    runner_environment: 'github-hosted',
    actor: 'octocat',
    run_id: '1',
    jti: randomBytes(8).toString('hex'),
    ...overrides,
  };
}

/** What a Kubernetes projected service-account token says, for the api account of the prod namespace. */
function kubernetesClaims(overrides: Record<string, unknown> = {}) {
  return {
    sub: 'system:serviceaccount:prod:api',
    'kubernetes.io': {
      namespace: 'prod',
      pod: { name: 'api-7d9f', uid: 'b0e6' },
      serviceaccount: { name: 'api', uid: '5f1c' },
    },
    ...overrides,
  };
}

/** The parts of a token that must never come back or be logged: its claims and its signature. */
const tokenParts = (token: string) => token.split('.').slice(1).filter(Boolean);

function expectTokenNowhere(token: string, ...texts: string[]) {
  for (const part of tokenParts(token)) {
    for (const text of [...texts, app.logs.join('\n')]) expect(text).not.toContain(part);
  }
}

/** A node of its own trusting an issuer of its own, with one identity of it: for what must not share the suite's cache. */
async function withOwnIssuer(name: string, run: (node: TestApp, other: TestIssuer, id: string) => Promise<void>, timing?: Partial<IssuerTiming>) {
  const other = await startTestIssuer();
  const node = await startTestApp({ oidc: { allowedIssuers: [other.url], timing } });
  try {
    const key = (await node.createProject(name)).apiKey;
    const res = await gql(key, node)(`mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { ${IDENTITY_FIELDS} } }`, {
      input: { name, issuer: other.url, audiences: [AUDIENCE], subject: 'repo:*', scopes: ['secrets:read'] },
    });
    await run(node, other, res.body.data.createIdentity.identity.id);
  } finally {
    await node.close();
    await other.close();
  }
}

beforeAll(async () => {
  issuer = await startTestIssuer();
  // No cooldown between refreshes for an unknown kid here: the rotation test follows a new key at once.
  app = await startTestApp({ oidc: { allowedIssuers: [issuer.url], timing: { refreshCooldownMs: 0 } } });
  admin = (await app.createProject('oidc')).apiKey;
  await createEnvironment('ci');
  await createEnvironment('prod');
  await createSecret('default', 'DEFAULT_ONLY', `default-${MARKER}`);
  await createSecret('ci', 'DEPLOY_TOKEN', `ci-${MARKER}`);
  await createSecret('prod', 'DATABASE_URL', `prod-${MARKER}`);
});

afterAll(async () => {
  await app?.close();
  await issuer?.close();
});

describe('a GitHub Actions job', () => {
  it('logs in with its token over REST and reads exactly its environment through the LangWatch door', async () => {
    const id = await identityId({
      name: 'deploy from main',
      subject: 'repo:acme/app:ref:refs/heads/*',
      claims: [
        { claim: 'repository', pattern: 'acme/app' },
        { claim: 'job_workflow_ref', pattern: 'acme/app/.github/workflows/*.yml@refs/heads/main' },
      ],
      environment: 'ci',
      maxTtlSeconds: 900,
    });
    const token = await issuer.sign(githubClaims());
    const before = Date.now();
    const res = await login(id, token);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ environment: 'ci', scopes: ['secrets:read', 'secrets:reveal'] });
    expect(res.body.apiKey).toMatch(/^sk-lw-/);
    // maxTtlSeconds, the token living an hour.
    const expiresAt = Date.parse(res.body.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 899_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 900_000);
    expectTokenNowhere(token, res.text);

    const values = await request(app.baseUrl, 'GET', '/api/secrets/values', { apiKey: res.body.apiKey });
    expect(values.status).toBe(200);
    expect(values.body.values).toEqual({ DEPLOY_TOKEN: `ci-${MARKER}` });
    const listed = await request(app.baseUrl, 'GET', '/api/secrets', { apiKey: res.body.apiKey });
    expect(listed.body.map((s: { name: string }) => s.name)).toEqual(['DEPLOY_TOKEN']);
    // Bound: another environment is refused.
    const other = await request(app.baseUrl, 'GET', '/api/secrets/values', { apiKey: res.body.apiKey, headers: { 'x-secrets-environment': 'prod' } });
    expect(other.status).toBe(403);
    // Its scopes: no write.
    const write = await request(app.baseUrl, 'POST', '/api/secrets', { apiKey: res.body.apiKey, body: { name: 'NEW', value: 'x' } });
    expect(write.status).toBe(403);
  });

  it('is audited with its subject and the matched claims, never the token', async () => {
    const id = await identityId({ name: 'audited', subject: 'repo:acme/app:*', claims: [{ claim: 'ref', pattern: 'refs/heads/*' }], environment: 'ci' });
    const token = await issuer.sign(githubClaims({ marker: MARKER }));
    const res = await login(id, token);
    expect(res.status).toBe(200);
    const audit = await gql(admin)(
      '{ auditEvents(operation: "login_oidc", first: 5) { edges { node { keyId door environment outcome subject claims { claim value } } } } }',
    );
    expect(audit.body.data.auditEvents.edges[0].node).toEqual({
      keyId: res.body.keyId,
      door: 'auth',
      environment: 'ci',
      outcome: 'success',
      subject: 'repo:acme/app:ref:refs/heads/main',
      claims: [{ claim: 'ref', value: 'refs/heads/main' }],
    });
    const stored = JSON.stringify(await app.models.AuditEvent.collection.find({}).toArray());
    expect(stored).not.toContain(MARKER);
    expectTokenNowhere(token, stored, JSON.stringify(await app.models.ApiKey.collection.find({}).toArray()));
  });

  it('gets a key that dies when its token would be refused, not later', async () => {
    const id = await identityId({ name: 'short token', subject: 'repo:acme/app:*', environment: 'ci', maxTtlSeconds: 86_400 });
    const exp = Math.floor(Date.now() / 1000) + 120;
    const res = await login(id, await issuer.sign(githubClaims({ exp })));
    expect(res.status).toBe(200);
    expect(res.body.expiresAt).toBe(new Date(exp * 1000).toISOString());
  });
});

describe('a Kubernetes pod', () => {
  it('logs in over GraphQL with no API key, by a nested claim, and reads exactly its environment', async () => {
    const id = await identityId({
      name: 'prod api',
      subject: 'system:serviceaccount:prod:api',
      claims: [{ claim: '/kubernetes.io/namespace', pattern: 'prod' }],
      environment: 'prod',
    });
    const token = await issuer.sign(kubernetesClaims(), { alg: 'ES256' });
    const res = await gql(undefined)(
      'mutation($id: ID!, $token: String!) { loginWithOidc(identity: $id, token: $token) { __typename ... on OidcLoginSuccess { apiKey expiresAt environment } ... on Error { code message } } }',
      { id, token },
    );
    expect(res.body.errors).toBeUndefined();
    const result = res.body.data.loginWithOidc;
    expect(result).toMatchObject({ __typename: 'OidcLoginSuccess', environment: 'prod' });
    expectTokenNowhere(token, res.text);
    const values = await request(app.baseUrl, 'GET', '/api/secrets/values', { apiKey: result.apiKey });
    expect(values.body.values).toEqual({ DATABASE_URL: `prod-${MARKER}` });
  });

  it('is refused (403) from another namespace, and the refusal names the claim but not its value', async () => {
    const id = await identityId({
      name: 'prod only',
      subject: 'system:serviceaccount:*:api',
      claims: [{ claim: '/kubernetes.io/namespace', pattern: 'prod' }],
      environment: 'prod',
    });
    const token = await issuer.sign(kubernetesClaims({ sub: 'system:serviceaccount:staging:api', 'kubernetes.io': { namespace: `staging-${MARKER}` } }), {
      alg: 'ES256',
    });
    const res = await login(id, token);
    expect(res.status).toBe(403);
    expect(res.body.message).toBe('The token\'s "/kubernetes.io/namespace" claim is not the identity\'s.');
    expect(res.text).not.toContain(MARKER);
    const audit = await gql(admin)('{ auditEvents(operation: "login_oidc", outcome: "forbidden", first: 1) { edges { node { subject outcome keyId } } } }');
    expect(audit.body.data.auditEvents.edges[0].node).toEqual({ subject: 'system:serviceaccount:staging:api', outcome: 'forbidden', keyId: null });
  });
});

describe('refusals', () => {
  let id: string;
  beforeAll(async () => {
    id = await identityId({ name: 'refusals', subject: 'repo:acme/app:ref:refs/heads/main', environment: 'ci' });
  });

  const now = () => Math.floor(Date.now() / 1000);
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  const cases: [string, () => Promise<string>, RegExp][] = [
    ['another issuer', () => issuer.sign(githubClaims(), { issuer: 'https://token.actions.githubusercontent.com' }), /another issuer/],
    ['another audience', () => issuer.sign(githubClaims(), { audience: 'https://github.com/acme' }), /another audience/],
    ['expired', () => issuer.sign(githubClaims({ iat: now() - 7200, exp: now() - 3600 })), /has expired/],
    ['not valid yet', () => issuer.sign(githubClaims({ nbf: now() + 3600 })), /not valid yet/],
    [
      'unsigned (alg none)',
      async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...githubClaims(), iss: issuer.url, aud: AUDIENCE, exp: now() + 600 })}.`,
      /unsigned/,
    ],
    [
      'HMAC-signed',
      async () =>
        new SignJWT(githubClaims())
          .setProtectedHeader({ alg: 'HS256', kid: issuer.kids()[0] })
          .setIssuer(issuer.url)
          .setAudience(AUDIENCE)
          .setExpirationTime('1h')
          .sign(new Uint8Array(randomBytes(32))),
      /shared secret \(HMAC\)/,
    ],
    [
      'a bad signature',
      async () => {
        const [header, payload, signature] = (await issuer.sign(githubClaims())).split('.');
        // The claims changed after signing: a main-branch token made from another branch's.
        const forged = b64({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), ref: 'refs/heads/evil' });
        return `${header}.${forged}.${signature}`;
      },
      /signature does not verify/,
    ],
    ['a key the issuer does not publish', () => issuer.sign(githubClaims(), { kid: 'unknown-kid' }), /does not publish/],
    ['not a JWT', async () => `not-a-jwt-${MARKER}`, /not a well-formed signed JWT/],
  ];

  it.each(cases)('refuses a token %s with 401 and a reason that quotes none of it', async (_name, make, reason) => {
    const token = await make();
    const res = await login(id, token);
    expect(res.status).toBe(401);
    expect(res.body.message).toMatch(reason);
    expect(res.text).not.toContain(MARKER);
    expectTokenNowhere(token, res.text);
    // The same in GraphQL's words, with no key.
    const g = await gql(undefined)(
      'mutation($id: ID!, $token: String!) { loginWithOidc(identity: $id, token: $token) { __typename ... on Error { code message } } }',
      { id, token },
    );
    expect(g.body.data.loginWithOidc).toEqual({ __typename: 'TokenRefusedError', code: 'TOKEN_REFUSED', message: res.body.message });
  });

  it("refuses an unknown identity (401) and a subject that is not the identity's (403), issuing no key", async () => {
    const keysBefore = await app.models.ApiKey.collection.countDocuments();
    const unknown = await login('0123456789abcdef01234567', await issuer.sign(githubClaims()));
    expect(unknown.status).toBe(401);
    expect(unknown.body.message).toMatch(/No such identity/);
    const other = await login(id, await issuer.sign(githubClaims({ sub: 'repo:acme/app:ref:refs/heads/feature' })));
    expect(other.status).toBe(403);
    expect(other.body.message).toBe("The token's subject is not the identity's.");
    expect(await app.models.ApiKey.collection.countDocuments()).toBe(keysBefore);
  });

  it('quotes no token GraphQL cannot coerce, nor logs it', async () => {
    const res = await gql(undefined)('mutation($id: ID!, $token: String!) { loginWithOidc(identity: $id, token: $token) { __typename } }', {
      id,
      token: { nested: MARKER },
    });
    expect(res.body.errors?.length).toBeGreaterThan(0);
    expect(res.text).not.toContain(MARKER);
    expect(app.logs.join('\n')).not.toContain(MARKER);
  });

  it('counts refused logins against the address, as refused keys are: past the limit, 429 and no token is checked', async () => {
    const node = await startTestApp({ authFailureLimitPerMinute: 2, oidc: { allowedIssuers: [issuer.url] } });
    try {
      const token = await issuer.sign(githubClaims(), { kid: 'unknown' });
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await login(id, token, node)).status);
      expect(statuses).toEqual([401, 401, 429]);
    } finally {
      await node.close();
    }
  });

  it('lets no other operation run without a key beside a login', async () => {
    const res = await gql(undefined)(
      'mutation($id: ID!, $t: String!) { loginWithOidc(identity: $id, token: $t) { __typename } createSecret(input: {name: "X", value: "y"}) { __typename } }',
      { id, t: 'x' },
    );
    expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.body.data ?? null).toBeNull();
  });
});

describe('the issuer', () => {
  it('is followed through a key rotation: a new kid is fetched once, then known', async () => {
    const id = await identityId({ name: 'rotation', subject: 'repo:acme/app:*', environment: 'ci' });
    expect((await login(id, await issuer.sign(githubClaims()))).status).toBe(200);
    const fetched = issuer.fetches.jwks;
    await issuer.rotate('RS256');
    const res = await login(id, await issuer.sign(githubClaims()));
    expect(res.status).toBe(200);
    expect(issuer.fetches.jwks).toBe(fetched + 1);
    expect((await login(id, await issuer.sign(githubClaims()))).status).toBe(200);
    expect(issuer.fetches.jwks).toBe(fetched + 1);
    // A kid it never published: one more fetch, then the refusal (not a second fetch for the same token).
    expect((await login(id, await issuer.sign(githubClaims(), { kid: 'never' }))).status).toBe(401);
    expect(issuer.fetches.jwks).toBe(fetched + 2);
  });

  it('is refreshed for unknown kids at most once per cooldown, however many come', async () => {
    await withOwnIssuer('cooldown', async (node, other, id) => {
      const statuses = await Promise.all(
        Array.from({ length: 10 }, async (_, i) => (await login(id, await other.sign(githubClaims(), { kid: `random-${i}` }), node)).status),
      );
      expect(statuses).toEqual(Array(10).fill(401));
      // The first fetch, and one refresh for all ten.
      expect(other.fetches.jwks).toBeLessThanOrEqual(2);
      expect(other.fetches.discovery).toBeLessThanOrEqual(2);
    });
  });

  it('is read again once its keys are old, and while it is down its last keys still serve (for an hour)', async () => {
    await withOwnIssuer(
      'stale',
      async (node, other, id) => {
        const token = await other.sign(githubClaims());
        expect((await login(id, token, node)).status).toBe(200);
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect((await login(id, token, node)).status).toBe(200);
        expect(other.fetches.jwks).toBe(2);
        await other.close();
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect((await login(id, token, node)).status).toBe(200);
      },
      { keysTtlMs: 10 },
    );
  });

  it('must be https, unless OIDC_ALLOWED_ISSUERS names it', async () => {
    const http = await createIdentity({ name: 'plain', issuer: 'http://issuer.example.com', subject: 'repo:acme/*' });
    expect(http).toMatchObject({ __typename: 'ValidationError', fields: [{ path: ['input', 'issuer'] }] });
    expect(http.message).toMatch(/must be https/);
    const inward = await createIdentity({ name: 'inward', issuer: 'https://127.0.0.1:1', subject: 'repo:acme/*' });
    expect(inward).toMatchObject({ __typename: 'ValidationError', fields: [{ path: ['input', 'issuer'] }] });
    expect(inward.message).toMatch(/OIDC_ALLOWED_ISSUERS/);
    expect(await app.models.Identity.collection.countDocuments({ name: { $in: ['plain', 'inward'] } })).toBe(0);
  });

  it('cannot make the service call an internal address through its jwks_uri', async () => {
    const connections: net.Socket[] = [];
    const internal = net.createServer((socket) => void connections.push(socket.destroy()));
    await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve));
    const port = (internal.address() as AddressInfo).port;
    try {
      await withOwnIssuer('guard', async (node, other, id) => {
        for (const jwks of [`https://localhost:${port}/keys`, `https://127.0.0.2:${port}/keys`, `http://localhost:${port}/keys`]) {
          other.setDiscovery({ jwks_uri: jwks });
          const refused = await login(id, await other.sign(githubClaims()), node);
          expect(refused.status, jwks).toBe(503);
          expect(refused.body.message).toMatch(/OIDC_ALLOWED_ISSUERS|jwks_uri must be https/);
        }
        expect(connections).toHaveLength(0);
        // A discovery document that names another issuer is not followed either.
        other.setDiscovery({ issuer: 'https://token.actions.githubusercontent.com' });
        expect((await login(id, await other.sign(githubClaims()), node)).status).toBe(503);
      });
    } finally {
      internal.close();
    }
  });
});

describe('managing identities', () => {
  it('refuses what the identity could not be: a subject of only *, a taken name, a scope its maker lacks, no environment', async () => {
    expect(await createIdentity({ name: 'any', subject: '**' })).toMatchObject({ __typename: 'ValidationError', fields: [{ path: ['input', 'subject'] }] });
    expect(await createIdentity({ name: 'dup', subject: 'repo:a/*' })).toMatchObject({ __typename: 'CreateIdentitySuccess' });
    expect(await createIdentity({ name: 'dup', subject: 'repo:a/*' })).toMatchObject({ __typename: 'ConflictError' });
    expect(await createIdentity({ name: 'nowhere', subject: 'repo:a/*', environment: 'nope' })).toMatchObject({ __typename: 'NotFoundError' });
    const minted = await gql(admin)(
      'mutation { createApiKey(input: {name: "m", scopes: ["secrets:read", "keys:manage"]}) { ... on CreateApiKeySuccess { key } } }',
    );
    const narrow = minted.body.data.createApiKey.key;
    expect(await createIdentity({ name: 'wide', subject: 'repo:a/*', scopes: ['secrets:write'] }, narrow)).toMatchObject({ __typename: 'ForbiddenError' });
    const reader = await gql(admin)('mutation { createApiKey(input: {name: "r", scopes: ["secrets:read"]}) { ... on CreateApiKeySuccess { key } } }');
    const noManage = await gql(reader.body.data.createApiKey.key)('{ identities { id } }');
    expect(noManage.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('stops logins at once when deleted, and its keys on every node within the key cache bound', async () => {
    const second = await startTestApp({ dbName: app.connection.name, masterKey: app.masterKey, oidc: { allowedIssuers: [issuer.url] } });
    try {
      const id = await identityId({ name: 'to delete', subject: 'repo:acme/app:*', environment: 'ci' });
      const token = await issuer.sign(githubClaims());
      const key = (await login(id, token)).body.apiKey;
      const read = (on: TestApp) => request(on.baseUrl, 'GET', '/api/secrets/values', { apiKey: key });
      expect((await read(app)).status).toBe(200);
      expect((await read(second)).status).toBe(200);

      const listed = await gql(admin)('{ identities { id name } }');
      expect(listed.body.data.identities.map((i: { id: string }) => i.id)).toContain(id);
      const deleted = await gql(admin)(
        'mutation($id: ID!) { deleteIdentity(id: $id) { __typename ... on DeleteIdentitySuccess { revokedKeys identity { id } } } }',
        { id },
      );
      expect(deleted.body.data.deleteIdentity).toEqual({ __typename: 'DeleteIdentitySuccess', revokedKeys: 1, identity: { id } });

      // The node that deleted it refuses at once; the other within its 2 s key cache.
      expect((await read(app)).status).toBe(401);
      expect(await waitUntil(async () => (await read(second)).status === 401, 3_000)).toBe(true);
      const again = await login(id, token, second);
      expect(again.status).toBe(401);
      expect(again.body.message).toMatch(/No such identity/);
      const keyDoc = await app.models.ApiKey.collection.findOne({ identityId: { $ne: null }, revokedAt: { $ne: null } });
      expect(keyDoc).not.toBeNull();
      const keys = await gql(admin)('{ apiKeys(first: 100) { edges { node { identityId revokedAt name } } } }');
      const issued = keys.body.data.apiKeys.edges.map((e: { node: unknown }) => e.node).filter((k: { identityId: string | null }) => k.identityId === id);
      expect(issued).toEqual([{ identityId: id, revokedAt: expect.any(String), name: 'to delete: repo:acme/app:ref:refs/heads/main' }]);
    } finally {
      await second.close({ keepDatabase: true });
    }
  });

  it('takes no logins once the key that made it is revoked, and that revocation takes the keys it issued', async () => {
    const minted = await gql(admin)(
      'mutation { createApiKey(input: {name: "maker", scopes: ["secrets:read", "secrets:reveal", "keys:manage"]}) { ... on CreateApiKeySuccess { key apiKey { id } } } }',
    );
    expect(minted.body.errors).toBeUndefined();
    const maker = minted.body.data.createApiKey;
    const made = await createIdentity({ name: 'made by maker', subject: 'repo:acme/app:*', environment: 'ci' }, maker.key);
    const issued = (await login(made.identity.id, await issuer.sign(githubClaims()))).body.apiKey;
    await gql(admin)('mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }', { id: maker.apiKey.id });
    expect((await request(app.baseUrl, 'GET', '/api/secrets/values', { apiKey: issued })).status).toBe(401);
    expect((await login(made.identity.id, await issuer.sign(githubClaims()))).status).toBe(401);
  });
});
