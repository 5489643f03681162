// GET /api/secrets/values (reveal-all) at its edges: it never drops a secret
// (its values come with the secrets, in one read), __proto__ is a name like
// any other, and it audits its refusals as a single reveal does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { runCli } from '../cli/process.ts';

let clock = Date.parse('2034-01-01T00:00:00Z');
let app: TestApp;
let apiKey: string;
beforeAll(async () => {
  app = await startTestApp({ now: () => new Date(clock), limits: { versionsKept: 1 } });
  ({ apiKey } = await app.createProject('values'));
});
afterAll(() => app.close());

const create = (name: string, value = `value of ${name}`, headers: Record<string, string> = {}) =>
  request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name, value }, headers });

describe('GET /api/secrets/values', () => {
  it('never drops a secret whose version a concurrent update pruned: each value comes in the same read as its secret', async () => {
    const made = await create('CHURNING');
    const { store } = app;
    const listAllLive = store.listAllLive;
    // The update lands right after the secrets were read (through the store's
    // seam, whatever the store), and prunes the version they name (one version
    // kept): there is no second read for it to land before, and the answer is
    // the read's, whole.
    let interposed = 0;
    store.listAllLive = async (...args) => {
      store.listAllLive = listAllLive;
      interposed++;
      const read = await listAllLive(...args);
      const put = await request(app.baseUrl, 'PUT', `/api/secrets/${made.body.id}`, { apiKey, body: { value: 'the newer value' } });
      expect(put.status).toBe(200);
      const churning = read.find((secret) => secret.name === 'CHURNING')!;
      expect(await listAllLive.call(store, args[0], args[1])).toContainEqual(expect.objectContaining({ name: 'CHURNING', version: 2 }));
      expect(await store.sealedVersion({ ...churning }, 1)).toBeNull();
      return read;
    };
    try {
      const values = await request(app.baseUrl, 'GET', '/api/secrets/values', { apiKey });
      expect(values.status).toBe(200);
      expect(values.body.values.CHURNING).toBe('value of CHURNING');
      expect(interposed).toBe(1);
    } finally {
      store.listAllLive = listAllLive;
    }
    expect((await request(app.baseUrl, 'GET', '/api/secrets/values', { apiKey })).body.values.CHURNING).toBe('the newer value');
  });

  it('keeps a secret named __proto__ (a valid Together name), in the API and in the CLI', async () => {
    const made = await request(app.baseUrl, 'POST', '/v1/deployments/secrets', {
      headers: { authorization: `Bearer ${apiKey}` },
      body: { name: '__proto__', value: 'proto-value' },
    });
    expect(made.status).toBe(200);
    const values = await request(app.baseUrl, 'GET', '/api/secrets/values', { apiKey });
    expect(values.text).toContain('"__proto__":"proto-value"');
    const cli = async (args: string[]) => (await runCli(args, { env: { SECRETS_URL: app.baseUrl, SECRETS_API_KEY: apiKey } })).stdout;
    expect(Object.entries(JSON.parse(await cli(['export', '--format', 'json'])))).toContainEqual(['__proto__', 'proto-value']);
    expect(await cli(['export', '--format', 'dotenv'])).toContain('__proto__="proto-value"');
    expect(await cli(['run', '--', 'printenv', '__proto__'])).toBe('proto-value\n');
  });

  it('audits a refusal as a single reveal does', async () => {
    const made = await graphql(
      app.baseUrl,
      'mutation { createApiKey(input: {name: "reader", scopes: ["secrets:read"]}) { ... on CreateApiKeySuccess { key apiKey { id } } } }',
      {},
      { apiKey },
    );
    const {
      key,
      apiKey: { id: keyId },
    } = made.body.data.createApiKey;
    expect((await request(app.baseUrl, 'GET', '/api/secrets/values', { apiKey: key })).status).toBe(403);
    expect(await app.models.AuditEvent.findOne({ keyId, operation: 'reveal' }).lean()).toMatchObject({ outcome: 'forbidden', door: 'langwatch' });
  });
});
