// Refused authentications cost an attacker something: they are limited per
// client address (401s, then 429s that cost no lookup and no write), audited
// one record per address and minute, and cannot push a real key's rate-limit
// bucket out of the limiter's table. Audit events are kept for a retention.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const LIMIT = 20;
const randomKey = () => `sk-lw-${randomBytes(32).toString('hex').slice(0, 43)}`;

describe('refused authentications, per client address', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ authFailureLimitPerMinute: LIMIT });
  });
  afterAll(() => app.close());

  it('a mistyped key sees its 401s up to the limit; past it every door answers 429 with Retry-After, at no database cost', async () => {
    for (let i = 0; i < LIMIT; i++) {
      expect((await request(app.baseUrl, 'GET', '/api/secrets', { apiKey: randomKey() })).status).toBe(401);
    }
    const before = await app.dbCommands();
    const answers = [
      await request(app.baseUrl, 'GET', '/api/secrets', { apiKey: randomKey() }),
      await request(app.baseUrl, 'GET', '/v1/deployments/secrets', { headers: { authorization: `Bearer ${randomKey()}` } }),
      await request(app.baseUrl, 'GET', '/api/v1/user/secrets', { headers: { 'x-api-key': randomKey() } }),
      await request(app.baseUrl, 'GET', '/api/v1/secrets', { headers: { 'x-session-api-key': randomKey() } }),
      await graphql(app.baseUrl, '{ secrets { pageInfo { hasNextPage } } }', {}, { apiKey: randomKey() }),
      await graphql(app.baseUrl, '{ secrets { pageInfo { hasNextPage } } }'),
      await request(app.baseUrl, 'POST', '/admin/projects', { headers: { authorization: `Bearer ${'x'.repeat(32)}` }, body: { name: 'p' } }),
    ];
    for (const res of answers) {
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(answers[0]!.body).toMatchObject({ error: 'rate_limited' });
    expect(answers[1]!.body.error).toMatchObject({ type: 'rate_limit_error' });
    expect(answers[2]!.body).toMatchObject({ code: 429, type: 'rate_limit_error' });
    expect(answers[4]!.body.errors[0].extensions.code).toBe('RATE_LIMITED');
    expect(answers[5]!.body.errors[0].extensions.code).toBe('RATE_LIMITED');
    // No key lookup, no audit write: the flood costs the database nothing.
    expect(await app.dbCommands()).toBe(before);
  });

  it('is recorded once per address and minute, with the count of refusals', async () => {
    const records = await app.models.AuditEvent.find({ outcome: 'unauthenticated' }).lean();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      clientAddress: '127.0.0.1',
      count: LIMIT,
      door: 'langwatch',
      operation: 'GET /api/secrets',
      projectId: null,
      keyId: null,
    });
    expect((records[0]!.at as Date).getTime() % 60_000).toBe(0);
  });

  it('a valid key this node knows still works from an address over its limit', async () => {
    const fresh = await startTestApp({ authFailureLimitPerMinute: LIMIT });
    try {
      const { apiKey } = await fresh.createProject('known');
      expect((await request(fresh.baseUrl, 'GET', '/api/secrets', { apiKey })).status).toBe(200);
      for (let i = 0; i <= LIMIT; i++) await request(fresh.baseUrl, 'GET', '/api/secrets', { apiKey: randomKey() });
      expect((await request(fresh.baseUrl, 'GET', '/api/secrets', { apiKey: randomKey() })).status).toBe(429);
      expect((await request(fresh.baseUrl, 'GET', '/api/secrets', { apiKey })).status).toBe(200);
    } finally {
      await fresh.close();
    }
  });
});

