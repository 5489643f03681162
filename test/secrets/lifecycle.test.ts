// Versions, compare-and-set, idempotent create, soft delete with restore, audit, quota.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type DoorClient, doorClient, type GraphqlClient, graphqlClient } from '../helpers/doors.ts';

const HOUR = 3600 * 1000;
let clock = Date.parse('2026-11-24T00:00:00Z');
let app: TestApp;
let apiKey: string;
let projectId: string;
let lw: DoorClient;
let bearer: DoorClient;
let session: DoorClient;
let gql: GraphqlClient;

beforeAll(async () => {
  app = await startTestApp({ now: () => new Date(clock), limits: { versionsKept: 3, projectSecretLimit: 1000 } });
  ({ apiKey, id: projectId } = await app.createProject('lifecycle'));
  lw = doorClient(app.baseUrl, apiKey);
  bearer = doorClient(app.baseUrl, apiKey, 'bearer');
  session = doorClient(app.baseUrl, apiKey, 'x-session-api-key');
  gql = graphqlClient(app.baseUrl, apiKey);
});
afterAll(() => app.close());
let seq = 0;
const uniqueName = (prefix = 'LC') => `${prefix}_${++seq}`;
const tick = (ms = 1000) => {
  clock += ms;
};

describe('versions', () => {
  it('number 1, 2, 3… with author and time; the last N are kept (here 3), older ones pruned', async () => {
    const created = await lw('POST', '/api/secrets', { body: { name: uniqueName('VERSIONS'), value: 'v1' } });
    const { id } = created.body;
    for (let i = 2; i <= 5; i++) {
      tick();
      expect((await lw('PUT', `/api/secrets/${id}`, { body: { value: `v${i}` } })).status).toBe(200);
    }
    const res = await lw('GET', `/api/secrets/${id}/versions`);
    expect(res.status).toBe(200);
    expect(res.body.map((v: { version: number }) => v.version)).toEqual([5, 4, 3]);
    for (const v of res.body) {
      expect(Object.keys(v).sort()).toEqual(['createdAt', 'createdBy', 'version']);
      expect(v.createdBy).toMatch(/^[0-9a-f]{24}$/);
    }
    expect(res.body[0].createdAt).toBe(new Date(clock).toISOString());
    expect(await app.models.SecretVersion.countDocuments({ secretId: id })).toBe(3);
    expect(res.text).not.toMatch(/"v\d"/);
    expect((await lw('GET', '/api/secrets/ffffffffffffffffffffffff/versions')).status).toBe(404);
  });

  it('GraphQL Secret.versions pages newest first, metadata only', async () => {
    const created = await lw('POST', '/api/secrets', { body: { name: uniqueName('GQL_VERSIONS'), value: 'a' } });
    await lw('PUT', `/api/secrets/${created.body.id}`, { body: { value: 'b' } });
    await lw('PUT', `/api/secrets/${created.body.id}`, { body: { value: 'c' } });
    const query =
      'query($id: ID!, $after: String) { secret(id: $id) { version versions(first: 2, after: $after) { edges { cursor node { version createdBy createdAt } } pageInfo { hasNextPage endCursor } } } }';
    const first = await gql(query, { id: created.body.id });
    expect(first.body.data.secret.version).toBe(3);
    expect(first.body.data.secret.versions.edges.map((e: { node: { version: number } }) => e.node.version)).toEqual([3, 2]);
    expect(first.body.data.secret.versions.pageInfo.hasNextPage).toBe(true);
    const second = await gql(query, { id: created.body.id, after: first.body.data.secret.versions.pageInfo.endCursor });
    expect(second.body.data.secret.versions.edges.map((e: { node: { version: number } }) => e.node.version)).toEqual([1]);
    expect(second.body.data.secret.versions.pageInfo.hasNextPage).toBe(false);
  });
});

