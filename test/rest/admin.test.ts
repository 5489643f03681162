import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type DoorClient, doorClient } from '../helpers/doors.ts';

let app: TestApp;
let admin: DoorClient;
beforeAll(async () => {
  app = await startTestApp();
  admin = doorClient(app.baseUrl, app.adminToken, 'bearer');
});
afterAll(() => app.close());

describe('POST /admin/projects', () => {
  it('201 {id, name, apiKey}: a project and a working key, stored only as a hash', async () => {
    const res = await admin('POST', '/admin/projects', { body: { name: 'Acme' } });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['apiKey', 'id', 'name']);
    expect(res.body.id).toMatch(/^[0-9a-f]{24}$/);
    expect(res.body.name).toBe('Acme');
    expect(res.body.apiKey).toMatch(/^sk-lw-[A-Za-z0-9]{43}$/);
    expect(res.headers.get('cache-control')).toBe('no-store');

    const created = await request(app.baseUrl, 'POST', '/api/secrets', { apiKey: res.body.apiKey, body: { name: 'ACME_KEY', value: 'v' } });
    expect(created.status).toBe(201);
    expect(created.body.projectId).toBe(res.body.id);
    const stored = await app.models.ApiKey.findOne({ projectId: res.body.id }).lean();
    expect(stored?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored?.prefix).toBe(res.body.apiKey.slice(0, 10));
    expect(JSON.stringify(stored)).not.toContain(res.body.apiKey.slice(10));
  });

  it('401 without the admin token, with a wrong one, and with a project key; nothing created', async () => {
    const before = await app.models.Project.countDocuments({});
    const project = await app.createProject('p');
    for (const token of [undefined, 'wrong-token', `${app.adminToken}x`, project.apiKey]) {
      const res = await doorClient(app.baseUrl, token, 'bearer')('POST', '/admin/projects', { body: { name: 'Nope' } });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('Unauthorized');
    }
    expect(await app.models.Project.countDocuments({})).toBe(before + 1);
  });

  it('413 {"error": "payload_too_large"} for a body over 1 MB; no project created, none of the body echoed', async () => {
    const marker = 'admin-body-MARKER';
    const before = await app.models.Project.countDocuments({});
    const res = await admin('POST', '/admin/projects', { body: { name: marker.repeat(Math.ceil(1_100_000 / marker.length)) } });
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ error: 'payload_too_large', message: 'The request body is too large.' });
    expect(res.text).not.toContain(marker);
    expect(await app.models.Project.countDocuments({})).toBe(before);
  });

  it('422 for a missing, empty, over-long or non-string name; 400 for broken JSON', async () => {
    for (const body of [{}, { name: '' }, { name: '   ' }, { name: 'x'.repeat(101) }, { name: 7 }]) {
      const res = await admin('POST', '/admin/projects', { body });
      expect(res.status).toBe(422);
      expect(res.body.error).toBe('validation_error');
    }
    const broken = await admin('POST', '/admin/projects', { rawBody: '{"name":', headers: { 'content-type': 'application/json' } });
    expect(broken.status).toBe(400);
  });
});