/** A GraphQL POST from another loopback address (the source address the server sees as the client's). */
function graphqlFrom(agent: http.Agent, baseUrl: string, apiKey: string): Promise<number> {
  const body = JSON.stringify({ query: '{ secrets { pageInfo { hasNextPage } } }' });
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${baseUrl}/graphql`,
      {
        method: 'POST',
        agent,
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('the per-key limiter', () => {
  it("a flood of random keys from elsewhere cannot push a key holder's bucket out of the table", async () => {
    // The limiter's table holds 5,000 buckets. GraphQL used to check its key
    // only after the limiter had given the key a bucket of its own.
    const app = await startTestApp({ rateLimitPerMinute: 5, authFailureLimitPerMinute: 50 });
    const flooder = new http.Agent({ keepAlive: true, maxSockets: 16, localAddress: '127.0.0.2' });
    try {
      const { apiKey } = await app.createProject('holder');
      for (let i = 0; i < 5; i++) expect((await request(app.baseUrl, 'GET', '/api/secrets', { apiKey })).status).toBe(200);
      expect((await request(app.baseUrl, 'GET', '/api/secrets', { apiKey })).status).toBe(429);
      const keys = Array.from({ length: 5_100 }, randomKey);
      for (let i = 0; i < keys.length; i += 100) {
        const statuses = await Promise.all(keys.slice(i, i + 100).map((k) => graphqlFrom(flooder, app.baseUrl, k)));
        for (const status of statuses) expect([401, 429]).toContain(status);
      }
      // Still the per-key limiter's 429 (its headers say so), not a fresh bucket's 200.
      const after = await request(app.baseUrl, 'GET', '/api/secrets', { apiKey });
      expect(after.status).toBe(429);
      expect(after.headers.get('x-ratelimit-limit')).toBe('5');
    } finally {
      flooder.destroy();
      await app.close();
    }
  }, 120_000);
});

describe('each door audits its refusals', () => {
  const START = Date.parse('2031-03-01T10:00:00Z');
  const STORED = `stored-marker-${randomBytes(6).toString('hex')}`;
  const SENT = `sent-marker-${randomBytes(6).toString('hex')}`;
  let clock = START;
  let minute = 0;
  let app: TestApp;
  let apiKey: string;
  const answers: string[] = [];
  const presented: string[] = [];
  const shown = (key: string) => (presented.push(key), key);
  beforeAll(async () => {
    app = await startTestApp({ now: () => new Date(clock) });
    ({ apiKey } = await app.createProject('refusals per door'));
    expect((await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'STORED_MARKER', value: STORED } })).status).toBe(201);
  });
  afterAll(() => app.close());

  /** A refused create carrying a value: the doors' usual ways of presenting a key, and none at all. */
  const doors: { name: string; door: string; operation: string; send: (key: string | undefined) => ReturnType<typeof request> }[] = [
    {
      name: 'GraphQL, an unknown key',
      door: 'graphql',
      operation: 'POST /graphql',
      send: (key) =>
        graphql(app.baseUrl, 'mutation($v: String!) { createSecret(input: {name: "REFUSED", value: $v}) { __typename } }', { v: SENT }, { apiKey: key }),
    },
    {
      name: 'GraphQL, no key',
      door: 'graphql',
      operation: 'POST /graphql',
      send: () => graphql(app.baseUrl, 'mutation($v: String!) { createSecret(input: {name: "REFUSED", value: $v}) { __typename } }', { v: SENT }),
    },
    {
      name: 'LangWatch',
      door: 'langwatch',
      operation: 'POST /api/secrets',
      send: (key) => request(app.baseUrl, 'POST', '/api/secrets', { apiKey: key, body: { name: 'REFUSED', value: SENT } }),
    },
    {
      name: 'Together',
      door: 'together',
      operation: 'POST /v1/deployments/secrets',
      send: (key) =>
        request(app.baseUrl, 'POST', '/v1/deployments/secrets', { headers: { authorization: `Bearer ${key}` }, body: { name: 'refused', value: SENT } }),
    },
    {
      name: 'v1 user secrets',
      door: 'user-secrets-v1',
      operation: 'POST /api/v1/user/secrets',
      send: (key) => request(app.baseUrl, 'POST', '/api/v1/user/secrets', { headers: { 'x-api-key': key! }, body: { name: 'REFUSED', value: SENT } }),
    },
    {
      name: 'OpenHands (X-Session-API-Key)',
      door: 'openhands',
      operation: 'POST /api/secrets',
      send: (key) => request(app.baseUrl, 'POST', '/api/secrets', { headers: { 'x-session-api-key': key! }, body: { name: 'REFUSED', value: SENT } }),
    },
    {
      name: 'admin, a wrong token',
      door: 'admin',
      operation: 'POST /admin/projects',
      send: (key) => request(app.baseUrl, 'POST', '/admin/projects', { headers: { authorization: `Bearer ${key}` }, body: { name: SENT } }),
    },
  ];

  it.each(doors)(
    "$name: one record for the minute, naming the door, the address, the first refusal's request id and the count",
    async ({ door, operation, send }) => {
      // A minute of its own: the record is per address and minute, whichever door.
      const at = new Date(START + ++minute * 60_000);
      clock = at.getTime() + 17_000;
      const first = await send(shown(randomKey()));
      clock += 20_000;
      const second = await send(shown(randomKey()));
      answers.push(first.text, second.text);
      expect([first.status, second.status]).toEqual([401, 401]);

      const records = await app.models.AuditEvent.find({ outcome: 'unauthenticated', at }).lean();
      expect(records).toEqual([
        {
          _id: `refused:127.0.0.1:${at.toISOString()}`,
          at,
          door,
          operation,
          outcome: 'unauthenticated',
          clientAddress: '127.0.0.1',
          count: 2,
          requestId: first.headers.get('x-request-id'),
          projectId: null,
          keyId: null,
          secretId: null,
          secretName: null,
          version: null,
        },
      ]);
    },
  );

  it('every kind of refusal is recorded: no key, a malformed, unknown, revoked or expired one', async () => {
    const minted = async (expiresAt?: Date) => {
      const res = await graphql(
        app.baseUrl,
        'mutation($e: DateTime) { createApiKey(input: {name: "refused", scopes: ["secrets:read"], expiresAt: $e}) { ... on CreateApiKeySuccess { key apiKey { id } } } }',
        { e: expiresAt?.toISOString() ?? null },
        { apiKey },
      );
      return res.body.data.createApiKey as { key: string; apiKey: { id: string } };
    };
    const revoked = await minted();
    await graphql(app.baseUrl, 'mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }', { id: revoked.apiKey.id }, { apiKey });
    const expiring = await minted(new Date(clock + 60_000));
    clock += 120_000;
    const kinds = {
      none: undefined,
      malformed: shown('not-a-key-b71f'),
      unknown: shown(randomKey()),
      revoked: shown(revoked.key),
      expired: shown(expiring.key),
    };
    for (const [kind, key] of Object.entries(kinds)) {
      const at = new Date(START + ++minute * 60_000);
      clock = at.getTime() + 5_000;
      const res = await request(app.baseUrl, 'GET', '/api/secrets', { apiKey: key });
      answers.push(res.text);
      expect([kind, res.status]).toEqual([kind, 401]);
      const record = await app.models.AuditEvent.findOne({ outcome: 'unauthenticated', at }).lean();
      expect([kind, record]).toMatchObject([kind, { door: 'langwatch', count: 1, clientAddress: '127.0.0.1', requestId: res.headers.get('x-request-id') }]);
    }
  });

  it('no refusal answered, logged or recorded a value or the key it was shown', async () => {
    const records = JSON.stringify(await app.models.AuditEvent.find({}).lean());
    for (const text of [answers.join('\n'), app.logs.join('\n'), records]) {
      expect(text).not.toContain(STORED);
      expect(text).not.toContain(SENT);
      for (const key of presented) expect(text).not.toContain(key);
    }
  });
});

describe('audit retention', () => {
  it('the sweep forgets events older than AUDIT_RETENTION_DAYS and keeps the rest', async () => {
    let clock = Date.parse('2031-01-01T00:00:00Z');
    const app = await startTestApp({ now: () => new Date(clock) });
    try {
      const { apiKey } = await app.createProject('retention');
      await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'OLD_EVENT', value: 'v' } });
      clock += 60 * 86_400_000;
      await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'NEW_EVENT', value: 'v' } });
      clock += 31 * 86_400_000;
      await app.audit.sweep(90 * 86_400_000);
      const left = await app.models.AuditEvent.find({ operation: 'create' }).lean();
      expect(left.map((e) => e.secretName)).toEqual(['NEW_EVENT']);
    } finally {
      await app.close();
    }
  });
});
