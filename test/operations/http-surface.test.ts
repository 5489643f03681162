// What every door shares over HTTP, as the README promises it: the headers of
// every response, BODY_LIMIT_BYTES end to end, idempotent replay on the
// Together and v1 doors, `?before=N` paging of versions, a key's lastUsedAt,
// malformed keys refused without a key lookup, and the dev key file `npm
// start` writes. Rate limits are in rate-limits.test.ts.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CommandStartedEvent } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { graphql, type JsonResponse, request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { cleanEnv } from '../helpers/clean-env.ts';
import { processesMentioning, type ServiceProcess, startService, waitUntil } from '../helpers/service-process.ts';

const MARKER = `http-surface-marker-${randomBytes(6).toString('hex')}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const OVER_1_MB = MARKER.repeat(Math.ceil(1_100_000 / MARKER.length));

let app: TestApp;
let apiKey: string;
beforeAll(async () => {
  app = await startTestApp();
  ({ apiKey } = await app.createProject('http surface'));
});
afterAll(() => app.close());

/** Sends raw bytes and returns what came back before the server hung up (5 s bound against hanging). */
function rawExchange(baseUrl: string, bytes: string): Promise<{ status: number; headers: Headers; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(new URL(baseUrl).port), '127.0.0.1', () => socket.write(bytes));
    let out = '';
    const guard = setTimeout(() => socket.destroy(), 5_000);
    socket.on('data', (chunk) => (out += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(guard);
      const [head = '', text = ''] = out.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = new Headers(lines.map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()] as [string, string]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, text });
    });
  });
}

describe('Cache-Control: no-store and x-request-id on every response', () => {
  /** The label goes into the compared value, so that a failure names the response. */
  function expectBoth(label: string, res: { headers: Headers }, cacheControl = 'no-store'): string {
    const id = res.headers.get('x-request-id');
    expect({ label, cacheControl: res.headers.get('cache-control'), id }).toEqual({ label, cacheControl, id: expect.stringMatching(UUID) });
    return id!;
  }

  it('every registered route, each method, answers both headers, each response a request id of its own', async () => {
    const secret = await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'EVERY_ROUTE', value: `${MARKER}-route` } });
    expect(secret.status).toBe(201);
    const params: Record<string, string> = { id: secret.body.id, secret_id: 'EVERY_ROUTE', file: 'start.js' };
    const urls = new Set(app.routes.map((r) => r.url));
    // The list really is the app's: one route of each door at least.
    for (const url of [
      '/healthz',
      '/metrics',
      '/graphql',
      '/graphql/assets/:file',
      '/api/secrets',
      '/v1/deployments/secrets',
      '/api/v1/user/secrets',
      '/api/v1/secrets',
      '/admin/projects',
      '/openapi.json',
    ]) {
      expect(urls).toContain(url);
    }
    const ids: string[] = [];
    for (const route of app.routes) {
      const url = route.url!.replace(/:(\w+)/g, (_, name: string) => params[name]!);
      const credential: Record<string, string> =
        url === '/admin/projects'
          ? { authorization: `Bearer ${app.adminToken}` }
          : (route.constraints as { dialect?: string } | undefined)?.dialect === 'openhands'
            ? { 'x-session-api-key': apiKey }
            : { 'x-auth-token': apiKey };
      for (const method of [route.method].flat()) {
        const body = ['POST', 'PUT', 'PATCH'].includes(method) ? (url === '/graphql' ? { query: '{ __typename }' } : {}) : undefined;
        // The console's page holds no secret: it is revalidated on each load instead (its hashed assets are cached a year: test/console).
        const cache = route.url === '/console/*' || route.url === '/console' ? 'no-cache' : 'no-store'; // /console redirects to the page
        ids.push(expectBoth(`${method} ${route.url}`, await request(app.baseUrl, method, url, { headers: credential, body }), cache));
      }
    }
    expect(ids.length).toBeGreaterThan(50);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('error answers carry them too: 404, 401 on each door, 400, 413, and what Fastify or Node answer before any route', async () => {
    const tooLarge = JSON.stringify({ name: 'TOO_LARGE', value: OVER_1_MB });
    const answers: [string, JsonResponse | Awaited<ReturnType<typeof rawExchange>>, number][] = [
      ['unknown route', await request(app.baseUrl, 'GET', '/no/such/route'), 404],
      ['LangWatch without a key', await request(app.baseUrl, 'GET', '/api/secrets'), 401],
      ['Together without a key', await request(app.baseUrl, 'GET', '/v1/deployments/secrets'), 401],
      ['v1 without a key', await request(app.baseUrl, 'GET', '/api/v1/user/secrets'), 401],
      ['OpenHands V0 with a bad key', await request(app.baseUrl, 'GET', '/api/secrets', { headers: { 'x-session-api-key': 'sk-lw-nope' } }), 401],
      ['OpenHands V1 without a key', await request(app.baseUrl, 'GET', '/api/v1/secrets'), 401],
      ['GraphQL without a key', await graphql(app.baseUrl, '{ secrets { edges { cursor } } }'), 401],
      ['admin without its token', await request(app.baseUrl, 'POST', '/admin/projects', { body: { name: 'p' } }), 401],
      ['LangWatch, a body that is not JSON', await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, rawBody: `{"value":"${MARKER}` }), 400],
      ['GraphQL, a body that is not JSON', await request(app.baseUrl, 'POST', '/graphql', { apiKey, rawBody: `{"query":"${MARKER}` }), 400],
      ['LangWatch, over 1 MB', await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, rawBody: tooLarge }), 413],
      [
        'GraphQL, over 1 MB',
        await request(app.baseUrl, 'POST', '/graphql', { apiKey, rawBody: JSON.stringify({ query: '{ __typename }', variables: { v: OVER_1_MB } }) }),
        413,
      ],
      // Fastify's router refuses a URL it cannot decode before any hook runs.
      ['a URL that does not decode', await request(app.baseUrl, 'GET', `/api/secrets/${MARKER}%E0%A4%A`, { apiKey }), 400],
      // Node's parser refuses bytes that are not HTTP before Fastify sees a request.
      ['bytes that are not HTTP', await rawExchange(app.baseUrl, `NOT HTTP ${MARKER}\r\n\r\n`), 400],
      ['headers over the size limit', await rawExchange(app.baseUrl, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${MARKER.repeat(2_000)}\r\n\r\n`), 431],
    ];
    for (const [label, res, status] of answers) {
      expect({ label, status: res.status }).toEqual({ label, status });
      expectBoth(label, res);
      expect({ label, echoesTheRequest: res.text.includes(MARKER) }).toEqual({ label, echoesTheRequest: false });
    }
  });

  it('429s carry them too: the per-key limit and the limit of refused authentications', async () => {
    const limited = await startTestApp({ rateLimitPerMinute: 1, authFailureLimitPerMinute: 1 });
    try {
      const key = (await limited.createProject('limited')).apiKey;
      await request(limited.baseUrl, 'GET', '/api/secrets', { apiKey: key });
      const perKey = await request(limited.baseUrl, 'GET', '/api/secrets', { apiKey: key });
      await request(limited.baseUrl, 'GET', '/api/secrets', { apiKey: 'sk-lw-refused' });
      const refusals = await request(limited.baseUrl, 'GET', '/api/secrets', { apiKey: 'sk-lw-refused' });
      for (const [label, res] of [
        ['per key', perKey],
        ['refusals', refusals],
      ] as const) {
        expect({ label, status: res.status }).toEqual({ label, status: 429 });
        expectBoth(label, res);
      }
    } finally {
      await limited.close();
    }
  });
});

describe('BODY_LIMIT_BYTES, end to end: the service started with 2048', () => {
  let service: ServiceProcess;
  let base: string;
  let key: string;
  beforeAll(async () => {
    const adminToken = randomBytes(24).toString('hex');
    service = startService(
      'node',
      cleanEnv({
        MONGODB_URI: `${inject('mongoUri').replace(/\/[^/]*$/, '')}/body_limit_${randomBytes(4).toString('hex')}`,
        SECRETS_MASTER_KEY: randomBytes(32).toString('base64'),
        ADMIN_TOKEN: adminToken,
        PORT: '0',
        LOG_FORMAT: 'json',
        BODY_LIMIT_BYTES: '2048',
      }),
    );
    base = (await service.waitFor(/ready on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    const project = await request(base, 'POST', '/admin/projects', { headers: { authorization: `Bearer ${adminToken}` }, body: { name: 'body limit' } });
    expect(project.status).toBe(201);
    key = project.body.apiKey;
  }, 60_000);
  afterAll(async () => {
    service.child.kill('SIGTERM');
    await service.exited();
  });

  const CREATE = 'mutation($name: String!, $value: String!) { createSecret(input: {name: $name, value: $value}) { __typename } }';
  const doors = [
    {
      door: 'LangWatch',
      path: '/api/secrets',
      headers: () => ({ 'x-auth-token': key }),
      created: 201,
      body: (value: string) => ({ name: 'LIMIT_LANGWATCH', value }),
      tooLarge: { error: 'payload_too_large', message: 'The request body is too large.' },
    },
    {
      door: 'Together',
      path: '/v1/deployments/secrets',
      headers: () => ({ authorization: `Bearer ${key}` }),
      created: 200,
      body: (value: string) => ({ name: 'limit/together', value }),
      tooLarge: { error: { message: 'The request body is too large.', type: 'invalid_request_error', param: null, code: null } },
    },
    {
      door: 'v1',
      path: '/api/v1/user/secrets',
      headers: () => ({ 'x-api-key': key }),
      created: 201,
      body: (value: string) => ({ name: 'LIMIT_V1', value }),
      tooLarge: { code: 413, detail: 'The request body is too large.', type: 'payload_too_large_error' },
    },
    {
      door: 'OpenHands V0',
      path: '/api/secrets',
      headers: () => ({ 'x-session-api-key': key }),
      created: 201,
      body: (value: string) => ({ name: 'limit openhands', value }),
      tooLarge: { detail: 'The request body is too large.' },
    },
    {
      door: 'GraphQL',
      path: '/graphql',
      headers: () => ({ authorization: `Bearer ${key}` }),
      created: 200,
      body: (value: string) => ({ query: CREATE, variables: { name: 'LIMIT_GRAPHQL', value } }),
      tooLarge: { errors: [{ message: 'The request body is too large.', extensions: { code: 'BAD_REQUEST' } }] },
    },
  ];

  it.each(doors)(
    "$door: a 3 KB body is 413 in the door's error body, storing nothing; a 1 KB one is served",
    async ({ path: route, headers, body, created, tooLarge }) => {
      const big = await request(base, 'POST', route, { headers: headers(), body: body(`${MARKER}${'x'.repeat(3_000)}`) });
      expect(big.status).toBe(413);
      expect(big.body).toEqual(tooLarge);
      expect(big.text).not.toContain(MARKER);
      // Nothing was stored: the 1 KB create of the same name is not a conflict.
      const small = await request(base, 'POST', route, { headers: headers(), body: body('v'.repeat(1_000)) });
      expect(small.status).toBe(created);
      expect(small.text).not.toMatch(/error/i);
    },
  );

  it('no submitted value reached the log', () => {
    expect(service.output()).not.toContain(MARKER);
  });
});

describe.each([
  {
    door: 'Together',
    path: '/v1/deployments/secrets',
    status: 200,
    name: 'idem/together',
    headers: () => ({ authorization: `Bearer ${apiKey}` }),
    reused: {
      status: 400,
      body: { error: { message: 'This Idempotency-Key was already used with a different request', type: 'invalid_request_error', param: null, code: null } },
    },
  },
  {
    door: 'v1',
    path: '/api/v1/user/secrets',
    status: 201,
    name: 'IDEM_V1',
    headers: () => ({ 'x-api-key': apiKey }),
    reused: { status: 422, body: { code: 422, detail: 'This Idempotency-Key was already used with a different request', type: 'idempotency_key_reused' } },
  },
])('Idempotency-Key on the $door door', ({ path: route, status, name, headers, reused }) => {
  const create = (key: string, body: Record<string, string>) =>
    request(app.baseUrl, 'POST', route, { headers: { ...headers(), 'idempotency-key': key }, body });

  it('the same key and body replays the first answer (same status, same body) and stores nothing more', async () => {
    const first = await create(`replay-${name}`, { name, value: `${MARKER}-first` });
    expect(first.status).toBe(status);
    const counts = await app.storedCounts();
    const replay = await create(`replay-${name}`, { name, value: `${MARKER}-first` });
    expect(replay.status).toBe(status);
    expect(replay.body).toEqual(first.body);
    expect(await app.storedCounts()).toEqual(counts);
    // Without the key the same body is a second create: refused, its name being taken.
    expect((await request(app.baseUrl, 'POST', route, { headers: headers(), body: { name, value: `${MARKER}-first` } })).status).toBe(409);
  });

  it("the same key with another body gets the door's idempotency_key_reused answer, storing nothing, quoting nothing", async () => {
    const counts = await app.storedCounts();
    const other = await create(`replay-${name}`, { name: `${name}_OTHER`, value: `${MARKER}-other` });
    expect({ status: other.status, body: other.body }).toEqual(reused);
    expect(other.text).not.toContain(MARKER);
    expect(await app.storedCounts()).toEqual(counts);
  });
});

describe('GET /api/secrets/{id}/versions?before=N', () => {
  it('pages newest first: before=N gives the versions below N, down to an empty page', async () => {
    const created = await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'PAGED_VERSIONS', value: `${MARKER}-1` } });
    for (let v = 2; v <= 5; v++) {
      expect((await request(app.baseUrl, 'PUT', `/api/secrets/${created.body.id}`, { apiKey, body: { value: `${MARKER}-${v}` } })).status).toBe(200);
    }
    const page = async (query: string) => {
      const res = await request(app.baseUrl, 'GET', `/api/secrets/${created.body.id}/versions${query}`, { apiKey });
      expect(res.status).toBe(200);
      expect(res.text).not.toContain(MARKER);
      return res.body.map((v: { version: number }) => v.version);
    };
    expect(await page('')).toEqual([5, 4, 3, 2, 1]);
    expect(await page('?before=4')).toEqual([3, 2, 1]);
    expect(await page('?before=2')).toEqual([1]);
    expect(await page('?before=1')).toEqual([]);
    expect(await page('?before=99')).toEqual([5, 4, 3, 2, 1]);
    const keyId = (await app.models.ApiKey.findOne({ prefix: apiKey.slice(0, 10) }).lean())!._id.toHexString();
    const below3 = await request(app.baseUrl, 'GET', `/api/secrets/${created.body.id}/versions?before=3`, { apiKey });
    expect(below3.body).toEqual([2, 1].map((version) => ({ version, createdAt: expect.any(String), createdBy: keyId })));
    expect((await request(app.baseUrl, 'GET', `/api/secrets/${created.body.id}/versions?before=0`, { apiKey })).status).toBe(422);
  });
});

describe('lastUsedAt of an API key', () => {
  it('is null until the key is used, then the instant of its use', async () => {
    let clock = Date.parse('2031-05-01T08:00:00Z');
    const clocked = await startTestApp({ now: () => new Date(clock) });
    try {
      const admin = (await clocked.createProject('last used')).apiKey;
      const minted = await graphql(
        clocked.baseUrl,
        'mutation { createApiKey(input: {name: "reader", scopes: ["secrets:read"]}) { ... on CreateApiKeySuccess { key apiKey { id } } } }',
        {},
        { apiKey: admin },
      );
      const {
        key,
        apiKey: { id },
      } = minted.body.data.createApiKey;
      const lastUsedAt = async () => {
        const res = await graphql(clocked.baseUrl, '{ apiKeys(first: 50) { edges { node { id lastUsedAt } } } }', {}, { apiKey: admin });
        return res.body.data.apiKeys.edges.find((e: { node: { id: string } }) => e.node.id === id).node.lastUsedAt as string | null;
      };
      expect(await lastUsedAt()).toBeNull();

      clock = Date.parse('2031-05-01T09:30:00Z');
      expect((await request(clocked.baseUrl, 'GET', '/api/secrets', { apiKey: key })).status).toBe(200);
      // The note is written beside the request, not before its answer: poll, bounded.
      expect(await waitUntil(async () => (await lastUsedAt()) !== null, 10_000)).toBe(true);
      expect(await lastUsedAt()).toBe('2031-05-01T09:30:00.000Z');
    } finally {
      await clocked.close();
    }
  });
});

describe('a malformed key costs no key lookup', () => {
  const doors: [string, (key: string) => Promise<JsonResponse>][] = [
    ['LangWatch (X-Auth-Token)', (key) => request(app.baseUrl, 'GET', '/api/secrets', { apiKey: key })],
    ['LangWatch (Bearer)', (key) => request(app.baseUrl, 'GET', '/api/secrets', { headers: { authorization: `Bearer ${key}` } })],
    ['Together', (key) => request(app.baseUrl, 'GET', '/v1/deployments/secrets', { headers: { authorization: `Bearer ${key}` } })],
    ['v1 (X-API-Key)', (key) => request(app.baseUrl, 'GET', '/api/v1/user/secrets', { headers: { 'x-api-key': key } })],
    ['OpenHands V0', (key) => request(app.baseUrl, 'GET', '/api/secrets', { headers: { 'x-session-api-key': key } })],
    ['OpenHands V1', (key) => request(app.baseUrl, 'GET', '/api/v1/secrets', { headers: { 'x-session-api-key': key } })],
    ['GraphQL', (key) => graphql(app.baseUrl, '{ secrets { edges { cursor } } }', {}, { apiKey: key })],
  ];

  /** The collections a call's database commands went to, e.g. ["find api_keys", "insert audit_events"]. */
  async function commandsOf(call: () => Promise<JsonResponse>): Promise<{ status: number; commands: string[] }> {
    const commands: string[] = [];
    const listener = (event: CommandStartedEvent) => void commands.push(`${event.commandName} ${String(event.command[event.commandName])}`);
    const client = app.connection.getClient();
    client.on('commandStarted', listener);
    try {
      const { status } = await call();
      return { status, commands };
    } finally {
      client.off('commandStarted', listener);
    }
  }

  it.each(doors)("%s: 401, and no command but the refusal's audit record; a well-formed unknown key is looked up", async (_door, call) => {
    for (const malformed of ['sk-lw-short', `sk-lw-${'!'.repeat(43)}`, `sk-lw-${'a'.repeat(129)}`, 'not-a-key']) {
      const { status, commands } = await commandsOf(() => call(malformed));
      expect({ malformed, status }).toEqual({ malformed, status: 401 });
      // Each refusal is counted in its address's record for the minute (README: refused authentications).
      expect({ malformed, commands: commands.filter((c) => !c.endsWith(' audit_events')) }).toEqual({ malformed, commands: [] });
    }
    // The control: the same measure sees the lookup of a key that could exist.
    const wellFormed = await commandsOf(() => call(`sk-lw-${randomBytes(32).toString('hex').slice(0, 43)}`));
    expect(wellFormed.status).toBe(401);
    expect(wellFormed.commands).toContain('find api_keys');
  });
});

describe('the dev API key file of `npm start` without ADMIN_TOKEN', () => {
  let parent: string;
  let dataDir: string;
  beforeAll(async () => {
    parent = await mkdtemp(path.join(tmpdir(), 'secrets-dev-key-'));
    // Not there yet: the service makes it.
    dataDir = path.join(parent, 'data');
  });
  afterAll(() => rm(parent, { recursive: true, force: true }));

  const file = () => path.join(dataDir, 'dev-api-key');
  const mode = async (name: string) => (await stat(name)).mode & 0o777;
  /** Runs `npm start`'s program on dataDir, calls `whileUp` with the printed key, then stops it cleanly. */
  async function withService(whileUp: (key: string, socket: string) => Promise<void>) {
    const service = startService('node', cleanEnv({ DATA_DIR: dataDir, PORT: '0', LOG_FORMAT: 'json' }));
    try {
      const key = (await service.waitFor(/Dev API key:\s+(sk-lw-[A-Za-z0-9]+)/))[1]!;
      // The engine's socket, wherever it is: the URI the service logs names it.
      const socket = decodeURIComponent(service.output().match(/"uri":"mongodb:\/\/([^"/]+)\/"/)![1]!);
      await whileUp(key, socket);
    } finally {
      service.child.kill('SIGTERM');
      expect((await service.exited()).code).toBe(0);
      expect(await waitUntil(() => processesMentioning(dataDir).length === 0, 10_000)).toBe(true);
    }
  }

  it('holds the printed key, at mode 0600, in a data folder (and engine socket folder) of mode 0700', async () => {
    await withService(async (key, socket) => {
      expect((await readFile(file(), 'utf8')).trim()).toBe(key);
      expect(await mode(file())).toBe(0o600);
      expect(await mode(dataDir)).toBe(0o700);
      expect(socket.startsWith(`${dataDir}${path.sep}`)).toBe(true);
      expect(await mode(path.dirname(socket))).toBe(0o700);
    });
  }, 90_000);

  it('a file readable by all, holding no working key, is replaced by a new key at mode 0600', async () => {
    const stale = `sk-lw-${'S'.repeat(43)}`;
    await writeFile(file(), `${stale}\n`);
    await chmod(file(), 0o644);
    await withService(async (key) => {
      expect(key).not.toBe(stale);
      expect((await readFile(file(), 'utf8')).trim()).toBe(key);
      expect(await mode(file())).toBe(0o600);
    });
  }, 90_000);
});