describe('compare-and-set', () => {
  it('20 concurrent GraphQL updates with the same expectedVersion: exactly one wins', async () => {
    const created = await lw('POST', '/api/secrets', { body: { name: uniqueName('CAS'), value: 'v1' } });
    const mutation = `mutation($id: ID!, $v: String!) { updateSecret(id: $id, input: {value: $v, expectedVersion: 1}) {
      __typename ... on UpdateSecretSuccess { secret { version } } ... on Error { code message } } }`;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => gql(mutation, { id: created.body.id, v: `racer-${i}` })));
    const kinds = results.map((r) => r.body.data.updateSecret.__typename);
    expect(kinds.filter((k) => k === 'UpdateSecretSuccess')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'ConflictError')).toHaveLength(19);
    expect(results.find((r) => r.body.data.updateSecret.__typename === 'UpdateSecretSuccess')!.body.data.updateSecret.secret.version).toBe(2);
    expect(await app.models.SecretVersion.countDocuments({ secretId: created.body.id })).toBe(2);
    const stale = await gql(mutation, { id: created.body.id, v: 'late' });
    expect(stale.body.data.updateSecret).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
  });

  const doors = [
    {
      door: 'LangWatch PUT',
      create: async () => await lw('POST', '/api/secrets', { body: { name: uniqueName('ETAG'), value: 'v1' } }),
      update: (s: { id: string; name: string }, ifMatch?: string) =>
        lw('PUT', `/api/secrets/${s.id}`, { body: { value: 'v2' }, headers: ifMatch ? { 'if-match': ifMatch } : {} }),
      staleBody: { error: 'precondition_failed', message: expect.any(String) },
    },
    {
      door: 'Together PATCH',
      create: async () => bearer('POST', '/v1/deployments/secrets', { body: { name: uniqueName('etag'), value: 'v1' } }),
      update: (s: { id: string; name: string }, ifMatch?: string) =>
        bearer('PATCH', `/v1/deployments/secrets/${s.id}`, { body: { value: 'v2' }, headers: ifMatch ? { 'if-match': ifMatch } : {} }),
      staleBody: { error: { message: expect.any(String), type: 'precondition_failed', param: null, code: null } },
    },
    {
      door: 'v1 PUT',
      create: async () => bearer('POST', '/api/v1/user/secrets', { body: { name: uniqueName('ETAG'), value: 'v1' } }),
      update: (s: { id: string; name: string }, ifMatch?: string) =>
        bearer('PUT', `/api/v1/user/secrets/${s.id}`, { body: { value: 'v2' }, headers: ifMatch ? { 'if-match': ifMatch } : {} }),
      staleBody: { code: 412, detail: expect.any(String), type: 'precondition_failed_error' },
    },
    {
      door: 'OpenHands PUT',
      create: async () => bearer('POST', '/api/v1/user/secrets', { body: { name: uniqueName('ETAG_OH'), value: 'v1' } }),
      update: (s: { id: string; name: string }, ifMatch?: string) =>
        session('PUT', `/api/secrets/${s.name}`, { body: { name: s.name, description: 'changed' }, headers: ifMatch ? { 'if-match': ifMatch } : {} }),
      staleBody: { detail: expect.any(String) },
    },
  ];

  it.each(doors)(
    '$door: answers an ETag, honours a current If-Match, refuses a stale one with 412 storing nothing',
    async ({ create, update, staleBody, door }) => {
      const created = await create();
      expect(created.headers.get('etag')).toBe('"1"');
      const secret = created.body as { id: string; name: string };
      const ok = await update(secret, '"1"');
      expect(ok.status).toBe(200);
      // OpenHands' PUT changes the description alone: the value's version stays.
      expect(ok.headers.get('etag')).toBe(door === 'OpenHands PUT' ? '"1"' : '"2"');
      const before = await app.storedCounts();
      const before2 = await app.models.Secret.findById(secret.id).lean();
      for (const stale of ['"7"', 'W/"0"', 'garbage']) {
        const res = await update(secret, stale);
        expect(res.status).toBe(412);
        expect(res.body).toEqual(staleBody);
      }
      expect(await app.storedCounts()).toEqual(before);
      expect((await app.models.Secret.findById(secret.id).lean())?.updatedAt).toEqual(before2?.updatedAt);
      expect((await update(secret, '*')).status).toBe(200);
      expect((await update(secret)).status).toBe(200);
    },
  );

  it('GET answers the ETag of the current version on every door', async () => {
    const created = await lw('POST', '/api/secrets', { body: { name: uniqueName('GET_ETAG'), value: 'v1' } });
    await lw('PUT', `/api/secrets/${created.body.id}`, { body: { value: 'v2' } });
    expect((await lw('GET', `/api/secrets/${created.body.id}`)).headers.get('etag')).toBe('"2"');
    expect((await bearer('GET', `/v1/deployments/secrets/${created.body.id}`)).headers.get('etag')).toBe('"2"');
    expect((await bearer('GET', `/api/v1/user/secrets/${created.body.id}`)).headers.get('etag')).toBe('"2"');
  });
});

