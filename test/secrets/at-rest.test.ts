// Secrets stay secret: no plaintext value in the database, no value or key in
// any response or log line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openValue } from '../../src/crypto/envelope.ts';
import { graphql, request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { doorClient } from '../helpers/doors.ts';

const MARKER = 'PLAINTEXT-MARKER-7f3a9c';
let app: TestApp;
let project: { id: string; apiKey: string };

beforeAll(async () => {
  app = await startTestApp({ logLevel: 'trace' });
  project = await app.createProject('at rest');
});
afterAll(() => app.close());

// Lean reads give BSON Binary for Buffer fields.
type Binary = { buffer: Uint8Array };
const sealedOf = (v: { keyId: string; wrappedKey: Binary; ciphertext: Binary }) => ({
  keyId: v.keyId,
  wrappedKey: Buffer.from(v.wrappedKey.buffer),
  ciphertext: Buffer.from(v.ciphertext.buffer),
});

describe('what is stored and logged', () => {
  const responses: string[] = [];

  beforeAll(async () => {
    const { apiKey } = project;
    const rest = await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'AT_REST_ONE', value: `${MARKER}-rest-create` } });
    responses.push(rest.text);
    responses.push((await request(app.baseUrl, 'PUT', `/api/secrets/${rest.body.id}`, { apiKey, body: { value: `${MARKER}-rest-update` } })).text);
    const gql = await graphql(
      app.baseUrl,
      'mutation($v: String!) { createSecret(input: {name: "AT_REST_TWO", value: $v}) { ... on CreateSecretSuccess { secret { id } } } }',
      { v: `${MARKER}-gql-create` },
      { apiKey },
    );
    responses.push(gql.text);
    const id = gql.body.data.createSecret.secret.id;
    responses.push(
      (
        await graphql(
          app.baseUrl,
          'mutation($id: ID!, $v: String!) { updateSecret(id: $id, input: {value: $v}) { __typename } }',
          { id, v: `${MARKER}-gql-update` },
          { apiKey },
        )
      ).text,
    );
    // Failures too: a conflict, a rule broken, broken JSON, a wrong key.
    responses.push((await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'AT_REST_ONE', value: `${MARKER}-conflict` } })).text);
    responses.push((await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'bad name', value: `${MARKER}-invalid` } })).text);
    responses.push((await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, rawBody: `{"name":"X","value":"${MARKER}-broken` })).text);
    responses.push(
      (
        await graphql(
          app.baseUrl,
          'mutation($v: String!) { createSecret(input: {name: "x y", value: $v}) { __typename ... on ValidationError { message fields { message } } } }',
          { v: `${MARKER}-gql-invalid` },
          { apiKey },
        )
      ).text,
    );
    responses.push((await request(app.baseUrl, 'POST', '/api/secrets', { apiKey: `${apiKey}0`, body: { name: 'NOPE', value: `${MARKER}-unauth` } })).text);
    responses.push((await request(app.baseUrl, 'GET', '/api/secrets', { apiKey })).text);
    // The other doors, successes and failures.
    const bearer = doorClient(app.baseUrl, apiKey, 'bearer');
    const tg = await bearer('POST', '/v1/deployments/secrets', { body: { name: 'at-rest/three', value: `${MARKER}-together-create` } });
    responses.push(tg.text);
    responses.push((await bearer('PATCH', `/v1/deployments/secrets/${tg.body.id}`, { body: { value: `${MARKER}-together-update` } })).text);
    responses.push((await bearer('POST', '/v1/deployments/secrets', { body: { name: 'bad name', value: `${MARKER}-together-invalid` } })).text);
    responses.push((await bearer('GET', '/v1/deployments/secrets')).text);
    const v1 = await bearer('POST', '/api/v1/user/secrets', { body: { name: 'AT_REST_FOUR', value: `${MARKER}-v1-create` } });
    responses.push(v1.text);
    responses.push((await bearer('PUT', `/api/v1/user/secrets/${v1.body.id}`, { body: { value: `${MARKER}-v1-update` } })).text);
    responses.push((await bearer('POST', '/api/v1/user/secrets', { body: { name: 'bad', value: `${MARKER}-v1-invalid` } })).text);
    responses.push((await bearer('GET', '/api/v1/user/secrets')).text);
    responses.push(
      (
        await request(app.baseUrl, 'PUT', '/api/secrets/AT_REST_FOUR', {
          headers: { 'x-session-api-key': apiKey },
          body: { name: 'AT_REST_FIVE', value: `${MARKER}-openhands-ignored` },
        })
      ).text,
    );
  });

  it('the database holds no plaintext value, in any collection', async () => {
    const db = app.connection.db!;
    const needle = Buffer.from(MARKER);
    let scanned = 0;
    for (const { name } of await db.listCollections().toArray()) {
      for (const doc of await db.collection(name).find({}).toArray()) {
        scanned += 1;
        const raw = JSON.stringify(doc, (_k, v) =>
          v?.type === 'Buffer' || v?._bsontype === 'Binary' ? Buffer.from(v.buffer ?? v.data).toString('latin1') : v,
        );
        expect(raw).not.toContain(MARKER);
        for (const field of Object.values(doc)) {
          if (Buffer.isBuffer(field) || (field as { buffer?: unknown })?.buffer instanceof Uint8Array) {
            expect(Buffer.from((field as { buffer: Uint8Array }).buffer ?? field).includes(needle)).toBe(false);
          }
        }
      }
    }
    expect(scanned).toBeGreaterThan(4);
  });

  it('yet every stored version opens to what was sent, with the master key', async () => {
    const versions = await app.models.SecretVersion.find({ projectId: project.id }).select('+wrappedKey +ciphertext').lean();
    const values = versions.map((v) =>
      openValue(app.keyring, sealedOf(v), {
        projectId: v.projectId.toHexString(),
        secretId: v.secretId.toHexString(),
        version: v.version,
      }),
    );
    expect(values.sort()).toEqual([
      `${MARKER}-gql-create`,
      `${MARKER}-gql-update`,
      `${MARKER}-rest-create`,
      `${MARKER}-rest-update`,
      `${MARKER}-together-create`,
      `${MARKER}-together-update`,
      `${MARKER}-v1-create`,
      `${MARKER}-v1-update`,
    ]);
  });

  it('a sealed version copied onto another secret does not open', async () => {
    const [a, b] = await app.models.SecretVersion.find({ projectId: project.id, version: 1 }).select('+wrappedKey +ciphertext').lean();
    expect(() =>
      openValue(app.keyring, sealedOf(a!), {
        projectId: project.id,
        secretId: b!.secretId.toHexString(),
        version: 1,
      }),
    ).toThrow('Sealed value could not be opened');
  });

  it('the masked previews show at most the first 6 and the last 3 characters', () => {
    const previews = responses.flatMap((text) => [...text.matchAll(/"masked_value":"([^"]*)"/g)].map((m) => m[1]));
    expect(previews.length).toBeGreaterThan(3);
    for (const preview of previews) expect(preview).toMatch(/^(PLAINT••••\w{3}|••••••••)$/);
  });

  it('no response carries a value, submitted or stored', () => {
    expect(responses).toHaveLength(19);
    for (const text of responses) expect(text).not.toContain(MARKER);
  });

  it('no log line carries a value or an API key, even at trace level', () => {
    const logs = app.logs.join('');
    expect(app.logs.length).toBeGreaterThan(10);
    expect(logs).not.toContain(MARKER);
    expect(logs).not.toContain(project.apiKey);
    expect(logs).not.toContain(project.apiKey.slice(6));
    expect(logs).not.toContain(app.adminToken);
    expect(logs).not.toContain(app.masterKey.toString('base64'));
  });

  it('the API key is stored only as its SHA-256 hash', async () => {
    const db = app.connection.db!;
    for (const { name } of await db.listCollections().toArray()) {
      const raw = JSON.stringify(await db.collection(name).find({}).toArray());
      expect(raw).not.toContain(project.apiKey.slice(6));
    }
  });
});
