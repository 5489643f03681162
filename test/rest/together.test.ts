// The Together door over plain HTTP: every status and error body, by id and by name.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type DoorClient, doorClient } from '../helpers/doors.ts';

let app: TestApp;
let apiKey: string;
let call: DoorClient;
beforeAll(async () => {
  app = await startTestApp();
  ({ apiKey } = await app.createProject('together door'));
  call = doorClient(app.baseUrl, apiKey, 'bearer');
});
afterAll(() => app.close());

const BASE = '/v1/deployments/secrets';
let seq = 0;
const uniqueName = (prefix = 'tg') => `${prefix}-${Date.now()}-${++seq}`;

function expectItem(body: Record<string, unknown>) {
  expect(Object.keys(body).sort()).toEqual(['created_at', 'created_by', 'description', 'id', 'last_updated_by', 'name', 'object', 'updated_at']);
  expect(body.object).toBe('secret');
  expect(body.id).toMatch(/^[0-9a-f]{24}$/);
}

/** Together's error body; `param` names the field at fault, null when none is. */
function expectError(res: { body: any }, type: string, param: string | null = null) {
  expect(Object.keys(res.body)).toEqual(['error']);
  expect(res.body.error).toEqual({ message: expect.any(String), type, param, code: null });
}

describe('create', () => {
  it('200 with a SecretResponseItem; description kept; value never returned', async () => {
    const name = uniqueName('team/openai.key');
    const res = await call('POST', BASE, { body: { name, value: 'together-create-value', description: 'for CI', project_id: 'ignored' } });
    expect(res.status).toBe(200);
    expectItem(res.body);
    expect(res.body).toMatchObject({ name, description: 'for CI' });
    expect(res.body.created_by).toBe(res.body.last_updated_by);
    expect(res.text).not.toContain('together-create-value');
  });

  it('409 conflict_error with x-should-retry: false for a taken name, storing nothing more', async () => {
    const name = uniqueName();
    await call('POST', BASE, { body: { name, value: 'v' } });
    const before = await app.storedCounts();
    const res = await call('POST', BASE, { body: { name, value: 'v2' } });
    expect(res.status).toBe(409);
    expect(res.headers.get('x-should-retry')).toBe('false');
    expectError(res, 'conflict_error');
    expect(await app.storedCounts()).toEqual(before);
  });

  it('accepts every allowed character, 100 characters and a 500-character description', async () => {
    const name = `Aa0_-/.${'x'.repeat(93)}`;
    expect(name).toHaveLength(100);
    const res = await call('POST', BASE, { body: { name, value: 'v'.repeat(10_000), description: 'd'.repeat(500) } });
    expect(res.status).toBe(200);
    expect(res.body.name).toBe(name);
  });

  it.each([
    ['a 101-character name', { name: 'x'.repeat(101), value: 'v' }, 'name'],
    ['an empty name', { name: '', value: 'v' }, 'name'],
    ['a name with a space', { name: 'a b', value: 'v' }, 'name'],
    ['a name with a colon', { name: 'a:b', value: 'v' }, 'name'],
    ['a name with non-ASCII', { name: 'clé', value: 'v' }, 'name'],
    ['an empty value', { name: 'ok-name', value: '' }, 'value'],
    ['a 10,001-character value', { name: 'ok-name', value: 'v'.repeat(10_001) }, 'value'],
    ['a 501-character description', { name: 'ok-name', value: 'v', description: 'd'.repeat(501) }, 'description'],
    ['a numeric name', { name: 5, value: 'v' }, 'name'],
    ['a missing value', { name: 'ok-name' }, 'value'],
  ])('400 invalid_request_error for %s, naming the field, storing nothing', async (_l, body, param) => {
    const before = await app.storedCounts();
    const res = await call('POST', BASE, { body });
    expect(res.status).toBe(400);
    expectError(res, 'invalid_request_error', param);
    expect(await app.storedCounts()).toEqual(before);
  });

  it('400 for broken JSON, 413 for a huge body, 401 without a key', async () => {
    const broken = await call('POST', BASE, { rawBody: '{"name":', headers: { 'content-type': 'application/json' } });
    expect(broken.status).toBe(400);
    expectError(broken, 'invalid_request_error');
    const huge = await call('POST', BASE, { body: { name: 'huge', value: 'v'.repeat(1_100_000) } });
    expect(huge.status).toBe(413);
    expectError(huge, 'invalid_request_error');
    const anonymous = await request(app.baseUrl, 'POST', BASE, { body: { name: 'anon', value: 'v' } });
    expect(anonymous.status).toBe(401);
    expectError(anonymous, 'authentication_error');
  });
});

