// The OpenHands door: PUT /api/secrets/{name} with X-Session-API-Key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
let apiKey: string;
beforeAll(async () => {
  app = await startTestApp();
  ({ apiKey } = await app.createProject('openhands door'));
});
afterAll(() => app.close());

const put = (name: string, body: unknown, headers: Record<string, string> = { 'x-session-api-key': apiKey }) =>
  request(app.baseUrl, 'PUT', `/api/secrets/${encodeURIComponent(name)}`, { body, headers });
const create = async (name: string, description?: string) => {
  const res = await request(app.baseUrl, 'POST', '/v1/deployments/secrets', { headers: { authorization: `Bearer ${apiKey}` }, body: { name, value: 'openhands-value', description } });
  expect(res.status).toBe(200);
  return res.body as { id: string; name: string };
};
const read = (id: string) => app.models.Secret.findById(id).lean();

describe('PUT /api/secrets/{secret_id}', () => {
  it('renames and re-describes, answering 200 {message}; the value is untouched', async () => {
    const secret = await create('GITHUB_TOKEN', 'old');
    const res = await put('GITHUB_TOKEN', { name: 'GH_TOKEN', description: 'new description' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ message: 'Secret updated successfully' });
    expect(await read(secret.id)).toMatchObject({ name: 'GH_TOKEN', description: 'new description', version: 1 });
    expect(await app.models.SecretVersion.countDocuments({ secretId: secret.id })).toBe(1);
  });

  it('accepts the OpenHands name rule: spaces and punctuation, up to 255 characters', async () => {
    const secret = await create('plain-name');
    const name = `My key: ${'é'.repeat(247)}`;
    expect(name).toHaveLength(255);
    expect((await put('plain-name', { name })).status).toBe(200);
    expect((await read(secret.id))?.name).toBe(name);
  });

  it('renaming to its own name succeeds; null clears the description; absent keeps it', async () => {
    const secret = await create('SELF_NAME', 'kept');
    expect((await put('SELF_NAME', { name: 'SELF_NAME' })).status).toBe(200);
    expect((await read(secret.id))?.description).toBe('kept');
    expect((await put('SELF_NAME', { name: 'SELF_NAME', description: null })).status).toBe(200);
    expect((await read(secret.id))?.description).toBeNull();
  });

  it('404 {detail} for an unknown name (not OpenHands\' 200), nothing stored', async () => {
    const before = await app.storedCounts();
    const res = await put('NO_SUCH_SECRET', { name: 'ANYTHING' });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ detail: 'Secret not found' });
    expect(await app.storedCounts()).toEqual(before);
  });

  it('400 {detail} when the new name belongs to another secret; nothing changes', async () => {
    const a = await create('TAKEN_A');
    await create('TAKEN_B');
    const before = await app.storedCounts();
    const res = await put('TAKEN_A', { name: 'TAKEN_B' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ detail: 'A secret with the name "TAKEN_B" already exists' });
    expect((await read(a.id))?.name).toBe('TAKEN_A');
    expect(await app.storedCounts()).toEqual(before);
  });

  it.each([
    ['a missing name', {}, [['body', 'name']]],
    ['an empty name', { name: '' }, [['body', 'name']]],
    ['a 256-character name', { name: 'n'.repeat(256) }, [['body', 'name']]],
    ['a name with a control character', { name: 'a\nb' }, [['body', 'name']]],
    ['a 501-character description', { name: 'X', description: 'd'.repeat(501) }, [['body', 'description']]],
    ['wrong types', { name: 7, description: 7 }, [['body', 'name'], ['body', 'description']]],
  ])('422 in FastAPI\'s {detail: [{loc, msg, type}]} shape for %s, changing nothing', async (label, body, locs) => {
    const name = `VALIDATE_${label.replace(/\W+/g, '_')}`;
    const secret = await create(name);
    const res = await put(name, body);
    expect(res.status).toBe(422);
    const seen = res.body.detail.map((d: { loc: string[] }) => d.loc.join('.'));
    expect([...new Set(seen)]).toEqual(locs.map((loc) => loc.join('.')));
    for (const d of res.body.detail) expect(Object.keys(d).sort()).toEqual(['loc', 'msg', 'type']);
    expect((await read(secret.id))?.name).toBe(name);
  });

  it('422 json_invalid for a body that is not JSON, as FastAPI answers', async () => {
    await create('BROKEN_BODY');
    const res = await request(app.baseUrl, 'PUT', '/api/secrets/BROKEN_BODY', { rawBody: '{"name":', headers: { 'x-session-api-key': apiKey, 'content-type': 'application/json' } });
    expect(res.status).toBe(422);
    expect(res.body.detail[0]).toMatchObject({ type: 'json_invalid', loc: ['body'] });
  });

  it('401 {detail} for an unknown session key', async () => {
    const res = await put('ANY', { name: 'X' }, { 'x-session-api-key': `sk-lw-${'k'.repeat(43)}` });
    expect(res.status).toBe(401);
    expect(typeof res.body.detail).toBe('string');
  });

  it('another project\'s secret is not found, and stays unchanged', async () => {
    const secret = await create('MINE_OH');
    const other = await app.createProject('other');
    const res = await put('MINE_OH', { name: 'STOLEN' }, { 'x-session-api-key': other.apiKey });
    expect(res.status).toBe(404);
    expect((await read(secret.id))?.name).toBe('MINE_OH');
  });

  it('with X-Auth-Token or a Bearer key, the same path keeps LangWatch semantics', async () => {
    const secret = await create('LW_SEMANTICS');
    const credentials: Record<string, string>[] = [{ 'x-auth-token': apiKey }, { authorization: `Bearer ${apiKey}` }, { 'x-auth-token': apiKey, 'x-session-api-key': apiKey }];
    for (const headers of credentials) {
      const byName = await request(app.baseUrl, 'PUT', '/api/secrets/LW_SEMANTICS', { headers, body: { name: 'X' } });
      expect(byName.status).toBe(422); // LangWatch wants {value}
      const res = await request(app.baseUrl, 'PUT', `/api/secrets/${secret.id}`, { headers, body: { value: 'new value' } });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['createdAt', 'id', 'name', 'projectId', 'updatedAt']);
    }
    expect(await app.models.SecretVersion.countDocuments({ secretId: secret.id })).toBe(4);
  });
});
