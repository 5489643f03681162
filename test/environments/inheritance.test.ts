// Inheriting environments and personal overrides, through every door that
// reads values and GraphQL: base ← staging, staging's own secret over base's,
// a tombstone, a reference in an inherited value, and one key's override that
// no other key sees. Each caller is checked for exactly its own effective set.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../cli/process.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { graphqlClient } from '../helpers/doors.ts';
import { request } from '../helpers/http.ts';
import { waitUntil } from '../helpers/service-process.ts';

const MARKER = `inherit-${randomBytes(6).toString('hex')}`;
let app: TestApp;
let admin: string;
/** A second key of the project, unbound: it holds the override. */
let mine: string;
/** A key bound to staging, reading only (no override of its own). */
let stagingReader: string;

const gql = (key: string) => graphqlClient(app.baseUrl, key);
const values = async (key: string, environment?: string) =>
  request(app.baseUrl, 'GET', '/api/secrets/values', { apiKey: key, headers: environment ? { 'x-secrets-environment': environment } : {} });

async function mintKey(input: Record<string, unknown>): Promise<string> {
  const res = await gql(admin)(
    'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename ... on CreateApiKeySuccess { key } ... on Error { message } } }',
    { input: { name: 'k', scopes: ['secrets:read', 'secrets:write', 'secrets:reveal'], ...input } },
  );
  expect(res.body.data.createApiKey.__typename).toBe('CreateApiKeySuccess');
  return res.body.data.createApiKey.key;
}

async function createSecret(environment: string, name: string, value: string, key = admin): Promise<{ id: string; version: number }> {
  const res = await gql(key)(
    'mutation($e: String, $n: String!, $v: String!) { createSecret(environment: $e, input: {name: $n, value: $v}) { __typename ... on CreateSecretSuccess { secret { id version } } } }',
    { e: environment, n: name, v: value },
  );
  expect(res.body.data.createSecret.__typename).toBe('CreateSecretSuccess');
  return res.body.data.createSecret.secret;
}

async function environment(input: Record<string, unknown>, mutation = 'createEnvironment', slug?: string) {
  const args = mutation === 'createEnvironment' ? '(input: $input)' : `(slug: "${slug}", input: $input)`;
  const type = mutation === 'createEnvironment' ? 'CreateEnvironmentInput!' : 'UpdateEnvironmentInput!';
  const res = await gql(admin)(
    `mutation($input: ${type}) { r: ${mutation}${args} { __typename ... on Error { message } ... on ${mutation === 'createEnvironment' ? 'CreateEnvironmentSuccess' : 'UpdateEnvironmentSuccess'} { environment { slug parent { slug } } } } }`,
    { input },
  );
  return res.body.data.r;
}

const BASE = { A: `${MARKER}-base-a`, B: `${MARKER}-base-b`, C: `${MARKER}-base-c`, URL: 'https://${A}@db.example' };
let baseIds: Record<string, string>;

beforeAll(async () => {
  app = await startTestApp();
  ({ apiKey: admin } = await app.createProject('inheritance'));
  expect((await environment({ slug: 'base', name: 'Base' })).__typename).toBe('CreateEnvironmentSuccess');
  expect(await environment({ slug: 'staging', name: 'Staging', parent: 'base' })).toEqual({
    __typename: 'CreateEnvironmentSuccess',
    environment: { slug: 'staging', parent: { slug: 'base' } },
  });
  baseIds = {};
  for (const [name, value] of Object.entries(BASE)) baseIds[name] = (await createSecret('base', name, value)).id;
  // staging's own A over base's; its own C, deleted: a tombstone hides base's C.
  await createSecret('staging', 'A', `${MARKER}-staging-a`);
  const c = await createSecret('staging', 'C', `${MARKER}-staging-c`);
  const deleted = await gql(admin)('mutation($id: ID!) { deleteSecret(id: $id, environment: "staging") { __typename } }', { id: c.id });
  expect(deleted.body.data.deleteSecret.__typename).toBe('DeleteSecretSuccess');
  mine = await mintKey({});
  stagingReader = await mintKey({ environment: 'staging', scopes: ['secrets:read', 'secrets:reveal'] });
  const set = await gql(mine)(
    'mutation($input: SetOverrideInput!) { setOverride(input: $input) { __typename ... on SetOverrideSuccess { override { name environment } } ... on Error { message } } }',
    { input: { environment: 'staging', name: 'A', value: `${MARKER}-override-a` } },
  );
  expect(set.body.data.setOverride).toEqual({ __typename: 'SetOverrideSuccess', override: { name: 'A', environment: 'staging' } });
});
afterAll(() => app.close());

