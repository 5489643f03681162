// Rate limits per API key on every door and GraphQL; hostile GraphQL refused
// before the database is touched; metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

describe('rate limiting (RATE_LIMIT_PER_MINUTE)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ rateLimitPerMinute: 3 });
  });
  afterAll(() => app.close());

  const doors: [string, (key: string) => Promise<{ status: number; headers: Headers; body: any }>, (body: any) => void][] = [
    [
      'LangWatch',
      (key) => request(app.baseUrl, 'GET', '/api/secrets', { apiKey: key }),
      (b) => expect(b).toEqual({ error: 'rate_limited', message: expect.any(String) }),
    ],
    [
      'Together',
      (key) => request(app.baseUrl, 'GET', '/v1/deployments/secrets', { headers: { authorization: `Bearer ${key}` } }),
      (b) => expect(b.error.type).toBe('rate_limit_error'),
    ],
    [
      'v1',
      (key) => request(app.baseUrl, 'GET', '/api/v1/user/secrets', { headers: { authorization: `Bearer ${key}` } }),
      (b) => expect(b).toEqual({ code: 429, detail: expect.any(String), type: 'rate_limit_error' }),
    ],
    [
      'OpenHands',
      (key) => request(app.baseUrl, 'PUT', '/api/secrets/NAME', { headers: { 'x-session-api-key': key }, body: { name: 'X' } }),
      (b) => expect(typeof b.detail).toBe('string'),
    ],
    [
      'GraphQL',
      (key) => graphql(app.baseUrl, '{ secrets { edges { cursor } } }', {}, { apiKey: key }),
      (b) => expect(b.errors[0].extensions.code).toBe('RATE_LIMITED'),
    ],
  ];

  it.each(doors)("%s: the request past the limit gets 429 with Retry-After in the door's body; other keys are unaffected", async (_door, call, checkBody) => {
    const mine = (await app.createProject('limited')).apiKey;
    const other = (await app.createProject('neighbour')).apiKey;
    for (let i = 0; i < 3; i++) expect((await call(mine)).status).not.toBe(429);
    const limited = await call(mine);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    checkBody(limited.body);
    expect((await call(other)).status).not.toBe(429);
  });

  it('counts per key whichever header carries it, and leaves /healthz and /metrics alone', async () => {
    const key = (await app.createProject('headers')).apiKey;
    await request(app.baseUrl, 'GET', '/api/secrets', { apiKey: key });
    await request(app.baseUrl, 'GET', '/v1/deployments/secrets', { headers: { authorization: `Bearer ${key}` } });
    await graphql(app.baseUrl, '{ secrets { edges { cursor } } }', {}, { apiKey: key });
    expect((await request(app.baseUrl, 'GET', '/api/secrets', { apiKey: key })).status).toBe(429);
    for (let i = 0; i < 5; i++) {
      expect((await request(app.baseUrl, 'GET', '/healthz')).status).toBe(200);
      expect((await request(app.baseUrl, 'GET', '/metrics')).status).toBe(200);
    }
  });
});

describe('hostile GraphQL and database commands', () => {
  let app: TestApp;
  let apiKey: string;
  beforeAll(async () => {
    app = await startTestApp();
    ({ apiKey } = await app.createProject('hostile'));
    // Warm the key cache: what follows must cost no lookup at all.
    await graphql(app.baseUrl, '{ secrets(first: 1) { edges { cursor } } }', {}, { apiKey });
  });
  afterAll(() => app.close());

  // Each limit at its edge is in test/graphql/armor.test.ts; these are far past it.
  // Cost grows 1.5-fold a level, so 50 levels are refused by the cost rule
  // before the depth rule has its say.
  it.each([
    [
      '50 levels deep',
      `query { ${'... on Query { '.repeat(50)}secrets { edges { cursor } }${' }'.repeat(50)} }`,
      /^Syntax Error: Query Cost limit of 5000 exceeded, found [\d.]+\.$/,
    ],
    ['about 1 MB of tokens', `query { ${'__typename '.repeat(95_000)} }`, /^Syntax Error: Token limit of 1000 exceeded\.$/],
  ])('refuses a document %s without a database command', async (_label, query, message) => {
    const before = await app.dbCommands();
    const res = await graphql(app.baseUrl, query, {}, { apiKey });
    expect(res.body.errors?.map((e) => e.message)).toEqual([expect.stringMatching(message)]);
    expect(res.body.data).toBeUndefined();
    expect(await app.dbCommands()).toBe(before);
  });

  it('a REST get by id costs at most 2 database commands, key lookup included', async () => {
    const created = await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'COUNTED', value: 'v' } });
    const before = await app.dbCommands();
    expect((await request(app.baseUrl, 'GET', `/api/secrets/${created.body.id}`, { apiKey })).status).toBe(200);
    expect((await app.dbCommands()) - before).toBeLessThanOrEqual(2);
  });
});

describe('GET /metrics', () => {
  it('serves Prometheus text with requests per route and status, database commands and db_up; no secret in it', async () => {
    const app = await startTestApp();
    try {
      const { apiKey } = await app.createProject('metrics');
      await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'METRIC_NAME_MARKER', value: 'metric-value-marker' } });
      await request(app.baseUrl, 'GET', '/api/secrets/nope', { apiKey });
      const res = await fetch(`${app.baseUrl}/metrics`);
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      expect(text).toMatch(/http_requests_total\{method="POST",route="\/api\/secrets",status="201"\} 1/);
      expect(text).toMatch(/http_requests_total\{method="GET",route="\/api\/secrets\/:id",status="404"\} 1/);
      expect(text).toMatch(/http_request_duration_seconds_bucket\{le="[^"]+",method="POST",route="\/api\/secrets"\}/);
      expect(text).toMatch(/db_commands_total\{command="insert",collection="secrets"\} \d+/);
      expect(text).toMatch(/db_up 1/);
      expect(text).not.toContain('METRIC_NAME_MARKER');
      expect(text).not.toContain('metric-value-marker');
      expect(text).not.toContain(apiKey);
    } finally {
      await app.close();
    }
  });
});
