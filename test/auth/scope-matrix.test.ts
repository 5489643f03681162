// Each scope allowed and refused, on each door and in GraphQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
let admin: string;
const ALL = ['secrets:read', 'secrets:write', 'secrets:reveal', 'keys:manage'];

beforeAll(async () => {
  app = await startTestApp();
  admin = (await app.createProject('matrix')).apiKey;
});
afterAll(() => app.close());

async function keyWith(scopes: string[]) {
  const res = await graphql(app.baseUrl, 'mutation($s: [String!]!) { createApiKey(input: {name: "m", scopes: $s}) { ... on CreateApiKeySuccess { key } } }', { s: scopes }, { apiKey: admin });
  return res.body.data.createApiKey.key as string;
}

let n = 0;
async function freshSecret() {
  const name = `MATRIX_${++n}`;
  const res = await request(app.baseUrl, 'POST', '/api/secrets', { apiKey: admin, body: { name, value: 'v' } });
  return { id: res.body.id as string, name };
}

type Call = (key: string) => Promise<boolean>; // true: allowed; false: refused as forbidden
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const http = async (pending: Promise<{ status: number }>) => {
  const { status } = await pending;
  if (status === 403) return false;
  expect(status).toBeLessThan(300);
  return true;
};
const gqlCall = async (key: string, query: string, variables: Record<string, unknown>, field: string) => {
  const res = await graphql(app.baseUrl, query, variables, { apiKey: key });
  const forbidden = res.body.errors?.[0]?.extensions?.code === 'FORBIDDEN' || res.body.data?.[field]?.__typename === 'ForbiddenError';
  if (!forbidden) expect(res.body.errors).toBeUndefined();
  return !forbidden;
};

const MATRIX: [string, string, Call][] = [
  ['secrets:read', 'LangWatch GET', async (k) => http(request(app.baseUrl, 'GET', `/api/secrets/${(await freshSecret()).id}`, { apiKey: k }))],
  ['secrets:read', 'Together GET', async (k) => http(request(app.baseUrl, 'GET', `/v1/deployments/secrets/${(await freshSecret()).id}`, { headers: bearer(k) }))],
  ['secrets:read', 'v1 GET', async (k) => http(request(app.baseUrl, 'GET', `/api/v1/user/secrets/${(await freshSecret()).id}`, { headers: bearer(k) }))],
  ['secrets:read', 'GraphQL secret', async (k) => gqlCall(k, 'query($id: ID!) { secret(id: $id) { id } }', { id: (await freshSecret()).id }, 'secret')],
  ['secrets:write', 'LangWatch PUT', async (k) => http(request(app.baseUrl, 'PUT', `/api/secrets/${(await freshSecret()).id}`, { apiKey: k, body: { value: 'w' } }))],
  ['secrets:write', 'Together PATCH', async (k) => http(request(app.baseUrl, 'PATCH', `/v1/deployments/secrets/${(await freshSecret()).id}`, { headers: bearer(k), body: { value: 'w' } }))],
  ['secrets:write', 'v1 PUT', async (k) => http(request(app.baseUrl, 'PUT', `/api/v1/user/secrets/${(await freshSecret()).id}`, { headers: bearer(k), body: { value: 'w' } }))],
  ['secrets:write', 'OpenHands PUT', async (k) => { const s = await freshSecret(); return http(request(app.baseUrl, 'PUT', `/api/secrets/${s.name}`, { headers: { 'x-session-api-key': k }, body: { name: s.name, description: 'd' } })); }],
  ['secrets:write', 'GraphQL updateSecret', async (k) => gqlCall(k, 'mutation($id: ID!) { updateSecret(id: $id, input: {value: "w"}) { __typename } }', { id: (await freshSecret()).id }, 'updateSecret')],
  ['secrets:reveal', 'REST value', async (k) => http(request(app.baseUrl, 'GET', `/api/secrets/${(await freshSecret()).id}/value`, { apiKey: k }))],
  ['secrets:reveal', 'REST values', async (k) => http(request(app.baseUrl, 'GET', '/api/secrets/values', { apiKey: k }))],
  ['secrets:reveal', 'GraphQL revealSecret', async (k) => gqlCall(k, 'query($id: ID!) { revealSecret(id: $id) { __typename } }', { id: (await freshSecret()).id }, 'revealSecret')],
  ['keys:manage', 'GraphQL apiKeys', async (k) => gqlCall(k, '{ apiKeys { edges { cursor } } }', {}, 'apiKeys')],
  ['keys:manage', 'GraphQL createApiKey', async (k) => gqlCall(k, 'mutation { createApiKey(input: {name: "x", scopes: ["keys:manage"]}) { __typename } }', {}, 'createApiKey')],
];

describe('scope matrix', () => {
  it.each(MATRIX)('%s: %s is allowed with the scope alone and refused with every other scope', async (scope, _label, call) => {
    expect(await call(await keyWith([scope]))).toBe(true);
    expect(await call(await keyWith(ALL.filter((s) => s !== scope)))).toBe(false);
  });
});