/** What each caller must see in staging: base's B, staging's own A (or the override), no C, and URL expanded with the caller's A. */
const expected = (a: string) => ({ A: a, B: BASE.B, URL: `https://${a}@db.example` });

describe('effective values: own over inherited, a tombstone, an override only its key sees', () => {
  it('GET /api/secrets/values: each caller its own set, each value with its source', async () => {
    const other = await values(admin, 'staging');
    expect(other.status).toBe(200);
    expect(other.body.values).toEqual(expected(`${MARKER}-staging-a`));
    expect(other.body.sources).toEqual({
      A: { source: 'own', environment: 'staging' },
      B: { source: 'inherited', environment: 'base' },
      URL: { source: 'inherited', environment: 'base' },
    });
    const own = await values(mine, 'staging');
    expect(own.body.values).toEqual(expected(`${MARKER}-override-a`));
    expect(own.body.sources.A).toEqual({ source: 'override', environment: 'staging' });
    expect((await values(stagingReader)).body.values).toEqual(expected(`${MARKER}-staging-a`));
    // base itself is untouched by its heir: its C is there, its URL is base's A.
    expect((await values(admin, 'base')).body.values).toEqual({ A: BASE.A, B: BASE.B, C: BASE.C, URL: `https://${BASE.A}@db.example` });
    // Unexpanded, an inherited value is what base stores.
    const raw = await request(app.baseUrl, 'GET', '/api/secrets/values?resolve=false', { apiKey: admin, headers: { 'x-secrets-environment': 'staging' } });
    expect(raw.body.values.URL).toBe(BASE.URL);
  });

  it('revealSecret, by name and by id: the override first, then own, then inherited; a hidden name is not found', async () => {
    const reveal = (key: string, args: string) =>
      gql(key)(
        `query { revealSecret(${args}, environment: "staging", resolve: true, reason: "test") { __typename ... on RevealSecretSuccess { value source inheritedFrom secret { environment } } } }`,
      );
    expect((await reveal(admin, 'name: "B"')).body.data.revealSecret).toEqual({
      __typename: 'RevealSecretSuccess',
      value: BASE.B,
      source: 'INHERITED',
      inheritedFrom: 'base',
      secret: { environment: 'base' },
    });
    expect((await reveal(admin, `id: "${baseIds.URL}"`)).body.data.revealSecret).toMatchObject({
      value: `https://${MARKER}-staging-a@db.example`,
      source: 'INHERITED',
    });
    expect((await reveal(mine, 'name: "A"')).body.data.revealSecret).toMatchObject({ value: `${MARKER}-override-a`, source: 'OVERRIDE', inheritedFrom: null });
    expect((await reveal(mine, 'name: "URL"')).body.data.revealSecret.value).toBe(`https://${MARKER}-override-a@db.example`);
    expect((await reveal(admin, 'name: "A"')).body.data.revealSecret).toMatchObject({ value: `${MARKER}-staging-a`, source: 'OWN' });
    // base's A is shadowed by staging's own A; base's C by the tombstone.
    expect((await reveal(admin, `id: "${baseIds.A}"`)).body.data.revealSecret.__typename).toBe('NotFoundError');
    expect((await reveal(admin, 'name: "C"')).body.data.revealSecret.__typename).toBe('NotFoundError');
    expect((await reveal(admin, `id: "${baseIds.C}"`)).body.data.revealSecret.__typename).toBe('NotFoundError');
  });

  it("LangWatch's GET /api/secrets/:id/value reads an inherited secret in the caller's environment", async () => {
    const res = await request(app.baseUrl, 'GET', `/api/secrets/${baseIds.B}/value`, { apiKey: stagingReader });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'B', value: BASE.B });
  });

  it('secrets export: the CLI sees what its key sees', async () => {
    const exported = async (key: string) =>
      JSON.parse((await runCli(['export', '--format', 'json', '--env', 'staging'], { env: { SECRETS_URL: app.baseUrl, SECRETS_API_KEY: key } })).stdout);
    expect(await exported(admin)).toEqual(expected(`${MARKER}-staging-a`));
    expect(await exported(mine)).toEqual(expected(`${MARKER}-override-a`));
  });

  it('an override is listed, revealed and matched for its own key only, admins included; its existence and use are audited', async () => {
    const list = (key: string) => gql(key)('query { overrides(environment: "staging") { name environment } }');
    expect((await list(mine)).body.data.overrides).toEqual([{ name: 'A', environment: 'staging' }]);
    expect((await list(admin)).body.data.overrides).toEqual([]);
    // Nothing the admin can read holds the override's value.
    const seen = JSON.stringify([
      (await values(admin, 'staging')).body,
      (await gql(admin)('query { environmentMatrix { name cells { environment overridden inheritedFrom } valuesEqual } }')).body,
      (await gql(admin)('query { auditEvents(first: 100) { edges { node { operation secretName environment } } } }')).body,
    ]);
    expect(seen).not.toContain('override-a');
    const audit = (await app.models.AuditEvent.find({ operation: { $in: ['set_override', 'reveal_override'] } }).lean()) as {
      operation: string;
      secretName: string;
    }[];
    expect(new Set(audit.map((e) => `${e.operation} ${e.secretName}`))).toEqual(new Set(['set_override A', 'reveal_override A']));
  });

  it('the matrix shows inherited and overridden cells as such', async () => {
    const matrix = async (key: string) =>
      (await gql(key)('query { environmentMatrix(names: ["A", "B", "C"]) { name cells { environment inheritedFrom overridden version } valuesEqual } }')).body
        .data.environmentMatrix;
    const forMine = await matrix(mine);
    const cells = (rows: { name: string; cells: { environment: string }[] }[], name: string) =>
      Object.fromEntries(rows.find((r) => r.name === name)!.cells.map(({ environment, ...cell }) => [environment, cell])) as Record<string, any>;
    expect(cells(forMine, 'A')).toEqual({
      base: { inheritedFrom: null, overridden: false, version: 1 },
      staging: { inheritedFrom: null, overridden: true, version: 1 },
    });
    expect(cells(forMine, 'B')).toEqual({
      base: { inheritedFrom: null, overridden: false, version: 1 },
      staging: { inheritedFrom: 'base', overridden: false, version: 1 },
    });
    // The tombstone: C is base's alone.
    expect(Object.keys(cells(forMine, 'C'))).toEqual(['base']);
    expect(forMine.find((r: { name: string }) => r.name === 'B').valuesEqual).toBe(true);
    expect(cells(await matrix(admin), 'A').staging.overridden).toBe(false);
  });

  it('deleting the override falls back to what staging has; re-creating a hidden name lifts its tombstone', async () => {
    const key = await mintKey({});
    const set = (name: string) =>
      gql(key)('mutation($input: SetOverrideInput!) { setOverride(input: $input) { __typename } }', {
        input: { environment: 'staging', name, value: `${MARKER}-temp` },
      });
    expect((await set('B')).body.data.setOverride.__typename).toBe('SetOverrideSuccess');
    // A name staging does not have (hidden, or nowhere) takes no override.
    expect((await set('C')).body.data.setOverride.__typename).toBe('NotFoundError');
    expect((await values(key, 'staging')).body.values.B).toBe(`${MARKER}-temp`);
    const removed = await gql(key)('mutation { deleteOverride(environment: "staging", name: "B") { __typename ... on DeleteOverrideSuccess { deleted } } }');
    expect(removed.body.data.deleteOverride).toEqual({ __typename: 'DeleteOverrideSuccess', deleted: true });
    expect((await values(key, 'staging')).body.values).toEqual(expected(`${MARKER}-staging-a`));
    // Another key's delete of it finds none.
    expect((await gql(admin)('mutation { deleteOverride(environment: "staging", name: "A") { __typename } }')).body.data.deleteOverride.__typename).toBe(
      'NotFoundError',
    );
  });
});

