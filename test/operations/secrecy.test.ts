// No response of any door, and no log line, holds any part of a submitted
// value, whatever error path the request takes: a marker goes into values of
// the wrong type, unknown fields, literals, broken and oversize bodies, query
// strings and headers, by POST and GET, and is then looked for everywhere.
import { REST_DOOR_SLUGS, type RestDoorSlug } from '../../src/auth/caller.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const MARKER = 'MRKq7Zx9';
const NUMBER = 987654321;
let app: TestApp;
let apiKey: string;
const seen: { label: string; status: number; text: string }[] = [];

beforeAll(async () => {
  app = await startTestApp({ bodyLimit: 16_384 });
  ({ apiKey } = await app.createProject('secrecy'));
});
afterAll(() => app.close());

async function send(label: string, path: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
  const res = await fetch(`${app.baseUrl}${path}`, init);
  const text = await res.text();
  seen.push({ label, status: res.status, text: `${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${text}` });
  return { status: res.status, text, body: text ? JSON.parse(text) : undefined };
}

const gqlPost = (label: string, body: unknown, raw?: string) =>
  send(label, '/graphql', {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: raw ?? JSON.stringify(body),
  });
const gqlGet = (label: string, params: Record<string, string>) =>
  send(label, `/graphql?${new URLSearchParams(params)}`, { headers: { authorization: `Bearer ${apiKey}`, accept: 'application/json' } });

const CREATE = 'mutation($i: CreateSecretInput!) { createSecret(input: $i) { __typename } }';

describe('GraphQL errors say where and what was expected, never what was sent', () => {
  it.each([
    [
      'an unknown field beside the value',
      { i: { name: 'A', value: MARKER, nam: 1 } },
      'Variable "$i" got an invalid value: Field "nam" is not defined by type "CreateSecretInput". Did you mean "name"?',
    ],
    ['a value of the wrong type', { i: { name: 'A', value: NUMBER } }, 'Variable "$i" got an invalid value at "i.value": Expected a value of type "String".'],
    ['a string where an object belongs', { i: MARKER }, 'Variable "$i" got an invalid value: Expected type "CreateSecretInput" to be an object.'],
    [
      'a date that is not one',
      { i: { name: 'A', value: 'v', expiresAt: MARKER } },
      'Variable "$i" got an invalid value at "i.expiresAt": Expected a value of type "DateTime".',
    ],
    [
      'a list where a string belongs',
      { i: { name: 'A', value: [MARKER, { x: MARKER }] } },
      'Variable "$i" got an invalid value at "i.value": Expected a value of type "String".',
    ],
  ])('variables (POST): %s', async (label, variables, message) => {
    const res = await gqlPost(label, { query: CREATE, variables });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { message: string }) => e.message)).toEqual([message]);
  });

  it.each([
    ['a string for an Int', { n: MARKER }, 'Variable "$n" got an invalid value: Expected a value of type "Int".'],
    ['an object for a String', { a: { MARKER } }, 'Variable "$a" got an invalid value: Expected a value of type "String".'],
    ['a number too large for an Int', { n: NUMBER * 10 }, 'Variable "$n" got an invalid value: Expected a value of type "Int".'],
  ])('variables (GET): %s', async (label, variables, message) => {
    const query = 'query($n: Int, $a: String) { secrets(first: $n, after: $a) { pageInfo { hasNextPage } } }';
    const res = await gqlGet(label, { query, variables: JSON.stringify(variables) });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { message: string }) => e.message)).toEqual([message]);
  });

  it.each([
    ['a number literal for a string', `mutation { createSecret(input: {name: "A", value: ${NUMBER}}) { __typename } }`, 'Expected a value of type "String".'],
    ['an enum literal for a string', `mutation { createSecret(input: {name: "A", value: ${MARKER}}) { __typename } }`, 'Expected a value of type "String".'],
    [
      'a bad date literal',
      `mutation { createSecret(input: {name: "A", value: "v", expiresAt: "${MARKER}"}) { __typename } }`,
      'Expected a value of type "DateTime".',
    ],
    ['a string literal for an Int', `{ secrets(first: "${MARKER}") { pageInfo { hasNextPage } } }`, 'Expected a value of type "Int".'],
    ['an enum literal for an ID', `{ secret(id: ${MARKER}) { id } }`, 'Expected a value of type "ID".'],
    ['an unterminated string', `{ secrets(first: "${MARKER} }`, 'Syntax Error: Unterminated string.'],
    ['an unexpected string token', `query "${MARKER}" { secrets { pageInfo { hasNextPage } } }`, 'Syntax Error: Expected "{", found String.'],
    ['an unexpected name', `{ secrets(first: 1) { pageInfo { hasNextPage } } } ${MARKER}`, 'Syntax Error: Unexpected Name.'],
    ['a stray character', `{ secrets(first: 1) { pageInfo { hasNextPage } } } ^${MARKER}`, 'Syntax Error: Unexpected character.'],
  ])('literals and syntax: %s', async (label, query, message) => {
    // A mutation cannot be sent by GET (yoga answers 405 before reading it).
    const sent = [await gqlPost(label, { query }), ...(query.startsWith('mutation') ? [] : [await gqlGet(label, { query })])];
    for (const res of sent) {
      expect([400, 200]).toContain(res.status);
      expect(res.body.errors[0].message).toBe(message);
    }
  });

  it('a variable that does not coerce is still named, with its path, and each of several is reported', async () => {
    const res = await gqlPost('two variables', {
      query: 'query($n: Int, $a: String) { secrets(first: $n, after: $a) { pageInfo { hasNextPage } } }',
      variables: { n: MARKER, a: NUMBER },
    });
    expect(res.body.errors.map((e: { message: string }) => e.message)).toEqual([
      'Variable "$n" got an invalid value: Expected a value of type "Int".',
      'Variable "$a" got an invalid value: Expected a value of type "String".',
    ]);
  });

  it("the request's own parameters: an unknown one, an unknown operationName, variables that are not JSON", async () => {
    expect((await gqlPost('unknown parameter', { query: '{ secrets { pageInfo { hasNextPage } } }', [MARKER]: 1 })).body.errors[0].message).toBe(
      'Unexpected parameter in the request body.',
    );
    expect((await gqlPost('operationName', { query: 'query A { secrets { pageInfo { hasNextPage } } }', operationName: MARKER })).body.errors[0].message).toBe(
      'Could not determine what operation to execute.',
    );
    expect((await gqlGet('variables not JSON', { query: CREATE, variables: `{${MARKER}` })).status).toBe(400);
  });

  it('broken JSON and an oversize body', async () => {
    expect((await gqlPost('broken JSON', undefined, `{"query": "${MARKER}`)).status).toBe(400);
    expect((await gqlPost('oversize', { query: CREATE, variables: { i: { name: 'A', value: MARKER.repeat(3000) } } })).status).toBe(413);
  });
});

