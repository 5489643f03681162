// The v1 user-secrets door: masked previews and the canonical error envelope.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type DoorClient, doorClient } from '../helpers/doors.ts';

let app: TestApp;
let apiKey: string;
let call: DoorClient;
beforeAll(async () => {
  app = await startTestApp();
  ({ apiKey } = await app.createProject('v1 door'));
  call = doorClient(app.baseUrl, apiKey, 'bearer');
});
afterAll(() => app.close());

const BASE = '/api/v1/user/secrets';
let seq = 0;
const uniqueName = (prefix = 'V1') => `${prefix}_${Date.now()}_${++seq}`;

function expectEnvelope(res: { status: number; body: any }, type: string) {
  expect(res.body.code).toBe(res.status);
  expect(typeof res.body.detail).toBe('string');
  expect(res.body.type).toBe(type);
}

describe('secrets', () => {
  it('POST 201 with {id, name, provider, masked_value, created_at, updated_at}', async () => {
    const name = uniqueName();
    const res = await call('POST', BASE, { body: { name, value: 'sk-proj-0123456789abcdefXYZ789', provider: 'openai' } });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['created_at', 'id', 'masked_value', 'name', 'provider', 'updated_at']);
    expect(res.body).toMatchObject({ name, provider: 'openai', masked_value: 'sk-pro••••789' });
    expect(res.text).not.toContain('0123456789abcdef');
  });

  it('masks a value under 24 characters completely, and shows 6 + 3 from 24 on', async () => {
    const short = await call('POST', BASE, { body: { name: uniqueName(), value: 'abcdefghijklmnopqrstuvw' } });
    expect(short.body.masked_value).toBe('••••••••');
    expect(short.body.provider).toBeNull();
    const exact = await call('POST', BASE, { body: { name: uniqueName(), value: 'abcdefghijklmnopqrstuvwx' } });
    expect(exact.body.masked_value).toBe('abcdef••••vwx');
  });

  it('PUT updates the value: 200, new preview, new version; GET and list show it', async () => {
    const created = await call('POST', BASE, { body: { name: uniqueName(), value: 'first-value-that-is-long-enough' } });
    const res = await call('PUT', `${BASE}/${created.body.id}`, { body: { value: 'second-value-that-is-long-enough' } });
    expect(res.status).toBe(200);
    expect(res.body.masked_value).toBe('second••••ugh');
    expect(res.body.created_at).toBe(created.body.created_at);
    expect((await call('GET', `${BASE}/${created.body.id}`)).body).toEqual(res.body);
    const list = await call('GET', BASE);
    expect(list.status).toBe(200);
    // {"secrets": [...], "total": N}: what Dreadnode's SDK reads.
    expect(Object.keys(list.body).sort()).toEqual(['secrets', 'total']);
    expect(list.body.total).toBe(await app.models.Secret.countDocuments({ deletedAt: null }));
    expect(list.body.secrets).toHaveLength(list.body.total);
    expect(list.body.secrets.find((s: { id: string }) => s.id === created.body.id)).toEqual(res.body);
    const names = list.body.secrets.map((s: { name: string }) => s.name);
    expect(names).toEqual([...names].sort());
  });

  it("X-API-Key (what Dreadnode's SDK sends) authenticates here, and only here among the doors", async () => {
    const headers = { 'x-api-key': apiKey };
    expect((await request(app.baseUrl, 'GET', BASE, { headers })).status).toBe(200);
    const unknown = await request(app.baseUrl, 'GET', BASE, { headers: { 'x-api-key': `sk-lw-${'Z'.repeat(43)}` } });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual({ code: 401, detail: 'Authentication failed', type: 'authentication_error' });
    for (const path of ['/api/secrets', '/v1/deployments/secrets', '/api/v1/secrets']) {
      expect((await request(app.baseUrl, 'GET', path, { headers })).status).toBe(401);
    }
    expect((await graphql(app.baseUrl, '{ secrets { edges { cursor } } }', {}, { headers })).status).toBe(401);
  });

  it("presets: each provider's variable, configured or not; SECRET_PRESETS replaces the list", async () => {
    const presets = await call('GET', `${BASE}/presets`);
    expect(presets.status).toBe(200);
    expect(presets.body.presets).toContainEqual({ provider: 'openai', env_var_name: 'OPENAI_API_KEY', configured: false });
    const made = await call('POST', `${BASE}/preset`, { body: { provider: 'openai', value: 'sk-proj-preset-value-0123456789' } });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ name: 'OPENAI_API_KEY', provider: 'openai', masked_value: 'sk-pro••••789' });
    expect((await call('GET', `${BASE}/presets`)).body.presets).toContainEqual({ provider: 'openai', env_var_name: 'OPENAI_API_KEY', configured: true });
    const again = await call('POST', `${BASE}/preset`, { body: { provider: 'openai', value: 'sk-proj-preset-value-0123456789' } });
    expectEnvelope(again, 'conflict_error');
    expect(again.status).toBe(409);

    const custom = await startTestApp({ secretPresets: [{ provider: 'acme', envVarName: 'ACME_TOKEN' }] });
    try {
      const { apiKey: key } = await custom.createProject('custom presets');
      const asCustom = doorClient(custom.baseUrl, key, 'x-api-key');
      const list = await asCustom('GET', `${BASE}/presets`);
      expect(list.body).toEqual({ presets: [{ provider: 'acme', env_var_name: 'ACME_TOKEN', configured: false }] });
      const unknown = await asCustom('POST', `${BASE}/preset`, { body: { provider: 'openai', value: 'v' } });
      expect(unknown.status).toBe(422);
      expect(unknown.body.errors).toEqual([{ loc: ['body', 'provider'], msg: 'Unknown provider: one of acme', type: 'invalid_value' }]);
      expect(await custom.storedCounts()).toEqual({ secrets: 0, slots: 0, versions: 0, names: 0, fates: 0, idempotencyKeys: 0 });
    } finally {
      await custom.close();
    }
  });

  it('DELETE 204, then 404 not_found_error', async () => {
    const created = await call('POST', BASE, { body: { name: uniqueName(), value: 'v' } });
    const res = await call('DELETE', `${BASE}/${created.body.id}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    const again = await call('GET', `${BASE}/${created.body.id}`);
    expect(again.status).toBe(404);
    expectEnvelope(again, 'not_found_error');
  });
});

describe('errors, in the canonical envelope', () => {
  it('401 authentication_error "Authentication failed"', async () => {
    const res = await request(app.baseUrl, 'GET', BASE, { headers: { authorization: 'Bearer nope' } });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ code: 401, detail: 'Authentication failed', type: 'authentication_error' });
  });

  it('409 conflict_error for a taken name', async () => {
    const name = uniqueName();
    await call('POST', BASE, { body: { name, value: 'v' } });
    const before = await app.storedCounts();
    const res = await call('POST', BASE, { body: { name, value: 'v' } });
    expect(res.status).toBe(409);
    expectEnvelope(res, 'conflict_error');
    expect(await app.storedCounts()).toEqual(before);
  });

  it.each([
    ['a lowercase name', { name: 'lower', value: 'v' }, [['body', 'name']]],
    ['a 256-character name', { name: `A${'B'.repeat(255)}`, value: 'v' }, [['body', 'name']]],
    ['a 10,001-character value', { name: 'OK_V1', value: 'v'.repeat(10_001) }, [['body', 'value']]],
    ['a 65-character provider', { name: 'OK_V1', value: 'v', provider: 'p'.repeat(65) }, [['body', 'provider']]],
    ['an empty provider', { name: 'OK_V1', value: 'v', provider: '' }, [['body', 'provider']]],
    [
      'wrong types',
      { name: 1, value: false },
      [
        ['body', 'name'],
        ['body', 'value'],
      ],
    ],
    [
      'missing fields',
      {},
      [
        ['body', 'name'],
        ['body', 'value'],
      ],
    ],
  ])('422 validation_error with errors[{loc, msg, type}] for %s, storing nothing', async (_l, body, locs) => {
    const before = await app.storedCounts();
    const res = await call('POST', BASE, { body });
    expect(res.status).toBe(422);
    expectEnvelope(res, 'validation_error');
    const seen = res.body.errors.map((e: { loc: string[] }) => e.loc.join('.'));
    expect([...new Set(seen)]).toEqual(locs.map((loc) => loc.join('.')));
    for (const e of res.body.errors) {
      expect(typeof e.msg).toBe('string');
      expect(typeof e.type).toBe('string');
    }
    expect(await app.storedCounts()).toEqual(before);
  });

  it('400 for broken JSON and 413 for a huge body', async () => {
    const broken = await call('PUT', `${BASE}/whatever`, { rawBody: '{"value":', headers: { 'content-type': 'application/json' } });
    expect(broken.status).toBe(400);
    expectEnvelope(broken, 'invalid_request_error');
    const huge = await call('POST', BASE, { body: { name: 'HUGE', value: 'x'.repeat(1_100_000) } });
    expect(huge.status).toBe(413);
    expectEnvelope(huge, 'payload_too_large_error');
  });

  it("404 for unknown, malformed and other-project ids; the other project's secret unchanged", async () => {
    const other = await app.createProject('other');
    const asOther = doorClient(app.baseUrl, other.apiKey, 'bearer');
    const theirs = await asOther('POST', BASE, { body: { name: 'THEIRS', value: 'their-value-that-is-long-enough' } });
    for (const id of ['ffffffffffffffffffffffff', 'nope', '2489E9AD-2EE2-8E00-8EC9-32D5F69181C0', theirs.body.id]) {
      for (const [method, body] of [
        ['GET', undefined],
        ['PUT', { value: 'x' }],
        ['DELETE', undefined],
      ] as const) {
        const res = await call(method, `${BASE}/${id}`, { body });
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ code: 404, detail: 'Secret not found', type: 'not_found_error' });
      }
    }
    const still = await asOther('GET', `${BASE}/${theirs.body.id}`);
    expect(still.body).toEqual(theirs.body);
  });
});
