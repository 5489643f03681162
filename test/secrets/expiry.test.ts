// Expiry (Together's TTLs, GraphQL's expiresAt): a secret is gone at its
// expires_at exactly, from every door, list, lookup, reveal and the CLI, its
// name and quota slot are free again, and it stays restorable for the
// recovery window. The app runs on a clock the test moves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { doorClient, graphqlClient } from '../helpers/doors.ts';
import { runCli } from '../cli/process.ts';

const DAY = 86_400_000;
let clock = Date.parse('2030-01-01T00:00:00.000Z');
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ now: () => new Date(clock), limits: { projectSecretLimit: 3, recoveryWindowMs: 7 * DAY } });
});
afterAll(() => app.close());

async function project() {
  const { apiKey } = await app.createProject('expiry');
  return {
    apiKey,
    /** The key as Bearer, on any door's path. */
    bearer: doorClient(app.baseUrl, apiKey, 'bearer'),
    gql: graphqlClient(app.baseUrl, apiKey),
    together: doorClient(app.baseUrl, apiKey, 'bearer', '/v1/deployments/secrets'),
  };
}

/** What every read path sees of the project's secrets, by name. */
async function seenEverywhere(p: Awaited<ReturnType<typeof project>>, name: string, id: string) {
  const gqlList = await p.gql('{ secrets(first: 100) { edges { node { name } } } }');
  const byId = await p.gql('query($id: ID!) { secret(id: $id) { name } revealSecret(id: $id) { __typename } }', { id });
  const byName = await p.gql('query($name: String!) { secretByName(name: $name) { name } }', { name });
  return {
    langwatchGet: (await p.bearer('GET', `/api/secrets/${id}`)).status,
    langwatchList: (await p.bearer('GET', '/api/secrets')).body.some((s: { name: string }) => s.name === name),
    langwatchValue: (await p.bearer('GET', `/api/secrets/${id}/value`)).status,
    values: name in (await p.bearer('GET', '/api/secrets/values')).body.values,
    togetherById: (await p.bearer('GET', `/v1/deployments/secrets/${id}`)).status,
    togetherByName: (await p.bearer('GET', `/v1/deployments/secrets/${encodeURIComponent(name)}`)).status,
    togetherList: (await p.bearer('GET', '/v1/deployments/secrets')).body.data.some((s: { name: string }) => s.name === name),
    v1Get: (await p.bearer('GET', `/api/v1/user/secrets/${id}`)).status,
    v1List: (await p.bearer('GET', '/api/v1/user/secrets')).body.secrets.some((s: { name: string }) => s.name === name),
    openhandsList: (await p.bearer('GET', '/api/v1/secrets')).body.custom_secrets.some((s: { name: string }) => s.name === name),
    graphqlList: gqlList.body.data.secrets.edges.some((e: { node: { name: string } }) => e.node.name === name),
    graphqlById: byId.body.data.secret !== null,
    graphqlByName: byName.body.data.secretByName !== null,
    graphqlReveal: byId.body.data.revealSecret.__typename,
  };
}

const VISIBLE = {
  langwatchGet: 200,
  langwatchList: true,
  langwatchValue: 200,
  values: true,
  togetherById: 200,
  togetherByName: 200,
  togetherList: true,
  v1Get: 200,
  v1List: true,
  openhandsList: true,
  graphqlList: true,
  graphqlById: true,
  graphqlByName: true,
  graphqlReveal: 'RevealSecretSuccess',
};
const GONE = {
  langwatchGet: 404,
  langwatchList: false,
  langwatchValue: 404,
  values: false,
  togetherById: 404,
  togetherByName: 404,
  togetherList: false,
  v1Get: 404,
  v1List: false,
  openhandsList: false,
  graphqlList: false,
  graphqlById: false,
  graphqlByName: false,
  graphqlReveal: 'NotFoundError',
};

async function secretsCli(apiKey: string, args: string[]) {
  const { code, stdout } = await runCli(args, { env: { SECRETS_URL: app.baseUrl, SECRETS_API_KEY: apiKey } });
  return { code, stdout };
}

