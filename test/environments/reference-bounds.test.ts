// Reference expansion has a budget (issue 22): the size of one expanded value
// and the references one request follows, checked while expanding, so that a
// few values of `${NEXT}` repeated cannot make a node build gigabytes.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/process.ts';
import { doorClient, graphqlClient } from '../helpers/doors.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
let small: TestApp;

beforeAll(async () => {
  [app, small] = await Promise.all([startTestApp(), startTestApp({ limits: { referenceExpansionMax: 100, referencesPerRequestMax: 5 } })]);
});
afterAll(() => Promise.all([app.close(), small.close()]));

async function put(on: TestApp, key: string, name: string, value: string) {
  const res = await graphqlClient(on.baseUrl, key)(
    'mutation($n: String!, $v: String!) { createSecret(input: {name: $n, value: $v}) { __typename ... on CreateSecretSuccess { secret { id } } ... on Error { message } } }',
    { n: name, v: value },
  );
  return res.body.data.createSecret as { __typename: string; secret?: { id: string }; message?: string };
}

const MARKER = 'amplified-marker-';

describe('reference expansion within bounds', () => {
  it("issue 22's amplification is a 409 naming the secret, nothing served, while /healthz answers", async () => {
    const { apiKey } = await app.createProject('amplification');
    // In this order each write's own references still expand to little; the last one arms them.
    expect((await put(app, apiKey, 'M1', '${M2}'.repeat(2000))).__typename).toBe('CreateSecretSuccess');
    expect((await put(app, apiKey, 'M0', '${M1}'.repeat(2000))).__typename).toBe('CreateSecretSuccess');
    const m0 = (await put(app, apiKey, 'M0_ALONE', '${M1}')).secret!.id;
    expect((await put(app, apiKey, 'M2', MARKER.padEnd(10_000, 'z'))).__typename).toBe('CreateSecretSuccess');

    const door = doorClient(app.baseUrl, apiKey);
    const [values, reveal, health] = await Promise.all([
      door('GET', '/api/secrets/values'),
      graphqlClient(app.baseUrl, apiKey)('query($id: ID!) { revealSecret(id: $id, resolve: true) { __typename ... on Error { message } } }', { id: m0 }),
      fetch(`${app.baseUrl}/healthz`),
    ]);
    expect(health.status).toBe(200);
    expect({ status: values.status, body: values.body }).toEqual({
      status: 409,
      body: { error: 'The references of M0 expand past 65536 characters (in M1): nothing is served' },
    });
    expect(reveal.body.data.revealSecret).toEqual({
      __typename: 'ConflictError',
      message: 'The references of M0_ALONE expand past 65536 characters (in M1): nothing is served',
    });
    expect(values.text + reveal.text).not.toContain(MARKER);

    // The values as stored are still there for whoever needs them (secrets import reads them so).
    const raw = await door('GET', '/api/secrets/values?resolve=false');
    expect(raw.status).toBe(200);
    expect(raw.body.values.M0_ALONE).toBe('${M1}');
    expect((await door('GET', '/api/secrets/values?resolve=maybe')).status).toBe(422);

    const env = { SECRETS_URL: app.baseUrl, SECRETS_API_KEY: apiKey };
    for (const args of [
      ['export', '--format', 'json'],
      ['run', '--', process.execPath, '-e', 'console.log("ran")'],
    ]) {
      const cli = await runCli(args, { env });
      expect({ args, code: cli.code, stdout: cli.stdout }).toEqual({ args, code: 1, stdout: '' });
      expect(cli.stderr).toContain('The references of M0 expand past 65536 characters');
    }
  });

  it('a write whose references already expand past the bound is refused, stores nothing, names it', async () => {
    const { apiKey } = await small.createProject('write-time');
    expect((await put(small, apiKey, 'B', 'b'.repeat(60))).__typename).toBe('CreateSecretSuccess');
    const refused = await put(small, apiKey, 'TWICE', '${B}${B}');
    expect(refused).toEqual({ __typename: 'ConflictError', message: 'The references of TWICE expand past 100 characters: nothing is served' });
    const door = doorClient(small.baseUrl, apiKey);
    expect((await door('POST', '/api/secrets', { body: { name: 'TWICE', value: '${B}${B}' } })).status).toBe(409);
    const id = (await put(small, apiKey, 'ONCE', '${B}')).secret!.id;
    const update = await door('PUT', `/api/secrets/${id}`, { body: { value: '${B} and ${B}' } });
    expect(update.status).toBe(409);
    expect((await door('GET', `/api/secrets/${id}/value`)).body).toMatchObject({ version: 1, value: '${B}' });
    const listed = await door('GET', '/api/secrets');
    expect(listed.body.map((s: { name: string }) => s.name).sort()).toEqual(['B', 'ONCE']);

    // A key that may not reveal B learns nothing of its length: its write is not measured against it.
    const made = await graphqlClient(
      small.baseUrl,
      apiKey,
    )('mutation { createApiKey(input: {name: "writer", scopes: ["secrets:read", "secrets:write"]}) { ... on CreateApiKeySuccess { key } } }');
    expect((await put(small, made.body.data.createApiKey.key, 'BLIND', '${B}${B}')).__typename).toBe('CreateSecretSuccess');

    // secrets import says so per name and imports the rest.
    const dir = await mkdtemp(path.join(tmpdir(), 'import-bounds-'));
    await writeFile(path.join(dir, '.env'), 'FINE=ok\nTWICE=${B}${B}\n');
    const cli = await runCli(['import', path.join(dir, '.env')], { env: { SECRETS_URL: small.baseUrl, SECRETS_API_KEY: apiKey } });
    expect(cli.code).toBe(1);
    expect(cli.stdout).toBe('created\tFINE\nrefused\tTWICE\tThe references of TWICE expand past 100 characters: nothing is served\n');
  });

  it('one request follows at most REFERENCES_PER_REQUEST_MAX references, repeats counted', async () => {
    const { apiKey } = await small.createProject('many references');
    await put(small, apiKey, 'C', 'c');
    await put(small, apiKey, 'FIVE', '${C}'.repeat(5));
    const door = doorClient(small.baseUrl, apiKey);
    expect((await door('GET', '/api/secrets/values')).body.values).toEqual({ C: 'c', FIVE: 'ccccc' });
    await put(small, apiKey, 'ONE_MORE', '${C}');
    const res = await door('GET', '/api/secrets/values');
    expect({ status: res.status, body: res.body }).toEqual({
      status: 409,
      body: { error: 'Expanding ONE_MORE follows more than 5 references: nothing is served' },
    });
  });
});