describe('retrieve, list, update, delete by id or name', () => {
  it('retrieves by id, by name, and by a name with / sent as %2F', async () => {
    const name = uniqueName('org/team/key');
    const created = await call('POST', BASE, { body: { name, value: 'v' } });
    for (const ref of [created.body.id, encodeURIComponent(name)]) {
      const res = await call('GET', `${BASE}/${ref}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(created.body);
    }
  });

  it('lists {object: "list", data: [...]} in name order, only the caller\'s', async () => {
    const mine = await app.createProject('lister');
    const other = await app.createProject('other');
    const asMine = doorClient(app.baseUrl, mine.apiKey, 'bearer');
    for (const name of ['zeta', 'Alpha', 'mid/dle']) {
      expect((await asMine('POST', BASE, { body: { name, value: 'v' } })).status).toBe(200);
    }
    await doorClient(app.baseUrl, other.apiKey, 'bearer')('POST', BASE, { body: { name: 'theirs', value: 'v' } });
    const res = await asMine('GET', BASE);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['data', 'object']);
    expect(res.body.object).toBe('list');
    expect(res.body.data.map((s: { name: string }) => s.name)).toEqual(['Alpha', 'mid/dle', 'zeta']);
    for (const item of res.body.data) expectItem(item);
  });

  it('PATCH changes value, name and description; renaming to its own name succeeds', async () => {
    const name = uniqueName();
    const created = await call('POST', BASE, { body: { name, value: 'v1' } });
    const same = await call('PATCH', `${BASE}/${name}`, { body: { name } });
    expect(same.status).toBe(200);
    expect(same.body).toEqual(created.body);

    const renamed = uniqueName('renamed');
    const res = await call('PATCH', `${BASE}/${created.body.id}`, { body: { name: renamed, value: 'v2', description: 'new' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: created.body.id, name: renamed, description: 'new' });
    expect(await app.models.SecretVersion.countDocuments({ secretId: created.body.id })).toBe(2);
    expect((await call('GET', `${BASE}/${name}`)).status).toBe(404);
    expect((await call('GET', `${BASE}/${renamed}`)).body.id).toBe(created.body.id);
    // The old name is free again.
    expect((await call('POST', BASE, { body: { name, value: 'x' } })).status).toBe(200);
  });

  it("PATCH onto another secret's name: 409 with x-should-retry: false, nothing changed", async () => {
    const a = await call('POST', BASE, { body: { name: uniqueName('a'), value: 'v' } });
    const b = await call('POST', BASE, { body: { name: uniqueName('b'), value: 'v' } });
    const before = await app.storedCounts();
    const res = await call('PATCH', `${BASE}/${a.body.id}`, { body: { name: b.body.name, value: 'changed' } });
    expect(res.status).toBe(409);
    expect(res.headers.get('x-should-retry')).toBe('false');
    expectError(res, 'conflict_error');
    expect((await call('GET', `${BASE}/${a.body.id}`)).body).toEqual(a.body);
    expect(await app.storedCounts()).toEqual(before);
  });

  it('PATCH with broken rules is 400 and stores nothing', async () => {
    const a = await call('POST', BASE, { body: { name: uniqueName(), value: 'v' } });
    const before = await app.storedCounts();
    const cases: [unknown, string | null][] = [
      [{ name: 'bad name' }, 'name'],
      [{ value: '' }, 'value'],
      [{ description: 'd'.repeat(501) }, 'description'],
      [{ value: 1 }, 'value'],
      [[], null],
    ];
    for (const [body, param] of cases) {
      const res = await call('PATCH', `${BASE}/${a.body.id}`, { body });
      expect(res.status).toBe(400);
      expectError(res, 'invalid_request_error', param);
    }
    expect(await app.storedCounts()).toEqual(before);
  });

  it('DELETE by name answers {id, object, deleted: true}; then 404 everywhere', async () => {
    const name = uniqueName('gone/soon');
    const created = await call('POST', BASE, { body: { name, value: 'v' } });
    const res = await call('DELETE', `${BASE}/${encodeURIComponent(name)}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: created.body.id, object: 'secret', deleted: true });
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { value: 'x' }],
      ['DELETE', undefined],
    ] as const) {
      const again = await call(method, `${BASE}/${created.body.id}`, { body });
      expect(again.status).toBe(404);
      expectError(again, 'not_found_error');
    }
  });

  it("another project's secret is not found by id or by name, and stays unchanged", async () => {
    const asOther = doorClient(app.baseUrl, (await app.createProject('intruder')).apiKey, 'bearer');
    const mine = await call('POST', BASE, { body: { name: uniqueName('mine'), value: 'v' } });
    for (const ref of [mine.body.id, mine.body.name]) {
      for (const [method, body] of [
        ['GET', undefined],
        ['PATCH', { value: 'stolen', name: 'stolen' }],
        ['DELETE', undefined],
      ] as const) {
        const res = await asOther(method, `${BASE}/${ref}`, { body });
        expect(res.status).toBe(404);
      }
    }
    expect((await call('GET', `${BASE}/${mine.body.id}`)).body).toEqual(mine.body);
  });

  it('404 for unknown and malformed ids and names', async () => {
    for (const ref of ['ffffffffffffffffffffffff', 'no-such-name', '%00', 'x'.repeat(300)]) {
      const res = await call('GET', `${BASE}/${ref}`);
      expect(res.status).toBe(404);
      expectError(res, 'not_found_error');
    }
  });
});
