// The CLI signed in as a workload identity, with no API key: a Kubernetes
// projected token in a file, a token in a variable, and a GitHub Actions
// job's token service (ACTIONS_ID_TOKEN_REQUEST_URL), each reading exactly
// the identity's environment.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { graphqlClient } from '../helpers/doors.ts';
import { request } from '../helpers/http.ts';
import { startTestIssuer, type TestIssuer } from '../helpers/oidc-issuer.ts';
import { runCli } from './process.ts';

const MARKER = `cli-oidc-${randomBytes(6).toString('hex')}`;
let app: TestApp;
let issuer: TestIssuer;
let dir: string;
let podIdentity: string;
let ciIdentity: string;
let base: Record<string, string>;

const podToken = () =>
  issuer.sign({ sub: 'system:serviceaccount:prod:api', 'kubernetes.io': { namespace: 'prod', serviceaccount: { name: 'api' } } }, { alg: 'ES256' });

beforeAll(async () => {
  issuer = await startTestIssuer();
  app = await startTestApp({ oidc: { allowedIssuers: [issuer.url] } });
  const { apiKey } = await app.createProject('cli oidc');
  const gql = graphqlClient(app.baseUrl, apiKey);
  for (const slug of ['prod', 'ci']) await gql('mutation($s: String!) { createEnvironment(input: {slug: $s, name: $s}) { __typename } }', { s: slug });
  for (const [environment, name] of [
    ['default', 'DEFAULT_ONLY'],
    ['prod', 'DATABASE_URL'],
    ['ci', 'DEPLOY_TOKEN'],
  ]) {
    const res = await gql('mutation($e: String, $n: String!, $v: String!) { createSecret(environment: $e, input: {name: $n, value: $v}) { __typename } }', {
      e: environment,
      n: name,
      v: `${environment}-${MARKER}`,
    });
    expect(res.body.data.createSecret.__typename).toBe('CreateSecretSuccess');
  }
  const identity = async (input: Record<string, unknown>) => {
    const res = await gql('mutation($i: CreateIdentityInput!) { createIdentity(input: $i) { ... on CreateIdentitySuccess { identity { id } } } }', {
      i: { issuer: issuer.url, audiences: ['secrets-service'], scopes: ['secrets:read', 'secrets:reveal'], ...input },
    });
    return res.body.data.createIdentity.identity.id as string;
  };
  podIdentity = await identity({ name: 'pod', subject: 'system:serviceaccount:prod:api', environment: 'prod' });
  ciIdentity = await identity({
    name: 'ci',
    subject: 'repo:acme/app:ref:refs/heads/main',
    claims: [{ claim: 'repository', pattern: 'acme/app' }],
    environment: 'ci',
  });
  dir = await mkdtemp(path.join(tmpdir(), 'cli-oidc-'));
  base = { SECRETS_URL: app.baseUrl };
});