describe('a secret past its expiry', () => {
  it('is seen by every door until its expires_at, and by none from that instant', async () => {
    const p = await project();
    const created = await p.together('POST', '', { body: { name: 'ttl-token', value: 'expiring-value', ttl_seconds: 86_400 } });
    expect(created.status).toBe(200);
    const expiresAt = Date.parse(created.body.expires_at);
    expect(expiresAt).toBe(clock + DAY);

    clock = expiresAt - 1;
    expect(await seenEverywhere(p, 'ttl-token', created.body.id)).toEqual(VISIBLE);
    expect(JSON.parse((await secretsCli(p.apiKey, ['export', '--format', 'json'])).stdout)).toEqual({ 'ttl-token': 'expiring-value' });
    clock = expiresAt;
    expect(await seenEverywhere(p, 'ttl-token', created.body.id)).toEqual(GONE);
    expect(JSON.parse((await secretsCli(p.apiKey, ['export', '--format', 'json'])).stdout)).toEqual({});
    // `run` leaves out names that are not environment names anyway: check it with one that is.
    const envName = await p.gql('mutation($at: DateTime) { createSecret(input: {name: "EXPIRING_ENV", value: "env-value", expiresAt: $at}) { __typename } }', {
      at: new Date(clock + 1000).toISOString(),
    });
    expect(envName.body.data.createSecret.__typename).toBe('CreateSecretSuccess');
    expect(JSON.parse((await secretsCli(p.apiKey, ['export', '--format', 'json'])).stdout)).toEqual({ EXPIRING_ENV: 'env-value' });
    expect(await secretsCli(p.apiKey, ['run', '--', 'printenv', 'EXPIRING_ENV'])).toEqual({ code: 0, stdout: 'env-value\n' });
    clock += 1000;
    expect(await secretsCli(p.apiKey, ['export', '--format', 'json'])).toEqual({ code: 0, stdout: '{}\n' });
    expect((await secretsCli(p.apiKey, ['run', '--', 'printenv', 'EXPIRING_ENV'])).code).not.toBe(0);
  });

  it('frees its name at once: a new secret takes it, and the expiry is audited as "expired"', async () => {
    const p = await project();
    const old = await p.together('POST', '', { body: { name: 'reused-name', value: 'v1', ttl_seconds: 86_400 } });
    clock += DAY;
    const renewed = await p.together('POST', '', { body: { name: 'reused-name', value: 'v2' } });
    expect(renewed.status).toBe(200);
    expect(renewed.body.id).not.toBe(old.body.id);
    expect(renewed.body).not.toHaveProperty('expires_at');
    const events = await app.models.AuditEvent.find({ secretId: old.body.id, outcome: 'expired' }).lean();
    expect(events).toMatchObject([{ door: 'system', operation: 'expire', keyId: null, secretName: 'reused-name', version: 1 }]);
    expect(await app.models.Secret.findById(old.body.id).lean()).toMatchObject({ deletedAt: new Date(Date.parse(old.body.expires_at)) });
    // The old one is restorable, but its name is taken now.
    const restore = await p.bearer('POST', `/api/secrets/${old.body.id}/restore`);
    expect(restore.status).toBe(409);
  });

  it('frees its quota slot at once: a full project can create again', async () => {
    const p = await project();
    for (const [i, ttl] of [86_400, undefined, undefined].entries()) {
      expect((await p.together('POST', '', { body: { name: `quota-${i}`, value: 'v', ttl_seconds: ttl } })).status).toBe(200);
    }
    expect((await p.together('POST', '', { body: { name: 'quota-3', value: 'v' } })).status).toBe(400); // the limit is 3
    clock += DAY;
    expect((await p.together('POST', '', { body: { name: 'quota-3', value: 'v' } })).status).toBe(200);
    const live = await app.models.Secret.find({ name: /^quota-/, deletedAt: null }).lean();
    expect(live.map((s) => s.name).sort()).toEqual(['quota-1', 'quota-2', 'quota-3']);
    expect(new Set(live.map((s) => s.slotKey)).size).toBe(3);
  });

  it('is listed in deletedSecrets (deleted at its expiry) and restorable in the window, with its lifetime started again', async () => {
    const p = await project();
    const made = await p.together('POST', '', { body: { name: 'restore-me', value: 'restored-value', ttl_seconds: 2 * 86_400 } });
    const expiredAt = Date.parse(made.body.expires_at);
    clock = expiredAt + 3 * DAY;
    const deleted = await p.gql('{ deletedSecrets { edges { node { id name deletedAt expiresAt } } } }');
    expect(deleted.body.data.deletedSecrets.edges.map((e: { node: unknown }) => e.node)).toEqual([
      { id: made.body.id, name: 'restore-me', deletedAt: new Date(expiredAt).toISOString(), expiresAt: new Date(expiredAt).toISOString() },
    ]);
    const restored = await p.gql('mutation($id: ID!) { restoreSecret(id: $id) { __typename ... on RestoreSecretSuccess { secret { expiresAt } } } }', {
      id: made.body.id,
    });
    expect(restored.body.data.restoreSecret).toEqual({ __typename: 'RestoreSecretSuccess', secret: { expiresAt: new Date(clock + 2 * DAY).toISOString() } });
    const value = await p.bearer('GET', `/api/secrets/${made.body.id}/value`);
    expect(value.body).toMatchObject({ name: 'restore-me', value: 'restored-value' });
    expect((await p.together('GET', '/restore-me')).body.ttl_seconds).toBe(2 * 86_400);
  });

  it('is marked by the sweep (audited once) and purged after the recovery window', async () => {
    const p = await project();
    const made = await p.together('POST', '', { body: { name: 'swept', value: 'v', ttl_seconds: 86_400 } });
    clock += DAY;
    await app.secrets.sweep();
    await app.secrets.sweep();
    expect(await app.models.AuditEvent.countDocuments({ secretId: made.body.id, outcome: 'expired' })).toBe(1);
    expect(await app.models.Secret.findById(made.body.id).lean()).toMatchObject({ nameKey: `deleted/${made.body.id}`, slotKey: `deleted/${made.body.id}` });
    clock += 7 * DAY;
    await app.secrets.sweep();
    expect(await app.models.Secret.findById(made.body.id).lean()).toBeNull();
    expect(await app.models.SecretVersion.countDocuments({ secretId: made.body.id })).toBe(0);
  });
});