describe('REST doors', () => {
  // Every door of the registry, each with the routes that take a value: a new door is refused by the compiler until it is here.
  const routes: Record<RestDoorSlug, { door: string; path: string; method: string; headers: Record<string, () => string> }[]> = {
    langwatch: [{ door: 'LangWatch', path: '/api/secrets', method: 'POST', headers: { 'x-auth-token': () => apiKey } }],
    together: [{ door: 'Together', path: '/v1/deployments/secrets', method: 'POST', headers: { authorization: () => `Bearer ${apiKey}` } }],
    'user-secrets-v1': [
      { door: 'v1', path: '/api/v1/user/secrets', method: 'POST', headers: { 'x-api-key': () => apiKey } },
      { door: 'v1 preset', path: '/api/v1/user/secrets/preset', method: 'POST', headers: { 'x-api-key': () => apiKey } },
    ],
    openhands: [
      { door: 'OpenHands V0', path: '/api/secrets', method: 'POST', headers: { 'x-session-api-key': () => apiKey } },
      { door: 'OpenHands V1', path: '/api/v1/secrets', method: 'POST', headers: { 'x-session-api-key': () => apiKey } },
    ],
  };
  const doors = REST_DOOR_SLUGS.flatMap((slug) => routes[slug]);
  const bodies: [string, string][] = [
    ['a value of the wrong type', JSON.stringify({ name: 'OK_NAME', value: NUMBER })],
    ['an object for the value', JSON.stringify({ name: 'OK_NAME', value: { x: MARKER } })],
    ['a value too long', JSON.stringify({ name: 'OK_NAME', value: `${MARKER}-`.repeat(1200) })],
    ['no name, a bad provider and description', JSON.stringify({ value: MARKER, provider: NUMBER, description: { MARKER } })],
    ['a broken body', `{"name": "OK_NAME", "value": "${MARKER}`],
    ['a body that is not JSON', `name=OK_NAME&value=${MARKER}`],
    ['an oversize body', JSON.stringify({ name: 'OK_NAME', value: MARKER.repeat(3000) })],
    ["a name that breaks every door's rule, with a value", JSON.stringify({ name: 'bad\nname', value: MARKER, provider: 'nope' })],
  ];
  it.each(doors)('$door: every broken body gets a 4xx and stores nothing', async ({ door, path, method, headers }) => {
    const before = await app.storedCounts();
    for (const [label, body] of bodies) {
      const h = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v()]));
      const res = await send(`${door}: ${label}`, path, { method, headers: { ...h, 'content-type': 'application/json' }, body });
      expect([door, label, res.status >= 400 && res.status < 500]).toEqual([door, label, true]);
    }
    expect(await app.storedCounts()).toEqual(before);
  });

  it('query strings and headers: versions, reveal, If-Match and Idempotency-Key', async () => {
    const made = await send('create', '/api/secrets', {
      method: 'POST',
      headers: { 'x-auth-token': apiKey },
      body: JSON.stringify({ name: 'QS_SECRET', value: 'qs-value' }),
    });
    const id = made.body.id;
    const h = { 'x-auth-token': apiKey };
    expect((await send('before', `/api/secrets/${id}/versions?before=${MARKER}`, { headers: h })).status).toBe(422);
    expect((await send('version', `/api/secrets/${id}/value?version=${MARKER}`, { headers: h })).status).toBe(422);
    expect((await send('search', `/api/v1/secrets/search?limit=${MARKER}`, { headers: { 'x-session-api-key': apiKey } })).status).toBe(422);
    expect(
      (await send('if-match', `/api/secrets/${id}`, { method: 'PUT', headers: { ...h, 'if-match': `"${MARKER}"` }, body: JSON.stringify({ value: 'x' }) }))
        .status,
    ).toBe(412);
    expect(
      (
        await send('idempotency', '/api/secrets', {
          method: 'POST',
          headers: { ...h, 'idempotency-key': `${MARKER} with spaces` },
          body: JSON.stringify({ name: 'IDEM', value: 'v' }),
        })
      ).status,
    ).toBe(422);
    expect((await send('bad key', '/api/secrets', { headers: { 'x-auth-token': `sk-lw-${MARKER}${'a'.repeat(30)}` } })).status).toBe(401);
    expect(
      (
        await send('bad bearer', '/graphql', {
          method: 'POST',
          headers: { authorization: `Bearer ${MARKER}`, 'content-type': 'application/json' },
          body: '{"query":"{ secrets { pageInfo { hasNextPage } } }"}',
        })
      ).status,
    ).toBe(401);
  });
});

