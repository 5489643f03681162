// Rate limits as the README's "Rate limits" section has them:
// RATE_LIMIT_PER_MINUTE requests per API key per minute, per address when no
// key is sent; x-ratelimit-* headers; past the limit a 429 in the door's own
// error body with a Retry-After inside the minute, before the body is read;
// the routes it names never limited. (abuse.test.ts: other keys unaffected,
// whichever header carries the key.)
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, type JsonResponse, request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const LIMIT = 3;
const MARKER = `rate-limit-marker-${randomBytes(6).toString('hex')}`;

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ rateLimitPerMinute: LIMIT });
});
afterAll(() => app.close());

const newKey = async () => (await app.createProject('rate limited')).apiKey;

/** Whole seconds within the one-minute window: more than 0, at most 60. */
function expectWithinWindow(label: string, value: string | null) {
  expect({ label, value }).toEqual({ label, value: expect.stringMatching(/^\d+$/) });
  expect({ label, inWindow: Number(value) > 0 && Number(value) <= 60 }).toEqual({ label, inWindow: true });
}

/** A request from another loopback address, which the server sees as the client's. */
function from(address: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<JsonResponse> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${app.baseUrl}${path}`,
      {
        method,
        localAddress: address,
        headers: { ...headers, ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          const headers = new Headers(Object.entries(res.headers).map(([k, v]) => [k, [v].flat().join(', ')] as [string, string]));
          resolve({ status: res.statusCode ?? 0, headers, text, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('per API key', () => {
  it('every answer under the limit says x-ratelimit-limit, -remaining and -reset; past it, 429 with Retry-After within the minute', async () => {
    const apiKey = await newKey();
    for (let i = 1; i <= LIMIT; i++) {
      const res = await request(app.baseUrl, 'GET', '/api/secrets', { apiKey });
      expect(res.status).toBe(200);
      expect([res.headers.get('x-ratelimit-limit'), res.headers.get('x-ratelimit-remaining')]).toEqual([String(LIMIT), String(LIMIT - i)]);
      expectWithinWindow(`reset of request ${i}`, res.headers.get('x-ratelimit-reset'));
    }
    const limited = await request(app.baseUrl, 'GET', '/api/secrets', { apiKey });
    expect(limited.status).toBe(429);
    expect([limited.headers.get('x-ratelimit-limit'), limited.headers.get('x-ratelimit-remaining')]).toEqual([String(LIMIT), '0']);
    expectWithinWindow('retry-after', limited.headers.get('retry-after'));
    expectWithinWindow('reset past the limit', limited.headers.get('x-ratelimit-reset'));
  });

  const CREATE = 'mutation($v: String!) { createSecret(input: {name: "LIMITED", value: $v}) { __typename } }';
  const doors: { door: string; path: string; header: (key: string) => Record<string, string>; create: unknown; body: unknown }[] = [
    {
      door: 'LangWatch',
      path: '/api/secrets',
      header: (key) => ({ 'x-auth-token': key }),
      create: { name: 'LIMITED', value: MARKER },
      body: { error: 'rate_limited', message: expect.stringMatching(/^Too many requests/) },
    },
    {
      door: 'Together',
      path: '/v1/deployments/secrets',
      header: (key) => ({ authorization: `Bearer ${key}` }),
      create: { name: 'limited', value: MARKER },
      body: { error: { message: expect.stringMatching(/^Too many requests/), type: 'rate_limit_error', param: null, code: null } },
    },
    {
      door: 'v1',
      path: '/api/v1/user/secrets',
      header: (key) => ({ 'x-api-key': key }),
      create: { name: 'LIMITED', value: MARKER },
      body: { code: 429, detail: expect.stringMatching(/^Too many requests/), type: 'rate_limit_error' },
    },
    {
      door: 'OpenHands V0',
      path: '/api/secrets',
      header: (key) => ({ 'x-session-api-key': key }),
      create: { name: 'LIMITED', value: MARKER },
      body: { detail: expect.stringMatching(/^Too many requests/) },
    },
    {
      door: 'OpenHands V1',
      path: '/api/v1/secrets',
      header: (key) => ({ 'x-session-api-key': key }),
      create: { name: 'LIMITED', value: MARKER },
      body: { detail: expect.stringMatching(/^Too many requests/) },
    },
    {
      door: 'GraphQL',
      path: '/graphql',
      header: (key) => ({ authorization: `Bearer ${key}` }),
      create: { query: CREATE, variables: { v: MARKER } },
      body: { errors: [{ message: expect.stringMatching(/^Too many requests/), extensions: { code: 'RATE_LIMITED' } }] },
    },
  ];

  it.each(doors)(
    "$door: past the limit a create is 429 in the door's error body, with Retry-After; its body is not read, nothing is stored",
    async ({ path, header, create, body }) => {
      const headers = header(await newKey());
      for (let i = 0; i < LIMIT; i++) {
        const under =
          path === '/graphql'
            ? await graphql(app.baseUrl, '{ secrets { edges { cursor } } }', {}, { headers })
            : await request(app.baseUrl, 'GET', path, { headers });
        expect(under.status).toBe(200);
      }
      const counts = await app.storedCounts();
      const limited = await request(app.baseUrl, 'POST', path, { headers, body: create });
      expect(limited.status).toBe(429);
      expect(limited.body).toEqual(body);
      expectWithinWindow('retry-after', limited.headers.get('retry-after'));
      expect(limited.text).not.toContain(MARKER);
      // Refused before the body is read: a body that is not JSON is no 400 either.
      const broken = await request(app.baseUrl, 'POST', path, { headers, rawBody: `{"value": "${MARKER}` });
      expect(broken.status).toBe(429);
      expect(broken.text).not.toContain(MARKER);
      expect(await app.storedCounts()).toEqual(counts);
    },
  );
});