describe('idempotent create', () => {
  it('REST: the same key and body within 24 h replays the first result (same id, same status) without a second write', async () => {
    const name = uniqueName('IDEM');
    const send = () => lw('POST', '/api/secrets', { body: { name, value: 'idem-value' }, headers: { 'idempotency-key': 'key-1' } });
    const first = await send();
    expect(first.status).toBe(201);
    const counts = await app.storedCounts();
    tick(23 * HOUR);
    const again = await send();
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(await app.storedCounts()).toEqual(counts);
  });

  it('REST: the same key with another body is refused with a clear 422, storing nothing', async () => {
    await lw('POST', '/api/secrets', { body: { name: uniqueName('IDEM'), value: 'a' }, headers: { 'idempotency-key': 'key-2' } });
    const counts = await app.storedCounts();
    const other = await lw('POST', '/api/secrets', { body: { name: uniqueName('IDEM'), value: 'a' }, headers: { 'idempotency-key': 'key-2' } });
    expect(other.status).toBe(422);
    expect(other.body).toEqual({ error: 'idempotency_key_reused', message: expect.stringContaining('different request') });
    const otherValue = await bearer('POST', '/v1/deployments/secrets', { body: { name: 'x', value: 'b' }, headers: { 'idempotency-key': 'key-2' } });
    expect(otherValue.status).toBe(400);
    expect(await app.storedCounts()).toEqual(counts);
  });

  it('expires after 24 h: the key then serves a new request', async () => {
    await lw('POST', '/api/secrets', { body: { name: uniqueName('IDEM'), value: 'a' }, headers: { 'idempotency-key': 'key-3' } });
    tick(25 * HOUR);
    const later = await lw('POST', '/api/secrets', { body: { name: uniqueName('IDEM'), value: 'other' }, headers: { 'idempotency-key': 'key-3' } });
    expect(later.status).toBe(201);
  });

  it('10 concurrent requests with one key create one secret', async () => {
    const name = uniqueName('IDEM_RACE');
    const results = await Promise.all(
      Array.from({ length: 10 }, () => bearer('POST', '/api/v1/user/secrets', { body: { name, value: 'race' }, headers: { 'idempotency-key': 'key-race' } })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
    const ids = new Set(results.filter((r) => r.status === 201).map((r) => r.body.id));
    expect(ids.size).toBe(1);
    expect(await app.models.Secret.countDocuments({ name })).toBe(1);
  });

  it('GraphQL: idempotencyKey replays, and a different input with it is a ConflictError', async () => {
    const mutation = `mutation($name: String!, $key: String) { createSecret(input: {name: $name, value: "v"}, idempotencyKey: $key) {
      __typename ... on CreateSecretSuccess { secret { id } } ... on Error { code message } } }`;
    const name = uniqueName('GQL_IDEM');
    const a = await gql(mutation, { name, key: 'gql-key' });
    const b = await gql(mutation, { name, key: 'gql-key' });
    expect(b.body.data.createSecret).toEqual(a.body.data.createSecret);
    const c = await gql(mutation, { name: uniqueName('GQL_IDEM'), key: 'gql-key' });
    expect(c.body.data.createSecret).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
    const bad = await gql(mutation, { name: uniqueName('GQL_IDEM'), key: 'has space' });
    expect(bad.body.data.createSecret.__typename).toBe('ValidationError');
  });

  it('an invalid Idempotency-Key header is a 422 validation error', async () => {
    const res = await lw('POST', '/api/secrets', { body: { name: uniqueName('IDEM'), value: 'v' }, headers: { 'idempotency-key': 'x'.repeat(256) } });
    expect(res.status).toBe(422);
    expect(res.body.error).toBe('validation_error');
  });
});

describe('soft delete and restore', () => {
  it('delete → not found → restore → found, with its versions', async () => {
    const created = await lw('POST', '/api/secrets', { body: { name: uniqueName('RESTORE'), value: 'v1' } });
    const { id } = created.body;
    await lw('PUT', `/api/secrets/${id}`, { body: { value: 'v2' } });
    expect((await lw('DELETE', `/api/secrets/${id}`)).body).toEqual({ id, deleted: true });
    expect((await lw('GET', `/api/secrets/${id}`)).status).toBe(404);
    expect((await bearer('GET', `/v1/deployments/secrets/${created.body.name}`)).status).toBe(404);
    expect((await lw('PUT', `/api/secrets/${id}`, { body: { value: 'v3' } })).status).toBe(404);
    const deleted = await gql('{ deletedSecrets { edges { node { id deletedAt } } } }');
    expect(deleted.body.data.deletedSecrets.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(id);

    const restored = await lw('POST', `/api/secrets/${id}/restore`);
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ id, name: created.body.name });
    expect((await lw('GET', `/api/secrets/${id}`)).status).toBe(200);
    expect((await lw('GET', `/api/secrets/${id}/versions`)).body.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    // Restoring a live secret changes nothing.
    expect((await lw('POST', `/api/secrets/${id}/restore`)).status).toBe(200);
  });

  it('the name is free during the window; restoring then conflicts', async () => {
    const name = uniqueName('REUSED');
    const old = await lw('POST', '/api/secrets', { body: { name, value: 'old' } });
    await lw('DELETE', `/api/secrets/${old.body.id}`);
    const reused = await lw('POST', '/api/secrets', { body: { name, value: 'new' } });
    expect(reused.status).toBe(201);
    const restore = await lw('POST', `/api/secrets/${old.body.id}/restore`);
    expect(restore.status).toBe(409);
    expect(restore.body.error).toContain(name);
    const gqlRestore = await gql('mutation($id: ID!) { restoreSecret(id: $id) { __typename ... on Error { code } } }', { id: old.body.id });
    expect(gqlRestore.body.data.restoreSecret).toEqual({ __typename: 'ConflictError', code: 'CONFLICT' });
    // Once the new one is gone, the old one comes back.
    await lw('DELETE', `/api/secrets/${reused.body.id}`);
    expect((await gql('mutation($id: ID!) { restoreSecret(id: $id) { __typename } }', { id: old.body.id })).body.data.restoreSecret.__typename).toBe(
      'RestoreSecretSuccess',
    );
  });

  it('after the window, a sweep purges the value versions for good', async () => {
    const created = await lw('POST', '/api/secrets', { body: { name: uniqueName('PURGED'), value: 'gone' } });
    const { id } = created.body;
    await gql('mutation($id: ID!) { deleteSecret(id: $id) { __typename } }', { id });
    tick(6 * 24 * HOUR);
    await app.secrets.sweep();
    expect(await app.models.SecretVersion.countDocuments({ secretId: id })).toBe(1);
    tick(2 * 24 * HOUR);
    expect(await app.secrets.sweep()).toBeGreaterThanOrEqual(1);
    expect(await app.models.SecretVersion.countDocuments({ secretId: id })).toBe(0);
    expect(await app.models.Secret.countDocuments({ _id: id })).toBe(0);
    expect((await lw('POST', `/api/secrets/${id}/restore`)).status).toBe(404);
  });

  it('with a window of 0, delete purges at once', async () => {
    const instant = await startTestApp({ limits: { recoveryWindowMs: 0 } });
    try {
      const key = (await instant.createProject('instant')).apiKey;
      const created = await request(instant.baseUrl, 'POST', '/api/secrets', { apiKey: key, body: { name: 'INSTANT', value: 'v' } });
      expect((await request(instant.baseUrl, 'DELETE', `/api/secrets/${created.body.id}`, { apiKey: key })).status).toBe(200);
      expect(await instant.storedCounts()).toEqual({ secrets: 0, slots: 0, versions: 0, names: 0, fates: 0, idempotencyKeys: 0 });
      expect((await request(instant.baseUrl, 'POST', `/api/secrets/${created.body.id}/restore`, { apiKey: key })).status).toBe(404);
    } finally {
      await instant.close();
    }
  });
});

describe('audit log', () => {
  const MARKER = 'AUDIT-MARKER-51c0';

  it('records every mutation and refused authentication, with no value and no key', async () => {
    const name = uniqueName('AUDITED');
    const created = await lw('POST', '/api/secrets', { body: { name, value: `${MARKER}-1` } });
    const { id } = created.body;
    await bearer('PATCH', `/v1/deployments/secrets/${id}`, { body: { value: `${MARKER}-2` } });
    await session('PUT', `/api/secrets/${name}`, { body: { name, description: 'd' } });
    await lw('PUT', `/api/secrets/${id}`, { body: { value: `${MARKER}-3` }, headers: { 'if-match': '"1"' } });
    await lw('DELETE', `/api/secrets/${id}`);
    await lw('POST', `/api/secrets/${id}/restore`);
    await lw('POST', '/api/secrets', { body: { name, value: `${MARKER}-dup` } });
    await request(app.baseUrl, 'GET', '/api/secrets', { apiKey: `sk-lw-${'N'.repeat(43)}` });

    const res = await gql(
      `query($id: ID!) { auditEvents(first: 50, secretId: $id) { edges { node {
      door operation secretId secretName version outcome keyId requestId at } } } }`,
      { id },
    );
    const events = res.body.data.auditEvents.edges.map((e: { node: Record<string, unknown> }) => e.node);
    expect(events.map((e: { door: string; operation: string; outcome: string }) => `${e.door} ${e.operation} ${e.outcome}`).reverse()).toEqual([
      'langwatch create success',
      'together update success',
      'openhands update_metadata success',
      'langwatch update version_mismatch',
      'langwatch delete success',
      'langwatch restore success',
    ]);
    for (const e of events) {
      expect(e.secretId).toBe(id);
      expect(e.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(e.keyId).toMatch(/^[0-9a-f]{24}$/);
    }
    expect(events[0]).toMatchObject({ secretName: name, version: 2 });

    const all = await gql('{ auditEvents(first: 100) { edges { node { door operation outcome secretName } } } }');
    const outcomes = all.body.data.auditEvents.edges.map((e: { node: { outcome: string; secretName: string | null } }) => e.node);
    expect(outcomes).toContainEqual({ door: 'langwatch', operation: 'create', outcome: 'conflict', secretName: name });

    const refused = await app.models.AuditEvent.find({ outcome: 'unauthenticated', door: 'langwatch' }).lean();
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused[0]?.projectId).toBeNull();

    const raw = JSON.stringify(await app.connection.db!.collection('audit_events').find({}).toArray());
    expect(raw).not.toContain(MARKER);
    expect(raw).not.toContain(apiKey);
    expect(raw).not.toContain(apiKey.slice(6, 20));
  });

  it("pages with cursors and shows only the caller's project", async () => {
    const other = await app.createProject('other auditor');
    await request(app.baseUrl, 'POST', '/api/secrets', { apiKey: other.apiKey, body: { name: 'OTHER_AUDIT', value: 'v' } });
    const page = (after?: string) =>
      gql('query($after: String) { auditEvents(first: 3, after: $after) { edges { node { id secretName } } pageInfo { hasNextPage endCursor } } }', { after });
    const first = await page();
    const second = await page(first.body.data.auditEvents.pageInfo.endCursor);
    const ids = [...first.body.data.auditEvents.edges, ...second.body.data.auditEvents.edges].map((e: { node: { id: string } }) => e.node.id);
    expect(new Set(ids).size).toBe(6);
    expect(ids).toEqual([...ids].sort().reverse());
    const everything = await gql('{ auditEvents(first: 100) { edges { node { secretName } } } }');
    expect(everything.body.data.auditEvents.edges.map((e: { node: { secretName: string } }) => e.node.secretName)).not.toContain('OTHER_AUDIT');
    expect((await gql('{ auditEvents(after: "nope") { edges { cursor } } }')).body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('quota', () => {
  it('at the limit, each door answers its validation error; freeing one makes room', async () => {
    const small = await startTestApp({ limits: { projectSecretLimit: 3 } });
    try {
      const key = (await small.createProject('small')).apiKey;
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await request(small.baseUrl, 'POST', '/api/secrets', { apiKey: key, body: { name: `Q${i}`, value: 'v' } });
        expect(res.status).toBe(201);
        ids.push(res.body.id);
      }
      const counts = await small.storedCounts();
      const lwRes = await request(small.baseUrl, 'POST', '/api/secrets', { apiKey: key, body: { name: 'Q3', value: 'v' } });
      expect(lwRes.status).toBe(422);
      expect(lwRes.body).toMatchObject({ error: 'validation_error', message: expect.stringContaining('limit of 3') });
      const tg = await request(small.baseUrl, 'POST', '/v1/deployments/secrets', {
        headers: { authorization: `Bearer ${key}` },
        body: { name: 'q3', value: 'v' },
      });
      expect(tg.status).toBe(400);
      expect(tg.body.error.type).toBe('invalid_request_error');
      const v1 = await request(small.baseUrl, 'POST', '/api/v1/user/secrets', {
        headers: { authorization: `Bearer ${key}` },
        body: { name: 'Q3', value: 'v' },
      });
      expect(v1.status).toBe(422);
      expect(v1.body.type).toBe('validation_error');
      const g = await graphql(
        small.baseUrl,
        'mutation { createSecret(input: {name: "Q3", value: "v"}) { __typename ... on ValidationError { message } } }',
        {},
        { apiKey: key },
      );
      expect(g.body.data.createSecret).toEqual({ __typename: 'ValidationError', message: expect.stringContaining('limit of 3') });
      expect(await small.storedCounts()).toEqual(counts);

      await request(small.baseUrl, 'DELETE', `/api/secrets/${ids[0]}`, { apiKey: key });
      expect((await request(small.baseUrl, 'POST', '/api/secrets', { apiKey: key, body: { name: 'Q3', value: 'v' } })).status).toBe(201);
      // The deleted one cannot come back while the project is full.
      expect((await request(small.baseUrl, 'POST', `/api/secrets/${ids[0]}/restore`, { apiKey: key })).status).toBe(422);
    } finally {
      await small.close();
    }
  });

  it('20 racing creates at limit − 1 let exactly one through', async () => {
    const limit = 6;
    const racing = await startTestApp({ limits: { projectSecretLimit: limit } });
    try {
      const key = (await racing.createProject('racing')).apiKey;
      for (let i = 0; i < limit - 1; i++) {
        await request(racing.baseUrl, 'POST', '/api/secrets', { apiKey: key, body: { name: `PRE${i}`, value: 'v' } });
      }
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => request(racing.baseUrl, 'POST', '/api/secrets', { apiKey: key, body: { name: `RACER${i}`, value: 'v' } })),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === 422)).toHaveLength(19);
      expect(await racing.models.Secret.countDocuments({ deletedAt: null })).toBe(limit);
      // Each live secret holds a quota slot of its own, below the limit.
      const slots = (await racing.models.Secret.find({ deletedAt: null }).lean()).map((s) => s.slot);
      expect(new Set(slots).size).toBe(limit);
      for (const slot of slots) expect(slot).toBeLessThan(limit);
      expect(await racing.models.SecretVersion.countDocuments({})).toBe(limit);
    } finally {
      await racing.close();
    }
  });
});
