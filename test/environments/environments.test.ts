// Environments: secrets apart per environment, keys bound to one, through
// every door, GraphQL and the CLI; deleting only an empty one, decided
// against racing creates.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/process.ts';
import { doorClient, graphqlClient, type GraphqlClient } from '../helpers/doors.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
let admin: string;
let gql: GraphqlClient;

const CREATE = `mutation($name: String!, $value: String!, $env: String) {
  createSecret(input: {name: $name, value: $value}, environment: $env) {
    __typename ... on CreateSecretSuccess { secret { id name environment } } ... on Error { message }
  }
}`;

async function createIn(env: string | undefined, name: string, value: string, key = admin) {
  const res = await graphql(key)(CREATE, { name, value, env });
  return res.body.data.createSecret;
}
const graphql = (key: string) => graphqlClient(app.baseUrl, key);

async function mintKey(input: Record<string, unknown>, key = admin) {
  const res = await graphql(key)(
    `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename ... on CreateApiKeySuccess { key apiKey { environment requireRevealReason } } ... on Error { message } } }`,
    { input: { name: 'k', scopes: ['secrets:read', 'secrets:write', 'secrets:reveal', 'keys:manage'], ...input } },
  );
  return res.body.data.createApiKey;
}

beforeAll(async () => {
  app = await startTestApp();
  ({ apiKey: admin } = await app.createProject('environments'));
  gql = graphqlClient(app.baseUrl, admin);
  const made = await gql(
    'mutation { createEnvironment(input: {slug: "production", name: "Production"}) { __typename ... on CreateEnvironmentSuccess { environment { slug name } } } }',
  );
  expect(made.body.data.createEnvironment).toEqual({ __typename: 'CreateEnvironmentSuccess', environment: { slug: 'production', name: 'Production' } });
  expect((await createIn(undefined, 'DB_PASSWORD', 'default-value')).__typename).toBe('CreateSecretSuccess');
  expect((await createIn('production', 'DB_PASSWORD', 'production-value')).__typename).toBe('CreateSecretSuccess');
  expect((await createIn('production', 'PROD_ONLY', 'prod-only-value')).__typename).toBe('CreateSecretSuccess');
});
afterAll(() => app.close());

describe('environments', () => {
  it('every project has default; created ones follow, by slug; a taken slug is a ConflictError', async () => {
    const res = await gql('{ environments { slug name } }');
    expect(res.body.data.environments).toEqual([
      { slug: 'default', name: 'Default' },
      { slug: 'production', name: 'Production' },
    ]);
    const again = await gql('mutation { createEnvironment(input: {slug: "production", name: "Again"}) { __typename ... on Error { message } } }');
    expect(again.body.data.createEnvironment).toEqual({ __typename: 'ConflictError', message: 'An environment named "production" already exists' });
    const bad = await gql('mutation { createEnvironment(input: {slug: "Prod!", name: "x"}) { __typename } }');
    expect(bad.body.data.createEnvironment.__typename).toBe('ValidationError');
  });

  it('one name per environment: each has its own secret, value and list', async () => {
    const list = async (env?: string) =>
      (await gql('query($env: String) { secrets(environment: $env) { edges { node { name environment } } } }', { env })).body.data.secrets.edges.map(
        (e: { node: unknown }) => e.node,
      );
    expect(await list()).toEqual([{ name: 'DB_PASSWORD', environment: 'default' }]);
    expect(await list('production')).toEqual([
      { name: 'DB_PASSWORD', environment: 'production' },
      { name: 'PROD_ONLY', environment: 'production' },
    ]);
    const values = async (headers: Record<string, string>) => (await doorClient(app.baseUrl, admin)('GET', '/api/secrets/values', { headers })).body;
    expect({ ...(await values({})), sources: undefined }).toEqual({ values: { DB_PASSWORD: 'default-value' } });
    expect({ ...(await values({ 'x-secrets-environment': 'production' })), sources: undefined }).toEqual({
      values: { DB_PASSWORD: 'production-value', PROD_ONLY: 'prod-only-value' },
    });
  });

  it('an environment that does not exist is NotFoundError, and nothing is stored', async () => {
    const before = await app.storedCounts();
    expect(await createIn('staging', 'X', 'v')).toEqual({ __typename: 'NotFoundError', message: 'No environment named "staging" in this project' });
    const listed = await gql('{ secrets(environment: "staging") { edges { cursor } } }');
    expect(listed.body.errors?.map((e: { message: string }) => e.message)).toEqual(['No environment named "staging" in this project']);
    expect(await app.storedCounts()).toEqual(before);
  });

  it('the same Idempotency-Key in two environments makes two secrets', async () => {
    const call = doorClient(app.baseUrl, admin);
    const headers = { 'idempotency-key': 'same-key-twice' };
    const inDefault = await call('POST', '/api/secrets', { headers, body: { name: 'IDEM', value: 'v' } });
    const inProduction = await call('POST', '/api/secrets', {
      headers: { ...headers, 'x-secrets-environment': 'production' },
      body: { name: 'IDEM', value: 'v' },
    });
    expect([inDefault.status, inProduction.status]).toEqual([201, 201]);
    expect(inProduction.body.id).not.toBe(inDefault.body.id);
  });

  it('records the environment in each audit event', async () => {
    const res = await gql('{ auditEvents(first: 100) { edges { node { operation environment secretName } } } }');
    const creates = res.body.data.auditEvents.edges.map((e: { node: unknown }) => e.node).filter((n: { operation: string }) => n.operation === 'create');
    expect(creates).toContainEqual({ operation: 'create', environment: 'production', secretName: 'PROD_ONLY' });
    expect(creates).toContainEqual({ operation: 'create', environment: 'default', secretName: 'DB_PASSWORD' });
  });
});