describe('the chain of parents', () => {
  it('a cycle, a chain deeper than 8, a parent for default, or a missing parent is a ValidationError that writes nothing; a parent with heirs is not deleted', async () => {
    let previous = 'base';
    // base ← staging already; chain-1 … chain-7 under staging makes 8 parents above chain-7.
    for (let i = 1; i <= 7; i++) {
      expect((await environment({ slug: `chain-${i}`, name: `c${i}`, parent: i === 1 ? 'staging' : previous })).__typename).toBe('CreateEnvironmentSuccess');
      previous = `chain-${i}`;
    }
    const deeper = await environment({ slug: 'chain-8', name: 'c8', parent: 'chain-7' });
    expect(deeper.__typename).toBe('ValidationError');
    expect(deeper.message).toContain('8');
    const cycle = await environment({ parent: 'chain-2' }, 'updateEnvironment', 'staging');
    expect(cycle.__typename).toBe('ValidationError');
    expect(cycle.message).toContain('cycle');
    expect((await environment({ parent: 'base' }, 'updateEnvironment', 'default')).__typename).toBe('ValidationError');
    expect((await environment({ slug: 'orphan', name: 'o', parent: 'nowhere' })).__typename).toBe('ValidationError');
    const slugs = (await gql(admin)('query { environments { slug parent { slug } } }')).body.data.environments as { slug: string }[];
    expect(slugs.map((e) => e.slug)).not.toContain('chain-8');
    expect(slugs.map((e) => e.slug)).not.toContain('orphan');
    const gone = await gql(admin)('mutation { deleteEnvironment(slug: "chain-6") { __typename ... on Error { message } } }');
    expect(gone.body.data.deleteEnvironment.__typename).toBe('ConflictError');
    // A parent cleared: the chain is shorter, and chain-7 keeps only its own.
    expect(await environment({ parent: null }, 'updateEnvironment', 'chain-7')).toEqual({
      __typename: 'UpdateEnvironmentSuccess',
      environment: { slug: 'chain-7', parent: null },
    });
    expect((await values(admin, 'chain-7')).body.values).toEqual({});
    expect((await values(admin, 'chain-6')).body.values).toEqual(expected(`${MARKER}-staging-a`));
  });
});

