// Two service processes on one database: the service keeps no state between
// requests beyond bounded caches, so either node serves any request.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { graphql, request } from '../helpers/http.ts';
import { cleanEnv } from '../helpers/clean-env.ts';
import { type ServiceProcess, startService, waitUntil } from '../helpers/service-process.ts';

const nodes: ServiceProcess[] = [];
let a: string;
let b: string;
let apiKey: string;
const adminToken = randomBytes(24).toString('hex');
const MARKER_A = `marker-a-${randomBytes(8).toString('hex')}`;
const MARKER_B = `marker-b-${randomBytes(8).toString('hex')}`;

beforeAll(async () => {
  const uri = `${inject('mongoUri').replace(/\/[^/]*$/, '')}/two_nodes_${randomBytes(4).toString('hex')}`;
  const env = cleanEnv({
    MONGODB_URI: uri,
    SECRETS_MASTER_KEY: randomBytes(32).toString('base64'),
    ADMIN_TOKEN: adminToken,
    PORT: '0',
    LOG_FORMAT: 'json',
  });
  for (let i = 0; i < 2; i++) nodes.push(startService('node', env));
  const bases = await Promise.all(nodes.map(async (node) => (await node.waitFor(/ready on (http:\/\/127\.0\.0\.1:\d+)/))[1]!));
  [a, b] = [bases[0]!, bases[1]!];
  const project = await request(a, 'POST', '/admin/projects', { headers: { authorization: `Bearer ${adminToken}` }, body: { name: 'two nodes' } });
  apiKey = project.body.apiKey;
}, 60_000);

afterAll(async () => {
  for (const node of nodes) node.child.kill('SIGTERM');
  await Promise.all(nodes.map((node) => node.exited()));
});

describe('two API nodes, one database', () => {
  it('a secret created on one node is read, updated and deleted on the other', async () => {
    const created = await request(a, 'POST', '/api/secrets', { apiKey, body: { name: 'SHARED_NODE', value: MARKER_A } });
    expect(created.status).toBe(201);
    const { id } = created.body;
    expect((await request(b, 'GET', `/api/secrets/${id}`, { apiKey })).body.name).toBe('SHARED_NODE');
    expect((await request(b, 'PUT', `/api/secrets/${id}`, { apiKey, body: { value: MARKER_B } })).status).toBe(200);
    expect((await request(a, 'GET', `/api/secrets/${id}/value`, { apiKey })).body).toMatchObject({ version: 2, value: MARKER_B });
    expect((await request(b, 'DELETE', `/api/secrets/${id}`, { apiKey })).status).toBe(200);
    expect((await request(a, 'GET', `/api/secrets/${id}`, { apiKey })).status).toBe(404);
  });

  it('20 creates of one name split across both nodes give exactly one success', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        request(i % 2 ? a : b, 'POST', '/api/secrets', { apiKey, body: { name: 'RACED_ACROSS_NODES', value: `${MARKER_A}-${i}` } }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
  });

  it('a key revoked on one node is refused on the other once its key cache lets it go', async () => {
    const created = await graphql(
      a,
      'mutation { createApiKey(input: {name: "short-lived", scopes: ["secrets:read"]}) { ... on CreateApiKeySuccess { key apiKey { id } } } }',
      {},
      { apiKey },
    );
    const { key, apiKey: info } = created.body.data.createApiKey;
    expect((await request(b, 'GET', '/api/secrets', { apiKey: key })).status).toBe(200);
    await graphql(a, 'mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }', { id: info.id }, { apiKey });
    const statuses: number[] = [];
    expect(
      await waitUntil(async () => {
        statuses.push((await request(b, 'GET', '/api/secrets', { apiKey: key })).status);
        return statuses.at(-1) === 401;
      }),
    ).toBe(true);
    expect(statuses.slice(0, -1).filter((s) => s !== 200)).toEqual([]);
  });

  it('neither node logged a value, a key or the admin token', () => {
    expect(nodes.map((node) => node.output()).join('\n')).toMatch(/incoming request/);
    for (const node of nodes) {
      for (const secret of [MARKER_A, MARKER_B, apiKey, adminToken]) expect(node.output()).not.toContain(secret);
    }
  });
});