describe('environmentMatrix', () => {
  it('each name, where it lives and at which version; valuesEqual from the server, with no value in the answer', async () => {
    expect((await createIn('production', 'SAME_EVERYWHERE', 'identical-value')).__typename).toBe('CreateSecretSuccess');
    expect((await createIn(undefined, 'SAME_EVERYWHERE', 'identical-value')).__typename).toBe('CreateSecretSuccess');
    const query = '{ environmentMatrix(names: ["DB_PASSWORD", "PROD_ONLY", "SAME_EVERYWHERE", "NONE"]) { name valuesEqual cells { environment version } } }';
    const res = await gql(query);
    expect(res.body.data.environmentMatrix).toEqual([
      {
        name: 'DB_PASSWORD',
        valuesEqual: false,
        cells: [
          { environment: 'default', version: 1 },
          { environment: 'production', version: 1 },
        ],
      },
      { name: 'PROD_ONLY', valuesEqual: null, cells: [{ environment: 'production', version: 1 }] },
      {
        name: 'SAME_EVERYWHERE',
        valuesEqual: true,
        cells: [
          { environment: 'default', version: 1 },
          { environment: 'production', version: 1 },
        ],
      },
    ]);
    for (const value of ['identical-value', 'default-value', 'production-value']) expect(res.text).not.toContain(value);
    // Without secrets:reveal: where and which version, never whether the values match.
    const { key } = await mintKey({ scopes: ['secrets:read'] });
    const reader = await graphql(key)(query);
    expect(reader.body.data.environmentMatrix.map((r: { valuesEqual: unknown }) => r.valuesEqual)).toEqual([null, null, null]);
  });
});

