// The audit log's outcomes beyond plain success: each record says how the act
// ended and carries the request id its caller was answered with
// (x-request-id), so one can be traced to the other. Records are read through
// GraphQL, the README's way, right after the answer: they are written before it.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, type JsonResponse, request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const MARKER = `audit-marker-${randomBytes(6).toString('hex')}`;
const LIMIT = 2;
let app: TestApp;
const answers: JsonResponse[] = [];
const answered = <T extends JsonResponse>(res: T): T => (answers.push(res), res);

beforeAll(async () => {
  app = await startTestApp({ limits: { projectSecretLimit: LIMIT } });
});
afterAll(() => app.close());

/** The project's audit log, oldest first. */
async function auditOf(apiKey: string) {
  const res = await graphql(
    app.baseUrl,
    '{ auditEvents(first: 100) { edges { node { door operation secretId secretName version outcome keyId requestId } } } }',
    {},
    { apiKey },
  );
  expect(res.body.errors).toBeUndefined();
  return (res.body.data as { auditEvents: { edges: { node: Record<string, unknown> }[] } }).auditEvents.edges.map((e) => e.node).reverse();
}

const requestIdOf = (res: JsonResponse) => {
  const id = res.headers.get('x-request-id');
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  return id;
};

describe('audit outcomes', () => {
  it("creating a project through the admin route is recorded as create_project, under the answer's request id", async () => {
    const res = answered(
      await request(app.baseUrl, 'POST', '/admin/projects', { headers: { authorization: `Bearer ${app.adminToken}` }, body: { name: 'audited project' } }),
    );
    expect(res.status).toBe(201);
    expect(await auditOf(res.body.apiKey)).toEqual([
      {
        door: 'admin',
        operation: 'create_project',
        outcome: 'success',
        requestId: requestIdOf(res),
        keyId: null,
        secretId: null,
        secretName: null,
        version: null,
      },
    ]);
  });

  it('an idempotent replay is recorded as replayed, apart from the create it replays', async () => {
    const { apiKey } = await app.createProject('replays');
    const create = () =>
      request(app.baseUrl, 'POST', '/api/secrets', { apiKey, headers: { 'idempotency-key': 'deploy-42' }, body: { name: 'REPLAYED', value: MARKER } });
    const first = answered(await create());
    const again = answered(await create());
    expect([first.status, again.status]).toEqual([201, 201]);
    expect(again.body.id).toBe(first.body.id);
    const events = await auditOf(apiKey);
    expect(events.slice(1)).toEqual([
      {
        door: 'langwatch',
        operation: 'create',
        outcome: 'success',
        requestId: requestIdOf(first),
        secretId: first.body.id,
        secretName: 'REPLAYED',
        version: 1,
        keyId: expect.stringMatching(/^[0-9a-f]{24}$/),
      },
      {
        door: 'langwatch',
        operation: 'create',
        outcome: 'replayed',
        requestId: requestIdOf(again),
        secretId: first.body.id,
        secretName: 'REPLAYED',
        version: 1,
        keyId: events[1]!.keyId,
      },
    ]);
    // A replay wrote nothing but its record.
    expect(await app.models.SecretVersion.countDocuments({ secretId: first.body.id })).toBe(1);
  });

  it('a write to a secret that does not exist is recorded as not_found, by id or by name', async () => {
    const { apiKey } = await app.createProject('not found');
    const missing = 'ffffffffffffffffffffffff';
    const byId = answered(await request(app.baseUrl, 'PUT', `/api/secrets/${missing}`, { apiKey, body: { value: MARKER } }));
    const byName = answered(await request(app.baseUrl, 'DELETE', '/api/secrets/NEVER_MADE', { headers: { 'x-session-api-key': apiKey } }));
    expect([byId.status, byName.status]).toEqual([404, 404]);
    const keyId = expect.stringMatching(/^[0-9a-f]{24}$/);
    expect((await auditOf(apiKey)).slice(1)).toEqual([
      { door: 'langwatch', operation: 'update', outcome: 'not_found', requestId: requestIdOf(byId), secretId: missing, secretName: null, version: null, keyId },
      {
        door: 'openhands',
        operation: 'delete',
        outcome: 'not_found',
        requestId: requestIdOf(byName),
        secretId: null,
        secretName: 'NEVER_MADE',
        version: null,
        keyId,
      },
    ]);
  });

  it("a create past the project's quota is recorded as quota_exceeded and stores nothing", async () => {
    const { apiKey } = await app.createProject('quota');
    for (let i = 0; i < LIMIT; i++) {
      expect(answered(await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: `HELD_${i}`, value: MARKER } })).status).toBe(201);
    }
    const over = answered(await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'ONE_TOO_MANY', value: MARKER } }));
    expect(over.status).toBe(422);
    expect(over.body).toMatchObject({ error: 'validation_error' });
    const events = await auditOf(apiKey);
    expect(events.at(-1)).toEqual({
      door: 'langwatch',
      operation: 'create',
      outcome: 'quota_exceeded',
      requestId: requestIdOf(over),
      secretId: null,
      secretName: 'ONE_TOO_MANY',
      version: null,
      keyId: events[1]!.keyId,
    });
    expect(await app.models.Secret.countDocuments({ name: 'ONE_TOO_MANY' })).toBe(0);
  });

  it('filters by key, operation, outcome and time, each narrowing the same newest-first pages', async () => {
    const { apiKey } = await app.createProject('filtered audit');
    const body = { name: 'FILTERED', value: MARKER };
    answered(await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body }));
    answered(await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body }));
    const viewer = await graphql(app.baseUrl, '{ viewer { keyId } }', {}, { apiKey });
    const keyId = viewer.body.data.viewer.keyId as string;
    const filtered = async (args: string) => {
      const res = await graphql(app.baseUrl, `{ auditEvents(first: 100${args}) { edges { node { operation outcome keyId } } } }`, {}, { apiKey });
      expect(res.body.errors).toBeUndefined();
      return res.body.data.auditEvents.edges.map((e: any) => `${e.node.operation}:${e.node.outcome}`);
    };
    expect(await filtered('')).toEqual(['create:conflict', 'create:success', 'create_project:success']);
    expect(await filtered(', operation: "create"')).toEqual(['create:conflict', 'create:success']);
    expect(await filtered(', outcome: "conflict"')).toEqual(['create:conflict']);
    expect(await filtered(`, keyId: "${keyId}"`)).toEqual(['create:conflict', 'create:success']);
    expect(await filtered(', keyId: "no-such-key"')).toEqual([]);
    expect(await filtered(`, since: "${new Date(Date.now() + 60_000).toISOString()}"`)).toEqual([]);
    expect(await filtered(`, until: "${new Date(Date.now() + 60_000).toISOString()}", operation: "create", outcome: "success"`)).toEqual(['create:success']);
    const empty = await graphql(app.baseUrl, '{ auditEvents(operation: "") { edges { cursor } } }', {}, { apiKey });
    expect(empty.body.errors?.[0]?.message).toContain('A filter must not be empty');
  });

  it('no answer, log line or audit record above holds a value', async () => {
    expect(answers.length).toBeGreaterThan(0);
    const records = JSON.stringify(await app.connection.db!.collection('audit_events').find({}).toArray());
    for (const text of [answers.map((a) => a.text).join('\n'), app.logs.join('\n'), records]) expect(text).not.toContain(MARKER);
  });
});