afterAll(async () => {
  await app?.close();
  await issuer?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('secrets with a Kubernetes projected token', () => {
  it("login --oidc --token-file prints a key that reads the identity's environment", async () => {
    const file = path.join(dir, 'token');
    await writeFile(file, `${await podToken()}\n`);
    const result = await runCli(['login', '--oidc', podIdentity, '--token-file', file], { env: base });
    expect(result.stderr).toMatch(/signed in; the key expires at \d{4}-/);
    expect(result.code).toBe(0);
    const key = result.stdout.trim();
    expect(key).toMatch(/^sk-lw-/);
    const values = await request(app.baseUrl, 'GET', '/api/secrets/values', { apiKey: key });
    expect(values.body.values).toEqual({ DATABASE_URL: `prod-${MARKER}` });

    const json = await runCli(['login', '--format', 'json'], { env: { ...base, SECRETS_OIDC_IDENTITY: podIdentity, SECRETS_OIDC_TOKEN_FILE: file } });
    expect(Object.keys(JSON.parse(json.stdout)).sort()).toEqual(['apiKey', 'expiresAt']);
  });

  it('export and run sign in from the token file themselves, with no SECRETS_API_KEY, and the command gets no credential', async () => {
    const file = path.join(dir, 'token-run');
    await writeFile(file, await podToken());
    const env = { ...base, SECRETS_OIDC_IDENTITY: podIdentity, SECRETS_OIDC_TOKEN_FILE: file };
    const exported = await runCli(['export', '--format', 'json'], { env });
    expect(exported.code).toBe(0);
    expect(JSON.parse(exported.stdout)).toEqual({ DATABASE_URL: `prod-${MARKER}` });

    const token = await podToken();
    const script =
      'process.stdout.write(JSON.stringify({db: process.env.DATABASE_URL, key: process.env.SECRETS_API_KEY ?? null, token: process.env.POD_TOKEN ?? null}))';
    const run = await runCli(['run', '--oidc', podIdentity, '--token-env', 'POD_TOKEN', '--', process.execPath, '-e', script], {
      env: { ...base, POD_TOKEN: token },
    });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ db: `prod-${MARKER}`, key: null, token: null });
  });

  it('says why a token is refused, quoting none of it, and takes no --fallback', async () => {
    const expired = await issuer.sign({
      sub: 'system:serviceaccount:prod:api',
      iat: Math.floor(Date.now() / 1000) - 7200,
      exp: Math.floor(Date.now() / 1000) - 3600,
    });
    const refused = await runCli(['export', '--oidc', podIdentity, '--token-env', 'T'], { env: { ...base, T: expired } });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/The token was refused: The token has expired\./);
    for (const part of expired.split('.').slice(1)) expect(refused.stderr + refused.stdout).not.toContain(part);

    const missing = await runCli(['login', '--oidc', podIdentity, '--token-file', path.join(dir, 'absent')], { env: base });
    expect(missing.stderr).toMatch(/Cannot read the token file .*absent: ENOENT/);

    const fallback = await runCli(['export', '--oidc', podIdentity, '--token-env', 'T', '--fallback', path.join(dir, 'fb')], {
      env: { ...base, T: await podToken() },
    });
    expect(fallback.code).not.toBe(0);
    expect(fallback.stderr).toMatch(/--fallback needs a lasting API key/);
  });
});

describe('secrets in a GitHub Actions job', () => {
  it("asks the job's token service for a token of the audience, and reads the identity's environment", async () => {
    const requestToken = randomBytes(16).toString('hex');
    const asked: string[] = [];
    const tokenService = http.createServer(async (req, res) => {
      const url = new URL(req.url!, 'http://x');
      asked.push(url.searchParams.get('audience') ?? '');
      if (req.headers.authorization !== `Bearer ${requestToken}`) return res.writeHead(401).end();
      const value = await issuer.sign(
        { sub: 'repo:acme/app:ref:refs/heads/main', repository: 'acme/app', ref: 'refs/heads/main', event_name: 'push' },
        { audience: url.searchParams.get('audience') ?? 'https://github.com/acme' },
      );
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ count: 1, value }));
    });
    await new Promise<void>((resolve) => tokenService.listen(0, '127.0.0.1', resolve));
    try {
      const env = {
        ...base,
        ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${(tokenService.address() as AddressInfo).port}/token?api-version=2.0`,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken,
      };
      const result = await runCli(['export', '--oidc', ciIdentity, '--audience', 'secrets-service', '--format', 'json'], { env });
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toEqual({ DEPLOY_TOKEN: `ci-${MARKER}` });
      expect(asked).toEqual(['secrets-service']);
      // Without the audience the identity names, GitHub's default one is refused.
      const wrong = await runCli(['export', '--oidc', ciIdentity], { env });
      expect(wrong.stderr).toMatch(/another audience/);
    } finally {
      tokenService.close();
    }
  });
});