describe('every kind of refusal, with the marker in what was refused', () => {
  // Each door's create, update and credentials, for the refusals that need a
  // secret to exist first.
  const h = {
    langwatch: () => ({ 'x-auth-token': apiKey, 'content-type': 'application/json' }),
    together: () => ({ authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }),
    v1: () => ({ 'x-api-key': apiKey, 'content-type': 'application/json' }),
    openhands: () => ({ 'x-session-api-key': apiKey, 'content-type': 'application/json' }),
  };
  const json = (body: unknown) => JSON.stringify(body);
  let n = 0;
  const fresh = async (door: keyof typeof h, path: string) => {
    const name = `REFUSED_${++n}`;
    const made = await send(`${door}: seed`, path, { method: 'POST', headers: h[door](), body: json({ name, value: 'plain' }) });
    expect(made.status).toBeLessThan(300);
    return { id: made.body.id as string, name };
  };

  it('412: a stale If-Match, the new value carrying the marker, on every door that takes If-Match', async () => {
    const cases: [string, keyof typeof h, string, string, (s: { id: string; name: string }) => string, unknown][] = [
      ['LangWatch', 'langwatch', '/api/secrets', 'PUT', (s) => `/api/secrets/${s.id}`, { value: MARKER }],
      ['Together', 'together', '/v1/deployments/secrets', 'PATCH', (s) => `/v1/deployments/secrets/${s.id}`, { value: MARKER }],
      ['v1', 'v1', '/api/v1/user/secrets', 'PUT', (s) => `/api/v1/user/secrets/${s.id}`, { value: MARKER }],
      ['OpenHands', 'openhands', '/api/v1/user/secrets', 'PUT', (s) => `/api/secrets/${s.name}`, { name: MARKER, description: MARKER }],
    ];
    for (const [door, creds, createPath, method, at, body] of cases) {
      const secret = await fresh(creds === 'openhands' ? 'v1' : creds, createPath);
      const res = await send(`${door}: 412`, at(secret), { method, headers: { ...h[creds](), 'if-match': '"9"' }, body: json(body) });
      expect([door, res.status]).toEqual([door, 412]);
    }
  });

  it('422 idempotency_key_reused: the key replayed with the marker as the value', async () => {
    const cases: [string, keyof typeof h, string][] = [
      ['LangWatch', 'langwatch', '/api/secrets'],
      ['Together', 'together', '/v1/deployments/secrets'],
      ['v1', 'v1', '/api/v1/user/secrets'],
    ];
    for (const [door, creds, path] of cases) {
      const headers = { ...h[creds](), 'idempotency-key': `reuse-${door}` };
      const first = await send(`${door}: first`, path, { method: 'POST', headers, body: json({ name: `IDEM_${door.toUpperCase()}`, value: 'plain' }) });
      expect(first.status).toBeLessThan(300);
      const reused = await send(`${door}: reused`, path, { method: 'POST', headers, body: json({ name: `IDEM_${door.toUpperCase()}`, value: MARKER }) });
      expect([door, reused.status, reused.text]).toEqual([
        door,
        door === 'Together' ? 400 : 422,
        expect.stringContaining(door === 'Together' ? 'invalid_request_error' : 'idempotency_key_reused'),
      ]);
    }
  });

  it("the v1 door's errors[] items name the field and the rule, not the value", async () => {
    const res = await send('v1: errors[]', '/api/v1/user/secrets', {
      method: 'POST',
      headers: h.v1(),
      body: json({ name: MARKER.toLowerCase(), value: { MARKER }, provider: MARKER }),
    });
    expect(res.status).toBe(422);
    expect(res.body.errors.length).toBeGreaterThan(0);
    for (const item of res.body.errors) expect(Object.keys(item).sort()).toEqual(['loc', 'msg', 'type']);
  });

  it('OpenHands: 400 for a taken name and 404 for an unknown one, each sent with the marker', async () => {
    const taken = await fresh('v1', '/api/v1/user/secrets');
    const dup = await send('OpenHands: 400', '/api/secrets', {
      method: 'POST',
      headers: h.openhands(),
      body: json({ name: taken.name, value: MARKER, description: MARKER }),
    });
    expect(dup.status).toBe(400);
    const missing = await send('OpenHands: 404', '/api/secrets/NO_SUCH_NAME', {
      method: 'PUT',
      headers: h.openhands(),
      body: json({ name: 'NO_SUCH_NAME', description: MARKER }),
    });
    expect(missing.status).toBe(404);
  });

  it("429 and the quota's 422, on a node with a limit of 3 requests a minute and 1 secret", async () => {
    const limited = await startTestApp({ rateLimitPerMinute: 3, limits: { projectSecretLimit: 1 } });
    try {
      const { apiKey: key } = await limited.createProject('limited');
      const post = async (label: string) => {
        const res = await fetch(`${limited.baseUrl}/api/secrets`, {
          method: 'POST',
          headers: { 'x-auth-token': key, 'content-type': 'application/json' },
          body: json({ name: label, value: MARKER }),
        });
        const text = await res.text();
        seen.push({ label, status: res.status, text: `${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${text}` });
        return res.status;
      };
      expect([await post('FIRST'), await post('OVER_QUOTA'), await post('THIRD'), await post('RATE_LIMITED')]).toEqual([201, 422, 422, 429]);
      expect(limited.logs.filter((line) => line.includes(MARKER))).toEqual([]);
    } finally {
      await limited.close();
    }
  });
});

describe('after every request above', () => {
  it('no answer was a 5xx, and no answer or log line holds the marker', () => {
    expect(seen.length).toBeGreaterThan(60);
    console.log(`hostile run: ${seen.length} requests, ${seen.filter((s) => s.status >= 500).length} answered 5xx, ${app.logs.length} log lines searched`);
    expect(seen.filter((s) => s.status >= 500).map((s) => `${s.label}: ${s.status}`)).toEqual([]);
    for (const needle of [MARKER, String(NUMBER)]) {
      expect(seen.filter((s) => s.text.includes(needle)).map((s) => `${s.label}: ${s.text.slice(-300)}`)).toEqual([]);
      expect(app.logs.filter((line) => line.includes(needle))).toEqual([]);
    }
  });
});