describe('promoteSecret', () => {
  it("moves an override, or the child's own value, up to the parent under compare-and-set; then the name is inherited", async () => {
    await environment({ slug: 'feature', name: 'Feature', parent: 'base' });
    const key = await mintKey({});
    await gql(key)('mutation($input: SetOverrideInput!) { setOverride(input: $input) { __typename } }', {
      input: { environment: 'feature', name: 'B', value: `${MARKER}-promoted-b` },
    });
    const promote = (k: string, name: string, expectedVersion: number) =>
      gql(k)(
        'mutation($input: PromoteSecretInput!) { promoteSecret(input: $input) { __typename ... on PromoteSecretSuccess { from secret { environment name version } } } }',
        { input: { environment: 'feature', name, expectedVersion } },
      );
    expect((await promote(key, 'B', 7)).body.data.promoteSecret.__typename).toBe('ConflictError');
    expect((await values(admin, 'base')).body.values.B).toBe(BASE.B);
    expect((await promote(key, 'B', 1)).body.data.promoteSecret).toEqual({
      __typename: 'PromoteSecretSuccess',
      from: 'override',
      secret: { environment: 'base', name: 'B', version: 2 },
    });
    expect((await values(admin, 'base')).body.values.B).toBe(`${MARKER}-promoted-b`);
    expect((await gql(key)('query { overrides(environment: "feature") { name } }')).body.data.overrides).toEqual([]);
    // The child's own value: promoted to a name base does not have yet (expectedVersion 0), then inherited.
    await createSecret('feature', 'FEATURE_ONLY', `${MARKER}-feature`);
    expect((await promote(admin, 'FEATURE_ONLY', 0)).body.data.promoteSecret).toMatchObject({ from: 'own', secret: { environment: 'base', version: 1 } });
    const feature = await values(admin, 'feature');
    expect(feature.body.values.FEATURE_ONLY).toBe(`${MARKER}-feature`);
    expect(feature.body.sources.FEATURE_ONLY).toEqual({ source: 'inherited', environment: 'base' });
    // base has no parent: nothing to promote to.
    const top = await gql(admin)('mutation { promoteSecret(input: {environment: "base", name: "B", expectedVersion: 2}) { __typename } }');
    expect(top.body.data.promoteSecret.__typename).toBe('ValidationError');
  });
});

describe('a change in a parent reaches its heirs', () => {
  it('run --watch in staging restarts once for a change of an inherited value, not for a name staging holds itself', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'secrets-inherit-'));
    try {
      const starts = path.join(dir, 'starts.log');
      const script = `require('fs').appendFileSync(${JSON.stringify(starts)}, process.env.B + '\\n'); setInterval(() => {}, 1000);`;
      const watcher = startCli(['run', '--watch', '--grace', '2', '--env', 'staging', '--', process.execPath, '-e', script], {
        env: { SECRETS_URL: app.baseUrl, SECRETS_API_KEY: admin },
      });
      const startsSoFar = async () => (await readFile(starts, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
      try {
        expect(await waitUntil(async () => (await startsSoFar()).length === 1, 20_000)).toBe(true);
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        const update = (id: string, value: string) =>
          gql(admin)('mutation($id: ID!, $v: String!) { updateSecret(id: $id, environment: "base", input: {value: $v}) { __typename } }', { id, v: value });
        // base's A: staging has its own A, so its values do not change.
        expect((await update(baseIds.A!, `${MARKER}-base-a2`)).body.data.updateSecret.__typename).toBe('UpdateSecretSuccess');
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        expect(await startsSoFar()).toHaveLength(1);
        expect((await update(baseIds.B!, `${MARKER}-base-b3`)).body.data.updateSecret.__typename).toBe('UpdateSecretSuccess');
        expect(await waitUntil(async () => (await startsSoFar()).length === 2, 20_000)).toBe(true);
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        expect((await startsSoFar()).slice(1)).toEqual([`${MARKER}-base-b3`]);
      } finally {
        watcher.child.kill('SIGTERM');
        await watcher.done;
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