describe('a key bound to production', () => {
  let bound: string;
  let defaultId: string;
  beforeAll(async () => {
    const made = await mintKey({ environment: 'production' });
    expect(made.apiKey).toEqual({ environment: 'production', requireRevealReason: false });
    bound = made.key;
    defaultId = (await graphql(admin)('{ secretByName(name: "DB_PASSWORD") { id } }')).body.data.secretByName.id;
  });

  it('sees production alone through every REST door, and default through none', async () => {
    const names = (list: { name: string }[]) => list.map((s) => s.name).sort();
    const langwatch = doorClient(app.baseUrl, bound);
    expect(names((await langwatch('GET', '/api/secrets')).body)).toEqual(['DB_PASSWORD', 'IDEM', 'PROD_ONLY', 'SAME_EVERYWHERE']);
    expect((await langwatch('GET', `/api/secrets/${defaultId}`)).status).toBe(404);
    expect((await langwatch('GET', `/api/secrets/${defaultId}/value`)).status).toBe(404);
    expect((await langwatch('DELETE', `/api/secrets/${defaultId}`)).status).toBe(404);
    expect((await langwatch('GET', '/api/secrets/values')).body.values.DB_PASSWORD).toBe('production-value');
    expect(names((await doorClient(app.baseUrl, bound, 'bearer')('GET', '/v1/deployments/secrets')).body.data)).toEqual([
      'DB_PASSWORD',
      'IDEM',
      'PROD_ONLY',
      'SAME_EVERYWHERE',
    ]);
    expect((await doorClient(app.baseUrl, bound, 'bearer')('GET', `/v1/deployments/secrets/${defaultId}`)).status).toBe(404);
    expect(names((await doorClient(app.baseUrl, bound, 'x-api-key')('GET', '/api/v1/user/secrets')).body.secrets)).toEqual([
      'DB_PASSWORD',
      'IDEM',
      'PROD_ONLY',
      'SAME_EVERYWHERE',
    ]);
    expect(names((await doorClient(app.baseUrl, bound, 'x-session-api-key')('GET', '/api/v1/secrets/search')).body.items)).toEqual([
      'DB_PASSWORD',
      'IDEM',
      'PROD_ONLY',
      'SAME_EVERYWHERE',
    ]);
    // A create through a seed door lands in the key's environment.
    const made = await langwatch('POST', '/api/secrets', { body: { name: 'FROM_DOOR', value: 'v' } });
    expect(made.status).toBe(201);
    expect((await graphql(admin)('{ secretByName(name: "FROM_DOOR", environment: "production") { environment } }')).body.data.secretByName).toEqual({
      environment: 'production',
    });
    expect((await graphql(admin)('{ secretByName(name: "FROM_DOOR") { id } }')).body.data.secretByName).toBeNull();
  });

  it('cannot name default: X-Secrets-Environment and GraphQL environment are refused with 403 / ForbiddenError', async () => {
    const refused = await doorClient(app.baseUrl, bound)('GET', '/api/secrets', { headers: { 'x-secrets-environment': 'default' } });
    expect(refused.status).toBe(403);
    expect(refused.body.message).toBe('This API key is bound to the environment "production" and cannot act in "default"');
    const updated = await graphql(bound)(
      'mutation($id: ID!) { updateSecret(id: $id, input: {value: "stolen"}, environment: "default") { __typename ... on Error { message } } }',
      { id: defaultId },
    );
    expect(updated.body.data.updateSecret).toEqual({
      __typename: 'ForbiddenError',
      message: 'This API key is bound to the environment "production" and cannot act in "default"',
    });
    const revealed = await graphql(bound)('mutation { x: deleteSecret(id: "000000000000000000000000", environment: "default") { __typename } }');
    expect(revealed.body.data.x.__typename).toBe('ForbiddenError');
    // default is untouched.
    expect((await doorClient(app.baseUrl, admin)('GET', `/api/secrets/${defaultId}/value`)).body.value).toBe('default-value');
  });

  it('GraphQL without an environment acts in production; environments lists production alone', async () => {
    const res = await graphql(bound)('{ secrets { edges { node { name environment } } } environments { slug } }');
    expect(res.body.data.environments).toEqual([{ slug: 'production' }]);
    expect(res.body.data.secrets.edges.every((e: { node: { environment: string } }) => e.node.environment === 'production')).toBe(true);
  });

  it('cannot manage environments, nor mint a key for default or an unbound one', async () => {
    const env = await graphql(bound)('mutation { createEnvironment(input: {slug: "mine", name: "x"}) { __typename } }');
    expect(env.body.data.createEnvironment.__typename).toBe('ForbiddenError');
    expect((await mintKey({ environment: 'default' }, bound)).__typename).toBe('ForbiddenError');
    const minted = await mintKey({}, bound);
    expect(minted.apiKey.environment).toBe('production');
    // It sees only keys bound to production.
    const keys = await graphql(bound)('{ apiKeys(first: 100) { edges { node { environment } } } }');
    expect(new Set(keys.body.data.apiKeys.edges.map((e: { node: { environment: string } }) => e.node.environment))).toEqual(new Set(['production']));
  });

  it('the CLI with that key reads production; --env default fails', async () => {
    const env = { SECRETS_URL: app.baseUrl, SECRETS_API_KEY: bound };
    expect(await runCli(['get', 'DB_PASSWORD', '--reveal'], { env })).toMatchObject({ code: 0, stdout: 'production-value\n' });
    const refused = await runCli(['--env', 'default', 'get', 'DB_PASSWORD', '--reveal'], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^secrets: Not allowed: This API key is bound to the environment "production"/);
  });
});

