// References between values, expanded on the paths that serve workloads:
// GET /api/secrets/values, revealSecret(resolve: true), secrets run and export.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/process.ts';
import { doorClient, graphqlClient, type GraphqlClient } from '../helpers/doors.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
let admin: string;
let gql: GraphqlClient;

async function put(name: string, value: string, environment = 'default', key = admin) {
  const res = await graphqlClient(app.baseUrl, key)(
    'mutation($n: String!, $v: String!, $e: String) { createSecret(input: {name: $n, value: $v}, environment: $e) { __typename ... on CreateSecretSuccess { secret { id } } } }',
    { n: name, v: value, e: environment },
  );
  expect(res.body.data.createSecret.__typename).toBe('CreateSecretSuccess');
  return res.body.data.createSecret.secret.id as string;
}

async function project(name: string) {
  const { apiKey } = await app.createProject(name);
  return apiKey;
}

beforeAll(async () => {
  app = await startTestApp();
  admin = await project('references');
  gql = graphqlClient(app.baseUrl, admin);
  await gql('mutation { createEnvironment(input: {slug: "shared", name: "Shared"}) { __typename } }');
  await put('DB_HOST', 'db.internal', 'shared');
  await put('DB_USER', 'app');
  await put('DB_PASSWORD', 's3cret');
  await put('DB_URL', 'postgres://${DB_USER}:${DB_PASSWORD}@${shared.DB_HOST}/app');
  await put('LITERAL', 'costs $${HOME} and ${not a reference} and ${');
});
afterAll(() => app.close());

describe('references', () => {
  it('GET /api/secrets/values expands same-environment and other-environment references, $${ as a literal ${', async () => {
    const res = await doorClient(app.baseUrl, admin)('GET', '/api/secrets/values');
    expect(res.status).toBe(200);
    expect(res.body.values).toEqual({
      DB_PASSWORD: 's3cret',
      DB_URL: 'postgres://app:s3cret@db.internal/app',
      DB_USER: 'app',
      LITERAL: 'costs ${HOME} and ${not a reference} and ${',
    });
  });

  it('each secret read through a reference in another environment is an audit event of its own', async () => {
    await doorClient(app.baseUrl, admin)('GET', '/api/secrets/values', { headers: { 'x-reveal-reason': 'audit check' } });
    const events = await app.models.AuditEvent.find({ operation: 'reveal', reason: 'audit check' }).lean();
    expect(events.map((e) => `${e.environment}/${e.secretName}`).sort()).toEqual([
      'default/DB_PASSWORD',
      'default/DB_URL',
      'default/DB_USER',
      'default/LITERAL',
      'shared/DB_HOST',
    ]);
  });

  it('revealSecret expands with resolve: true and returns the stored value without', async () => {
    const id = (await gql('{ secretByName(name: "DB_URL") { id } }')).body.data.secretByName.id;
    const reveal = (resolve: boolean) =>
      gql('query($id: ID!, $r: Boolean) { revealSecret(id: $id, resolve: $r) { __typename ... on RevealSecretSuccess { value } ... on Error { message } } }', {
        id,
        r: resolve,
      });
    expect((await reveal(true)).body.data.revealSecret.value).toBe('postgres://app:s3cret@db.internal/app');
    expect((await reveal(false)).body.data.revealSecret.value).toBe('postgres://${DB_USER}:${DB_PASSWORD}@${shared.DB_HOST}/app');
  });

  it('secrets run and export expand them', async () => {
    const env = { SECRETS_URL: app.baseUrl, SECRETS_API_KEY: admin };
    expect((await runCli(['run', '--', process.execPath, '-e', 'console.log(process.env.DB_URL)'], { env })).stdout).toBe(
      'postgres://app:s3cret@db.internal/app\n',
    );
    const exported = JSON.parse((await runCli(['export', '--format', 'json'], { env })).stdout);
    expect(exported.DB_URL).toBe('postgres://app:s3cret@db.internal/app');
  });

  it('a missing reference, a cycle and too deep a chain each fail the whole call, naming it; nothing partial is served', async () => {
    const cases: [string, Record<string, string>, string][] = [
      ['missing', { A: 'x ${NOPE} y', B: 'fine' }, 'A refers to ${NOPE}, which does not exist'],
      ['cycle', { A: '${B}', B: '${C}', C: '${A}' }, 'The references of A form a cycle: A → B → C → A'],
      [
        'deep',
        Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`L${i}`, i === 10 ? 'end' : `\${L${i + 1}}`])),
        'The references of L0 go deeper than 8: L0 → L1 → L2 → L3 → L4 → L5 → L6 → L7 → L8 → L9',
      ],
    ];
    for (const [label, secrets, message] of cases) {
      const key = await project(`references ${label}`);
      for (const [name, value] of Object.entries(secrets)) await put(name, value, 'default', key);
      const res = await doorClient(app.baseUrl, key)('GET', '/api/secrets/values');
      expect({ label, status: res.status, body: res.body }).toEqual({ label, status: 409, body: { error: message } });
      expect(res.text).not.toContain('fine');
      const cli = await runCli(['run', '--', process.execPath, '-e', 'console.log("ran")'], { env: { SECRETS_URL: app.baseUrl, SECRETS_API_KEY: key } });
      expect({ label, code: cli.code, stdout: cli.stdout }).toEqual({ label, code: 1, stdout: '' });
    }
  });

  it('a key bound to an environment cannot expand a reference into another: 403', async () => {
    const { key } = (
      await gql(
        'mutation { createApiKey(input: {name: "bound", scopes: ["secrets:read", "secrets:reveal"], environment: "default"}) { ... on CreateApiKeySuccess { key } } }',
      )
    ).body.data.createApiKey;
    const res = await doorClient(app.baseUrl, key)('GET', '/api/secrets/values');
    expect(res.status).toBe(403);
    expect(res.body.message).toBe('This API key is bound to the environment "default" and cannot act in "shared"');
  });
});
