// Each scope allowed and refused, on each door and in GraphQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { doorClient } from '../helpers/doors.ts';

let app: TestApp;
let admin: string;
const ALL = ['secrets:read', 'secrets:write', 'secrets:reveal', 'keys:manage'];

beforeAll(async () => {
  app = await startTestApp();
  admin = (await app.createProject('matrix')).apiKey;
});
afterAll(() => app.close());

async function keyWith(scopes: string[]) {
  const res = await graphql(
    app.baseUrl,
    'mutation($s: [String!]!) { createApiKey(input: {name: "m", scopes: $s}) { ... on CreateApiKeySuccess { key } } }',
    { s: scopes },
    { apiKey: admin },
  );
  return res.body.data.createApiKey.key as string;
}

let n = 0;
async function freshSecret() {
  const name = `MATRIX_${++n}`;
  const res = await request(app.baseUrl, 'POST', '/api/secrets', { apiKey: admin, body: { name, value: 'v' } });
  return { id: res.body.id as string, name };
}

// Each call answers 'allowed' only when the operation succeeded (200, or the
// success type in GraphQL), 'forbidden' only for a scope refusal; anything
// else (a 404, a validation error) fails the test.
type Outcome = 'allowed' | 'forbidden' | `other: ${string}`;
type Call = (key: string) => Promise<Outcome>;
const http = async (pending: Promise<{ status: number; body: any }>): Promise<Outcome> => {
  const { status, body } = await pending;
  if (status === 200) return 'allowed';
  if (status === 403) return 'forbidden';
  return `other: ${status} ${JSON.stringify(body)}`;
};
const gqlCall = async (key: string, query: string, variables: Record<string, unknown>, field: string, success: string): Promise<Outcome> => {
  const res = await graphql(app.baseUrl, query, variables, { apiKey: key });
  if (res.body.errors?.length === 1 && res.body.errors[0]?.extensions?.code === 'FORBIDDEN') return 'forbidden';
  if (res.body.errors) return `other: ${JSON.stringify(res.body.errors)}`;
  const type = res.body.data?.[field]?.__typename;
  if (type === 'ForbiddenError') return 'forbidden';
  return type === success ? 'allowed' : `other: ${JSON.stringify(res.body.data)}`;
};

const MATRIX: [string, string, Call][] = [
  ['secrets:read', 'LangWatch GET', async (k) => http(request(app.baseUrl, 'GET', `/api/secrets/${(await freshSecret()).id}`, { apiKey: k }))],
  ['secrets:read', 'Together GET', async (k) => http(doorClient(app.baseUrl, k, 'bearer')('GET', `/v1/deployments/secrets/${(await freshSecret()).id}`))],
  ['secrets:read', 'v1 GET', async (k) => http(doorClient(app.baseUrl, k, 'bearer')('GET', `/api/v1/user/secrets/${(await freshSecret()).id}`))],
  [
    'secrets:read',
    'GraphQL secret',
    async (k) => gqlCall(k, 'query($id: ID!) { secret(id: $id) { __typename id } }', { id: (await freshSecret()).id }, 'secret', 'Secret'),
  ],
  [
    'secrets:write',
    'LangWatch PUT',
    async (k) => http(request(app.baseUrl, 'PUT', `/api/secrets/${(await freshSecret()).id}`, { apiKey: k, body: { value: 'w' } })),
  ],
  [
    'secrets:write',
    'Together PATCH',
    async (k) => http(doorClient(app.baseUrl, k, 'bearer')('PATCH', `/v1/deployments/secrets/${(await freshSecret()).id}`, { body: { value: 'w' } })),
  ],
  [
    'secrets:write',
    'v1 PUT',
    async (k) => http(doorClient(app.baseUrl, k, 'bearer')('PUT', `/api/v1/user/secrets/${(await freshSecret()).id}`, { body: { value: 'w' } })),
  ],
  [
    'secrets:write',
    'OpenHands PUT',
    async (k) => {
      const s = await freshSecret();
      return http(doorClient(app.baseUrl, k, 'x-session-api-key')('PUT', `/api/secrets/${s.name}`, { body: { name: s.name, description: 'd' } }));
    },
  ],
  [
    'secrets:write',
    'GraphQL updateSecret',
    async (k) =>
      gqlCall(
        k,
        'mutation($id: ID!) { updateSecret(id: $id, input: {value: "w"}) { __typename } }',
        { id: (await freshSecret()).id },
        'updateSecret',
        'UpdateSecretSuccess',
      ),
  ],
  ['secrets:reveal', 'REST value', async (k) => http(request(app.baseUrl, 'GET', `/api/secrets/${(await freshSecret()).id}/value`, { apiKey: k }))],
  ['secrets:reveal', 'REST values', async (k) => http(request(app.baseUrl, 'GET', '/api/secrets/values', { apiKey: k }))],
  [
    'secrets:reveal',
    'GraphQL revealSecret',
    async (k) =>
      gqlCall(k, 'query($id: ID!) { revealSecret(id: $id) { __typename } }', { id: (await freshSecret()).id }, 'revealSecret', 'RevealSecretSuccess'),
  ],
  ['keys:manage', 'GraphQL apiKeys', async (k) => gqlCall(k, '{ apiKeys { __typename edges { cursor } } }', {}, 'apiKeys', 'ApiKeyConnection')],
  [
    'keys:manage',
    'GraphQL createApiKey',
    async (k) => gqlCall(k, 'mutation { createApiKey(input: {name: "x", scopes: ["keys:manage"]}) { __typename } }', {}, 'createApiKey', 'CreateApiKeySuccess'),
  ],
];

describe('scope matrix', () => {
  it.each(MATRIX)('%s: %s is allowed with the scope alone and refused with every other scope', async (scope, _label, call) => {
    expect(await call(await keyWith([scope]))).toBe('allowed');
    expect(await call(await keyWith(ALL.filter((s) => s !== scope)))).toBe('forbidden');
  });
});