describe('GraphQL expiresAt', () => {
  const fields = '__typename ... on ValidationError { fields { path message } }';

  it('on create and on update; null clears it; an instant in the past is a ValidationError, storing nothing', async () => {
    const p = await project();
    const at = new Date(clock + 3600_000).toISOString();
    const created = await p.gql(
      `mutation($at: DateTime) { createSecret(input: {name: "GQL_EXPIRING", value: "v", expiresAt: $at}) { ${fields} ... on CreateSecretSuccess { secret { id expiresAt } } } }`,
      { at },
    );
    const { id, expiresAt } = created.body.data.createSecret.secret;
    expect(expiresAt).toBe(at);
    // An instant, not a lifetime: Together shows the expiry and no ttl_seconds.
    const item = (await p.together('GET', `/${id}`)).body;
    expect(item.expires_at).toBe(at);
    expect(item).not.toHaveProperty('ttl_seconds');

    const later = new Date(clock + 7200_000).toISOString();
    const moved = await p.gql(
      `mutation($id: ID!, $at: DateTime) { updateSecret(id: $id, input: {value: "v2", expiresAt: $at}) { ${fields} ... on UpdateSecretSuccess { secret { expiresAt version } } } }`,
      { id, at: later },
    );
    expect(moved.body.data.updateSecret.secret).toEqual({ expiresAt: later, version: 2 });
    const kept = await p.gql(`mutation($id: ID!) { updateSecret(id: $id, input: {value: "v3"}) { ... on UpdateSecretSuccess { secret { expiresAt } } } }`, {
      id,
    });
    expect(kept.body.data.updateSecret.secret.expiresAt).toBe(later);
    const cleared = await p.gql(
      `mutation($id: ID!) { updateSecretMetadata(id: $id, input: {expiresAt: null}) { ${fields} ... on UpdateSecretMetadataSuccess { secret { expiresAt version } } } }`,
      { id },
    );
    expect(cleared.body.data.updateSecretMetadata.secret).toEqual({ expiresAt: null, version: 3 });

    const before = await app.storedCounts();
    const past = await p.gql(`mutation($at: DateTime) { createSecret(input: {name: "GQL_PAST", value: "v", expiresAt: $at}) { ${fields} } }`, {
      at: new Date(clock - 1).toISOString(),
    });
    expect(past.body.data.createSecret).toEqual({
      __typename: 'ValidationError',
      fields: [{ path: ['input', 'expiresAt'], message: 'expiresAt must be in the future' }],
    });
    expect(await app.storedCounts()).toEqual(before);
    const pastUpdate = await p.gql(`mutation($id: ID!, $at: DateTime) { updateSecret(id: $id, input: {value: "v4", expiresAt: $at}) { ${fields} } }`, {
      id,
      at: new Date(clock).toISOString(),
    });
    expect(pastUpdate.body.data.updateSecret.__typename).toBe('ValidationError');
    expect(await app.models.SecretVersion.countDocuments({ secretId: id })).toBe(3);
  });
});
