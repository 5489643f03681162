// The OpenHands door: OpenHands' custom-secrets API as its server serves it to
// its frontend (frontend/src/api/secrets-service.ts, axios with JSON bodies)
// and to its nested conversation manager (httpx, X-Session-API-Key): V0 under
// /api/secrets, V1 under /api/v1/secrets. A secret_id is a secret's name.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type DoorClient, doorClient } from '../helpers/doors.ts';

let app: TestApp;
let apiKey: string;
/** Requests with the project's key in X-Session-API-Key, as the conversation manager sends it. */
let session: DoorClient;
beforeAll(async () => {
  app = await startTestApp();
  ({ apiKey } = await app.createProject('openhands door'));
  session = doorClient(app.baseUrl, apiKey, 'x-session-api-key');
});
afterAll(() => app.close());

const read = (name: string) => app.models.Secret.findOne({ name, deletedAt: null }).lean();
const MARKER = 'openhands-value-MARKER';

describe.each([
  {
    version: 'V0',
    base: '/api/secrets',
    // OpenHands' V0 handlers answer these themselves, with {error} and {message}.
    notFound: (name: string) => ({ error: `Secret with ID ${name} not found` }),
    taken: (name: string) => ({ message: `Secret ${name} already exists` }),
  },
  {
    version: 'V1',
    base: '/api/v1/secrets',
    // V1 raises FastAPI's HTTPException: {detail}.
    notFound: (name: string) => ({ detail: `Secret with ID ${name} not found` }),
    taken: (name: string) => ({ detail: `Secret ${name} already exists` }),
  },
])('$version custom secrets under $base', ({ version, base, notFound, taken }) => {
  let call: DoorClient;
  beforeAll(() => {
    call = doorClient(app.baseUrl, apiKey, 'x-session-api-key', base);
  });
  const name = (n: string) => `${version}_${n}`;

  it('POST {name, value, description} → 201 {message}; the value is stored sealed, never answered', async () => {
    const res = await call('POST', '', { body: { name: name('GITHUB_TOKEN'), value: `${MARKER}-1`, description: 'CI token' } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ message: 'Secret created successfully' });
    expect(await read(name('GITHUB_TOKEN'))).toMatchObject({ description: 'CI token', version: 1 });
    expect(res.text).not.toContain(MARKER);
  });

  it('POST without a description, as the conversation manager may', async () => {
    const res = await call('POST', '', { body: { name: name('NO DESCRIPTION'), value: `${MARKER}-2` } });
    expect(res.status).toBe(201);
    expect(await read(name('NO DESCRIPTION'))).toMatchObject({ description: null });
  });

  it('GET → {custom_secrets: [{name, description}]}, by name, "" for no description, never a value', async () => {
    const res = await call('GET', '');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      custom_secrets: expect.arrayContaining([
        { name: name('GITHUB_TOKEN'), description: 'CI token' },
        { name: name('NO DESCRIPTION'), description: '' },
      ]),
    });
    const names = res.body.custom_secrets.map((s: { name: string }) => s.name);
    expect(names).toEqual([...names].sort());
    expect(res.text).not.toContain(MARKER);
  });

  it("POST of a taken name → 400 in OpenHands' words; nothing stored", async () => {
    const before = await app.storedCounts();
    const res = await call('POST', '', { body: { name: name('GITHUB_TOKEN'), value: `${MARKER}-3` } });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(taken(name('GITHUB_TOKEN')));
    expect(await app.storedCounts()).toEqual(before);
  });

  it('PUT /{name} {name, description} renames and re-describes → 200 {message}; the value is untouched', async () => {
    await call('POST', '', { body: { name: name('OLD_NAME'), value: `${MARKER}-4`, description: 'old' } });
    const res = await call('PUT', `/${name('OLD_NAME')}`, { body: { name: name('NEW NAME'), description: 'new' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ message: 'Secret updated successfully' });
    const secret = await read(name('NEW NAME'));
    expect(secret).toMatchObject({ description: 'new', version: 1 });
    expect(await app.models.SecretVersion.countDocuments({ secretId: secret!._id })).toBe(1);
    expect(await read(name('OLD_NAME'))).toBeNull();
  });

  it("PUT of an unknown name → 404 in OpenHands' words (never its 200); onto a taken name → 400; nothing changes", async () => {
    const before = await app.storedCounts();
    const unknown = await call('PUT', `/${name('NO_SUCH')}`, { body: { name: name('ANYTHING') } });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual(notFound(name('NO_SUCH')));
    const onto = await call('PUT', `/${name('NEW NAME')}`, { body: { name: name('GITHUB_TOKEN') } });
    expect(onto.status).toBe(400);
    expect(onto.body).toEqual(taken(name('GITHUB_TOKEN')));
    expect(await read(name('NEW NAME'))).not.toBeNull();
    expect(await app.storedCounts()).toEqual(before);
  });

  it("DELETE /{name} → 200 {message}; then it is gone: 404 in OpenHands' words", async () => {
    await call('POST', '', { body: { name: name('TO DELETE'), value: `${MARKER}-5` } });
    const res = await call('DELETE', `/${encodeURIComponent(name('TO DELETE'))}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ message: 'Secret deleted successfully' });
    expect(await read(name('TO DELETE'))).toBeNull();
    const again = await call('DELETE', `/${encodeURIComponent(name('TO DELETE'))}`);
    expect(again.status).toBe(404);
    expect(again.body).toEqual(notFound(name('TO DELETE')));
  });

  it.each([
    ['a missing name', { value: 'v' }, [['body', 'name']]],
    ['an empty name', { name: '', value: 'v' }, [['body', 'name']]],
    ['a 256-character name', { name: 'n'.repeat(256), value: 'v' }, [['body', 'name']]],
    ['a name with a control character', { name: 'a\nb', value: 'v' }, [['body', 'name']]],
    ['a missing value', { name: 'X' }, [['body', 'value']]],
    ['a 501-character description', { name: 'X', value: 'v', description: 'd'.repeat(501) }, [['body', 'description']]],
    [
      'wrong types',
      { name: 7, value: 7 },
      [
        ['body', 'name'],
        ['body', 'value'],
      ],
    ],
  ])("POST with %s → 422 in FastAPI's {detail: [{loc, msg, type}]} shape, storing nothing", async (_label, body, locs) => {
    const before = await app.storedCounts();
    const res = await call('POST', '', { body });
    expect(res.status).toBe(422);
    expect([...new Set(res.body.detail.map((d: { loc: string[] }) => d.loc.join('.')))]).toEqual(locs.map((loc) => loc.join('.')));
    for (const d of res.body.detail) expect(Object.keys(d).sort()).toEqual(['loc', 'msg', 'type']);
    expect(await app.storedCounts()).toEqual(before);
  });

  it('a body that is not JSON → 422 json_invalid, as FastAPI answers', async () => {
    const res = await call('POST', '', { rawBody: '{"name":', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(422);
    expect(res.body.detail[0]).toMatchObject({ type: 'json_invalid', loc: ['body'] });
  });

  it('a body over 1 MB → 413 {detail}, storing nothing and echoing none of it', async () => {
    const before = await app.storedCounts();
    const res = await call('POST', '', { body: { name: name('TOO_LARGE'), value: MARKER.repeat(Math.ceil(1_100_000 / MARKER.length)) } });
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ detail: 'The request body is too large.' });
    expect(res.text).not.toContain(MARKER);
    expect(await app.storedCounts()).toEqual(before);
  });

  it('an unknown session key → 401 {detail}', async () => {
    const res = await doorClient(app.baseUrl, `sk-lw-${'k'.repeat(43)}`, 'x-session-api-key', base)('GET', '');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ detail: 'Invalid API key.' });
  });

  it("another project's secret is not found, and stays as it was", async () => {
    const other = await app.createProject('other');
    const theirs = doorClient(app.baseUrl, other.apiKey, 'x-session-api-key', base);
    expect((await theirs('PUT', `/${name('GITHUB_TOKEN')}`, { body: { name: 'STOLEN' } })).status).toBe(404);
    expect((await theirs('DELETE', `/${name('GITHUB_TOKEN')}`)).status).toBe(404);
    expect((await theirs('GET', '')).body).toEqual({ custom_secrets: [] });
    expect(await read(name('GITHUB_TOKEN'))).not.toBeNull();
  });
});

describe('V0 and V1 details', () => {
  it('V1 GET /search: a page in name order, filtered by name (any case), next_page_id to go on', async () => {
    for (const n of ['SEARCH_A', 'SEARCH_B', 'SEARCH_C', 'OTHER_D']) {
      expect((await session('POST', '/api/v1/secrets', { body: { name: n, value: `${MARKER}-s` } })).status).toBe(201);
    }
    const first = await session('GET', '/api/v1/secrets/search?name__contains=search&limit=2');
    expect(first.body).toEqual({
      items: [
        { name: 'SEARCH_A', description: '' },
        { name: 'SEARCH_B', description: '' },
      ],
      next_page_id: 'SEARCH_B',
    });
    const second = await session('GET', '/api/v1/secrets/search?name__contains=search&limit=2&page_id=SEARCH_B');
    expect(second.body).toEqual({ items: [{ name: 'SEARCH_C', description: '' }], next_page_id: null });
    const bad = await session('GET', '/api/v1/secrets/search?limit=0');
    expect(bad.status).toBe(422);
    expect(bad.body.detail[0].loc).toEqual(['query', 'limit']);
  });

  it('V1 accepts the common credentials too; V0 paths with X-Auth-Token or Bearer keep LangWatch semantics', async () => {
    const v1 = await request(app.baseUrl, 'GET', '/api/v1/secrets', { headers: { authorization: `Bearer ${apiKey}` } });
    expect(v1.status).toBe(200);
    expect(Object.keys(v1.body)).toEqual(['custom_secrets']);
    const credentials: Record<string, string>[] = [
      { 'x-auth-token': apiKey },
      { authorization: `Bearer ${apiKey}` },
      { 'x-auth-token': apiKey, 'x-session-api-key': apiKey },
    ];
    for (const headers of credentials) {
      const list = await request(app.baseUrl, 'GET', '/api/secrets', { headers });
      expect(Array.isArray(list.body)).toBe(true); // LangWatch's list is a bare array
      const created = await request(app.baseUrl, 'POST', '/api/secrets', { headers, body: { name: 'open hands', value: 'v' } });
      expect(created.status).toBe(422); // LangWatch's name rule
    }
  });

  it('If-Match on PUT: the rename happens only at that version; another is 412 {detail}', async () => {
    await session('POST', '/api/secrets', { body: { name: 'CAS_NAME', value: `${MARKER}-c` } });
    const stale = await session('PUT', '/api/secrets/CAS_NAME', { headers: { 'if-match': '"7"' }, body: { name: 'CAS_RENAMED' } });
    expect(stale.status).toBe(412);
    expect(typeof stale.body.detail).toBe('string');
    const fresh = await session('PUT', '/api/secrets/CAS_NAME', { headers: { 'if-match': '"1"' }, body: { name: 'CAS_RENAMED' } });
    expect(fresh.status).toBe(200);
  });

  it('renaming to its own name succeeds; null clears the description; absent keeps it (OpenHands would clear it)', async () => {
    await session('POST', '/api/secrets', { body: { name: 'SELF_NAME', value: `${MARKER}-x`, description: 'kept' } });
    expect((await session('PUT', '/api/secrets/SELF_NAME', { body: { name: 'SELF_NAME' } })).status).toBe(200);
    expect((await read('SELF_NAME'))?.description).toBe('kept');
    expect((await session('PUT', '/api/secrets/SELF_NAME', { body: { name: 'SELF_NAME', description: null } })).status).toBe(200);
    expect((await read('SELF_NAME'))?.description).toBeNull();
  });

  it('no submitted value reached a response or the log', () => {
    expect(app.logs.join('\n')).not.toContain(MARKER);
  });
});