describe('without a key, per address', () => {
  // GraphiQL's page is the limited route that needs no key (the REST doors refuse a request without one first).
  const page = (address: string) => from(address, 'GET', '/graphql', { accept: 'text/html' });

  it('an address past its limit gets 429; another address, and a key from the same address, are not held back', async () => {
    for (let i = 1; i <= LIMIT; i++) {
      const res = await page('127.0.0.2');
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-remaining')).toBe(String(LIMIT - i));
    }
    const limited = await page('127.0.0.2');
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ errors: [{ message: expect.stringMatching(/^Too many requests/), extensions: { code: 'RATE_LIMITED' } }] });
    expectWithinWindow('retry-after', limited.headers.get('retry-after'));

    expect((await page('127.0.0.3')).status).toBe(200);
    expect((await from('127.0.0.2', 'GET', '/api/secrets', { 'x-auth-token': await newKey() })).status).toBe(200);
  });
});

describe('exempt routes', () => {
  // README: "/healthz, /metrics, /openapi*, GraphiQL's assets, the console's files and the admin route (guarded by ADMIN_TOKEN) are not limited".
  const EXEMPT = [
    '/healthz',
    '/metrics',
    '/openapi.json',
    '/openapi/langwatch.json',
    '/openapi/together.json',
    '/openapi/user-secrets-v1.json',
    '/openapi/openhands.json',
    '/graphql/assets/:file',
    '/console',
    '/console/assets/*',
    '/console/*',
    '/admin/projects',
  ];
  it('are never limited, even from an address past its limit, and carry no x-ratelimit headers', async () => {
    const exempt: [string, string, number, Record<string, string>?, unknown?][] = [
      ['GET', '/healthz', 200],
      ['GET', '/metrics', 200],
      ['GET', '/openapi.json', 200],
      ['GET', '/openapi/langwatch.json', 200],
      ['GET', '/openapi/together.json', 200],
      ['GET', '/openapi/user-secrets-v1.json', 200],
      ['GET', '/openapi/openhands.json', 200],
      ['GET', '/graphql/assets/start.js', 200],
      ['GET', '/graphql/assets/favicon.ico', 200],
      ['GET', '/console', 301],
      ['GET', '/console/e/default/secrets', 200],
      ['POST', '/admin/projects', 201, { authorization: `Bearer ${app.adminToken}` }, { name: 'exempt' }],
    ];
    // Without a key every request of this address shares one bucket: spend it.
    const address = '127.0.0.4';
    for (let i = 0; i < LIMIT; i++) await from(address, 'GET', '/graphql', { accept: 'text/html' });
    expect((await from(address, 'GET', '/graphql', { accept: 'text/html' })).status).toBe(429);
    for (const [method, path, status, headers, body] of exempt) {
      for (let i = 0; i <= LIMIT; i++) {
        const res = await from(address, method, path, headers, body);
        expect({ route: `${method} ${path}`, status: res.status, limit: res.headers.get('x-ratelimit-limit') }).toEqual({
          route: `${method} ${path}`,
          status,
          limit: null,
        });
      }
    }
  });

  it('the login route (no key) answers 429 to an address past its limit', async () => {
    const address = '127.0.0.5';
    for (let i = 0; i < LIMIT; i++) expect((await from(address, 'POST', '/api/auth/oidc', {}, {})).status).toBe(422);
    const res = await from(address, 'POST', '/api/auth/oidc', {}, { identity: 'x', token: 'y' });
    expect(res.status).toBe(429);
  });

  it('every other route, each method, answers 429 to a key past its limit', async () => {
    const apiKey = await newKey();
    for (let i = 0; i < LIMIT; i++) expect((await request(app.baseUrl, 'GET', '/api/secrets', { apiKey })).status).toBe(200);
    const urls = new Set(app.routes.map((r) => r.url));
    for (const url of EXEMPT) expect(urls).toContain(url);
    // The login route takes no key: it is limited per address (below).
    const limited = app.routes.filter((r) => !EXEMPT.includes(r.url!) && r.url !== '/api/auth/oidc');
    expect(limited.length).toBeGreaterThan(40);
    for (const route of limited) {
      const url = route.url!.replace(/:\w+/g, 'some-id');
      const headers: Record<string, string> =
        (route.constraints as { dialect?: string } | undefined)?.dialect === 'openhands' ? { 'x-session-api-key': apiKey } : { 'x-auth-token': apiKey };
      for (const method of [route.method].flat()) {
        const res = await request(app.baseUrl, method, url, { headers, body: ['POST', 'PUT', 'PATCH'].includes(method) ? {} : undefined });
        expect({ route: `${method} ${route.url}`, status: res.status }).toEqual({ route: `${method} ${route.url}`, status: 429 });
      }
    }
  });
});
