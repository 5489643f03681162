// The LangWatch door: every status and error body of the contract's table.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type DoorClient, doorClient } from '../helpers/doors.ts';

let app: TestApp;
let apiKey: string;
let projectId: string;
let call: DoorClient;

beforeAll(async () => {
  app = await startTestApp();
  ({ apiKey, id: projectId } = await app.createProject('langwatch door'));
  call = doorClient(app.baseUrl, apiKey);
});
afterAll(() => app.close());

async function storedCounts() {
  return {
    secrets: await app.models.Secret.countDocuments({}),
    versions: await app.models.SecretVersion.countDocuments({}),
  };
}

let seq = 0;
const uniqueName = (prefix = 'SECRET') => `${prefix}_${Date.now()}_${++seq}`;

function expectSecretShape(body: Record<string, unknown>) {
  expect(Object.keys(body).sort()).toEqual(['createdAt', 'id', 'name', 'projectId', 'updatedAt']);
  expect(body.id).toMatch(/^[0-9a-f]{24}$/);
  expect(body.projectId).toBe(projectId);
  expect(new Date(body.createdAt as string).toISOString()).toBe(body.createdAt);
}

describe('POST /api/secrets', () => {
  it('creates a secret: 201 with {id, projectId, name, createdAt, updatedAt} and no value', async () => {
    const name = uniqueName();
    const res = await call('POST', '/api/secrets', { body: { name, value: 'create-value-1' } });
    expect(res.status).toBe(201);
    expectSecretShape(res.body);
    expect(res.body.name).toBe(name);
    expect(res.body.createdAt).toBe(res.body.updatedAt);
    expect(res.text).not.toContain('create-value-1');
    expect(await app.models.Secret.countDocuments({ name })).toBe(1);
  });

  it('accepts the key as Authorization: Bearer as well as X-Auth-Token', async () => {
    const res = await request(app.baseUrl, 'POST', '/api/secrets', {
      body: { name: uniqueName(), value: 'v' },
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(res.status).toBe(201);
  });

  it('reads a JSON body whatever its Content-Type says (curl -d sends form-urlencoded)', async () => {
    const res = await call('POST', '/api/secrets', {
      rawBody: JSON.stringify({ name: uniqueName(), value: 'v' }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(201);
  });

  it("409 with LangWatch's message when the name exists, storing nothing", async () => {
    const name = uniqueName();
    expect((await call('POST', '/api/secrets', { body: { name, value: 'first' } })).status).toBe(201);
    const before = await storedCounts();
    const res = await call('POST', '/api/secrets', { body: { name, value: 'second' } });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ error: `A secret with the name "${name}" already exists` });
    expect(await storedCounts()).toEqual(before);
  });

  it('accepts a name of exactly 255 characters and a value of exactly 10,000', async () => {
    const name = `N${'A'.repeat(254)}`;
    const res = await call('POST', '/api/secrets', { body: { name, value: 'x'.repeat(10_000) } });
    expect(res.status).toBe(201);
    expect(res.body.name).toBe(name);
  });

  const invalid: [string, unknown, string[]][] = [
    ['a name of 256 characters', { name: `N${'A'.repeat(255)}`, value: 'v' }, ['name']],
    ['a value of 10,001 characters', { name: 'OK_NAME_LONG_VALUE', value: 'x'.repeat(10_001) }, ['value']],
    ['an empty name', { name: '', value: 'v' }, ['name']],
    ['an empty value', { name: 'OK_NAME_EMPTY', value: '' }, ['value']],
    ['a lowercase name', { name: 'lower', value: 'v' }, ['name']],
    ['a name starting with a digit', { name: '1ABC', value: 'v' }, ['name']],
    ['a name starting with _', { name: '_ABC', value: 'v' }, ['name']],
    ['a name with a hyphen', { name: 'A-B', value: 'v' }, ['name']],
    ['a name with a space', { name: 'A B', value: 'v' }, ['name']],
    ['a name with a dot', { name: 'A.B', value: 'v' }, ['name']],
    ['a name with non-ASCII', { name: 'ÄBC', value: 'v' }, ['name']],
    ['a missing name', { value: 'v' }, ['name']],
    ['a missing value', { name: 'OK_NAME_MISSING' }, ['value']],
    ['a name of the wrong type', { name: 42, value: 'v' }, ['name']],
    ['a value of the wrong type', { name: 'OK_NAME_TYPE', value: { nested: true } }, ['value']],
    ['a null value', { name: 'OK_NAME_NULL', value: null }, ['value']],
    ['body with both fields of wrong types', { name: ['A'], value: 7 }, ['name', 'value']],
  ];
  it.each(invalid)('422 validation_error for %s, storing nothing', async (_label, body, paths) => {
    const before = await storedCounts();
    const res = await call('POST', '/api/secrets', { body });
    expect(res.status).toBe(422);
    expect(res.body.error).toBe('validation_error');
    expect(typeof res.body.message).toBe('string');
    expect([...new Set(res.body.fields.map((f: { path: string[] }) => f.path[0]))].sort()).toEqual(paths);
    expect(await storedCounts()).toEqual(before);
  });

  it('reports one field error per broken rule', async () => {
    const res = await call('POST', '/api/secrets', { body: { name: '', value: 'v' } });
    expect(res.status).toBe(422);
    // An empty name is both too short and not of the pattern.
    expect(res.body.fields.filter((f: { path: string[] }) => f.path[0] === 'name')).toHaveLength(2);
  });

  it.each([
    ['a JSON array', '[]'],
    ['a JSON string', '"NAME"'],
    ['JSON null', 'null'],
  ])('422 for a body that is %s', async (_label, rawBody) => {
    const res = await call('POST', '/api/secrets', { rawBody });
    expect(res.status).toBe(422);
    expect(res.body.error).toBe('validation_error');
  });

  it.each([
    ['an empty body with a JSON Content-Type', ''],
    ['no body at all', undefined],
  ])('an empty body is no body: 422 validation_error "A JSON body is required" for %s, storing nothing', async (_label, rawBody) => {
    const before = await storedCounts();
    const res = await call('POST', '/api/secrets', { rawBody });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({ error: 'validation_error', message: 'A JSON body is required', fields: [{ path: [], message: 'A JSON body is required' }] });
    expect(await storedCounts()).toEqual(before);
  });

  it.each([
    ['broken JSON', '{"name": "A", "value": '],
    ['not JSON at all', 'name=A&value=b'],
  ])('400 malformed_request for %s, storing nothing', async (_label, rawBody) => {
    const before = await storedCounts();
    const res = await call('POST', '/api/secrets', { rawBody, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('malformed_request');
    expect(typeof res.body.message).toBe('string');
    expect(await storedCounts()).toEqual(before);
  });

  it("does not echo a broken body in its 400 (the parser's message would quote it)", async () => {
    const res = await call('POST', '/api/secrets', { rawBody: '{"name": "A", "value": "broken-marker-77 }' });
    expect(res.status).toBe(400);
    expect(res.text).not.toContain('broken-marker-77');
    expect(app.logs.join('')).not.toContain('broken-marker-77');
  });

  it('413 for a body over 1 MB, storing nothing', async () => {
    const before = await storedCounts();
    const res = await call('POST', '/api/secrets', { body: { name: 'HUGE', value: 'x'.repeat(1_100_000) } });
    expect(res.status).toBe(413);
    expect(res.body.error).toBe('payload_too_large');
    expect(await storedCounts()).toEqual(before);
  });

  it('401 without a key, with a malformed key, and with an unknown key; nothing stored', async () => {
    const before = await storedCounts();
    const body = { name: uniqueName(), value: 'v' };
    const attempts: Record<string, string>[] = [
      {},
      { 'x-auth-token': 'not-a-key' },
      { 'x-auth-token': `sk-lw-${'a'.repeat(43)}` },
      { authorization: 'Basic Zm9vOmJhcg==' },
      { authorization: `Bearer ${apiKey}x` },
    ];
    for (const headers of attempts) {
      const res = await request(app.baseUrl, 'POST', '/api/secrets', { body, headers });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('Unauthorized');
      expect(typeof res.body.message).toBe('string');
    }
    expect(await storedCounts()).toEqual(before);
  });

  it('answers 401 before reading the body', async () => {
    const res = await request(app.baseUrl, 'POST', '/api/secrets', { rawBody: '{broken' });
    expect(res.status).toBe(401);
  });
});

describe('PUT /api/secrets/{id}', () => {
  let id: string;
  beforeEach(async () => {
    const res = await call('POST', '/api/secrets', { body: { name: uniqueName('PUT'), value: 'old-value' } });
    id = res.body.id;
  });

  it('updates the value: 200 with the same shape, a new updatedAt and a new sealed version', async () => {
    const created = await call('GET', `/api/secrets/${id}`);
    await new Promise((r) => setTimeout(r, 5));
    const res = await call('PUT', `/api/secrets/${id}`, { body: { value: 'new-value-put' } });
    expect(res.status).toBe(200);
    expectSecretShape(res.body);
    expect(res.body.id).toBe(id);
    expect(res.body.createdAt).toBe(created.body.createdAt);
    expect(Date.parse(res.body.updatedAt)).toBeGreaterThan(Date.parse(created.body.updatedAt));
    expect(res.text).not.toContain('new-value-put');
    expect(await app.models.SecretVersion.countDocuments({ secretId: id })).toBe(2);
    expect((await app.models.Secret.findById(id).lean())?.version).toBe(2);
  });

  it('404 "Secret not found" for an unknown, a malformed and an over-long id', async () => {
    for (const bad of ['0123456789abcdef01234567', 'not-an-id', 'ZZZ', `${id}0`, id.toUpperCase(), 'a'.repeat(900)]) {
      const res = await call('PUT', `/api/secrets/${bad}`, { body: { value: 'v' } });
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: 'Secret not found' });
    }
  });

  it('422 for a broken value rule or type, leaving the secret unchanged', async () => {
    for (const body of [{ value: '' }, { value: 'x'.repeat(10_001) }, { value: 5 }, {}, { name: 'X' }]) {
      const res = await call('PUT', `/api/secrets/${id}`, { body });
      expect(res.status).toBe(422);
      expect(res.body.error).toBe('validation_error');
    }
    expect(await app.models.SecretVersion.countDocuments({ secretId: id })).toBe(1);
  });

  it('400 for broken JSON and 401 without a key', async () => {
    expect((await call('PUT', `/api/secrets/${id}`, { rawBody: '{"value":' })).status).toBe(400);
    const res = await request(app.baseUrl, 'PUT', `/api/secrets/${id}`, { body: { value: 'v' } });
    expect(res.status).toBe(401);
    expect(await app.models.SecretVersion.countDocuments({ secretId: id })).toBe(1);
  });
});

describe('GET /api/secrets and /api/secrets/{id}', () => {
  it("lists the project's secrets sorted by name, without values", async () => {
    const other = await app.createProject('list isolation');
    const names = ['ZULU_LIST', 'ALPHA_LIST', 'MIKE_LIST'];
    for (const name of names) await call('POST', '/api/secrets', { body: { name, value: `list-value-${name}` } });
    await request(app.baseUrl, 'POST', '/api/secrets', { apiKey: other.apiKey, body: { name: 'OTHER_PROJECT', value: 'x' } });

    const res = await call('GET', '/api/secrets');
    expect(res.status).toBe(200);
    expect(Array.isArray(res.body)).toBe(true);
    const listed = res.body.map((s: { name: string }) => s.name);
    expect(listed).toEqual([...listed].sort());
    expect(listed).toEqual(expect.arrayContaining(names));
    expect(listed).not.toContain('OTHER_PROJECT');
    for (const item of res.body) expectSecretShape(item);
    expect(res.text).not.toContain('list-value-');
  });

  it('gets one secret by id; 404 for unknown or malformed ids; 401 without a key', async () => {
    const created = await call('POST', '/api/secrets', { body: { name: uniqueName('GET'), value: 'get-value' } });
    const res = await call('GET', `/api/secrets/${created.body.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(created.body);
    expect((await call('GET', '/api/secrets/ffffffffffffffffffffffff')).status).toBe(404);
    expect((await call('GET', '/api/secrets/%00%01')).body).toEqual({ error: 'Secret not found' });
    expect((await request(app.baseUrl, 'GET', `/api/secrets/${created.body.id}`)).status).toBe(401);
    expect((await request(app.baseUrl, 'GET', '/api/secrets')).status).toBe(401);
  });
});

describe('DELETE /api/secrets/{id}', () => {
  it('deletes: 200 {id, deleted: true}; the secret is gone from every lookup (kept for restore); a second delete is 404', async () => {
    const created = await call('POST', '/api/secrets', { body: { name: uniqueName('DEL'), value: 'del-value' } });
    const { id } = created.body;
    await call('PUT', `/api/secrets/${id}`, { body: { value: 'del-value-2' } });
    const res = await call('DELETE', `/api/secrets/${id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id, deleted: true });
    expect(await app.models.Secret.countDocuments({ _id: id, deletedAt: null })).toBe(0);
    expect((await call('GET', '/api/secrets')).body.map((s: { id: string }) => s.id)).not.toContain(id);
    expect((await call('GET', `/api/secrets/${id}`)).status).toBe(404);
    expect((await call('DELETE', `/api/secrets/${id}`)).body).toEqual({ error: 'Secret not found' });
    expect((await call('DELETE', '/api/secrets/nope')).status).toBe(404);
  });

  it('frees the name for a new secret', async () => {
    const name = uniqueName('REUSE');
    const first = await call('POST', '/api/secrets', { body: { name, value: 'a' } });
    await call('DELETE', `/api/secrets/${first.body.id}`);
    const second = await call('POST', '/api/secrets', { body: { name, value: 'b' } });
    expect(second.status).toBe(201);
    expect(second.body.id).not.toBe(first.body.id);
  });
});

describe("another project's secret", () => {
  it('is not found through every route, and stays unchanged', async () => {
    const other = await app.createProject('intruder');
    const mine = await call('POST', '/api/secrets', { body: { name: uniqueName('MINE'), value: 'mine' } });
    const { id } = mine.body;
    const theirs = doorClient(app.baseUrl, other.apiKey);
    const path = `/api/secrets/${id}`;

    for (const res of [await theirs('GET', path), await theirs('PUT', path, { body: { value: 'stolen' } }), await theirs('DELETE', path)]) {
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: 'Secret not found' });
    }
    const list = await theirs('GET', '/api/secrets');
    expect(list.body.map((s: { id: string }) => s.id)).not.toContain(id);

    expect((await call('GET', `/api/secrets/${id}`)).body).toEqual(mine.body);
    expect(await app.models.SecretVersion.countDocuments({ secretId: id })).toBe(1);
  });
});

describe("the door's unknown routes", () => {
  it('answer 404 in JSON', async () => {
    const res = await call('GET', '/api/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('not_found');
  });
});