describe('the CLI with an unbound key', () => {
  it('--env and SECRETS_ENV choose the environment', async () => {
    const env = { SECRETS_URL: app.baseUrl, SECRETS_API_KEY: admin };
    expect((await runCli(['get', 'DB_PASSWORD', '--reveal'], { env })).stdout).toBe('default-value\n');
    expect((await runCli(['--env', 'production', 'get', 'DB_PASSWORD', '--reveal'], { env })).stdout).toBe('production-value\n');
    expect(
      (await runCli(['run', '--', process.execPath, '-e', 'console.log(process.env.DB_PASSWORD)'], { env: { ...env, SECRETS_ENV: 'production' } })).stdout,
    ).toBe('production-value\n');
  });
});

describe('deleting an environment', () => {
  const del = (slug: string) =>
    gql(
      `mutation { deleteEnvironment(slug: "${slug}") { __typename ... on Error { message } ... on ValidationError { fields { path } } ... on DeleteEnvironmentSuccess { environment { slug } } } }`,
    );

  it('only an empty one; never default', async () => {
    expect((await del('production')).body.data.deleteEnvironment).toEqual({
      __typename: 'ConflictError',
      message: 'The environment "production" still holds 5 secrets and 0 deleted ones still restorable: delete or purge them first',
    });
    expect((await del('default')).body.data.deleteEnvironment).toMatchObject({ __typename: 'ValidationError', fields: [{ path: ['slug'] }] });
    await gql('mutation { createEnvironment(input: {slug: "empty", name: "Empty"}) { __typename } }');
    expect((await del('empty')).body.data.deleteEnvironment).toEqual({ __typename: 'DeleteEnvironmentSuccess', environment: { slug: 'empty' } });
    expect((await del('empty')).body.data.deleteEnvironment.__typename).toBe('NotFoundError');
  });

  it('racing creates: when the delete wins, no secret is left in the environment', async () => {
    for (let round = 0; round < 6; round++) {
      const slug = `race-${round}`;
      await gql(`mutation { createEnvironment(input: {slug: "${slug}", name: "x"}) { __typename } }`);
      const [deleted, ...created] = await Promise.all([del(slug), ...Array.from({ length: 3 }, (_, i) => createIn(slug, `RACE_${i}`, 'v'))]);
      const kept = await app.models.Secret.countDocuments({ environment: slug });
      if (deleted.body.data.deleteEnvironment.__typename === 'DeleteEnvironmentSuccess') {
        expect({ round, kept }).toEqual({ round, kept: 0 });
        for (const c of created) expect(['NotFoundError', 'CreateSecretSuccess']).toContain(c.__typename);
      } else {
        expect(deleted.body.data.deleteEnvironment.__typename).toBe('ConflictError');
        expect(kept).toBe(created.filter((c) => c.__typename === 'CreateSecretSuccess').length);
      }
    }
  });
});

describe('reveal reasons', () => {
  it('a key created with requireRevealReason must give one: 403 / ForbiddenError without, the reason audited with', async () => {
    const { key } = await mintKey({ requireRevealReason: true });
    const call = doorClient(app.baseUrl, key);
    const refused = await call('GET', `/api/secrets/values`);
    expect(refused.status).toBe(403);
    expect(refused.body.message).toMatch(/must say why it reveals a value: send X-Reveal-Reason/);
    const allowed = await call('GET', '/api/secrets/values', { headers: { 'x-reveal-reason': 'incident 42' } });
    expect(allowed.body.values.DB_PASSWORD).toBe('default-value');
    const id = (await gql('{ secretByName(name: "DB_PASSWORD") { id } }')).body.data.secretByName.id;
    const without = await graphql(key)('query($id: ID!) { revealSecret(id: $id) { __typename } }', { id });
    expect(without.body.data.revealSecret.__typename).toBe('ForbiddenError');
    const withReason = await graphql(key)('query($id: ID!) { revealSecret(id: $id, reason: "rotating the DB") { ... on RevealSecretSuccess { value } } }', {
      id,
    });
    expect(withReason.body.data.revealSecret.value).toBe('default-value');
    const cli = await runCli(['--reason', 'from the CLI', 'get', 'DB_PASSWORD', '--reveal'], { env: { SECRETS_URL: app.baseUrl, SECRETS_API_KEY: key } });
    expect(cli).toMatchObject({ code: 0, stdout: 'default-value\n' });
    const events = await app.models.AuditEvent.find({ operation: 'reveal', secretName: 'DB_PASSWORD', outcome: 'success' }).lean();
    expect(events.map((e) => e.reason)).toEqual(expect.arrayContaining(['incident 42', 'rotating the DB', 'from the CLI']));
    // It cannot mint a key that need not say why.
    expect((await mintKey({ requireRevealReason: false }, key)).__typename).toBe('ForbiddenError');
  });
});
