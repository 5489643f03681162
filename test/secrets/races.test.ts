// Races are decided by the database: an insert under a unique index.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
let apiKey: string;
beforeAll(async () => {
  app = await startTestApp();
  ({ apiKey } = await app.createProject('races'));
});
afterAll(() => app.close());

describe('20 concurrent creates of one name', () => {
  it('through REST: exactly one 201, nineteen 409, one secret and one sealed version stored', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'RACED_REST', value: `racer-${i}` } })),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const winner = responses.find((r) => r.status === 201)!.body;
    expect(await app.models.Secret.countDocuments({ name: 'RACED_REST' })).toBe(1);
    // The losers' sealed values were removed again: only the winner's remains.
    expect(await app.models.SecretVersion.countDocuments({ projectId: winner.projectId })).toBe(1);
    expect(await app.models.SecretVersion.countDocuments({ secretId: winner.id })).toBe(1);
  });

  it('through GraphQL: exactly one CreateSecretSuccess, nineteen ConflictError', async () => {
    const mutation = 'mutation($v: String!) { createSecret(input: {name: "RACED_GQL", value: $v}) { __typename } }';
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => graphql(app.baseUrl, mutation, { v: `racer-${i}` }, { apiKey })));
    const kinds = responses.map((r) => r.body.data.createSecret.__typename);
    expect(kinds.filter((k) => k === 'CreateSecretSuccess')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'ConflictError')).toHaveLength(19);
    expect(await app.models.Secret.countDocuments({ name: 'RACED_GQL' })).toBe(1);
  });
});

describe('concurrent updates of one secret', () => {
  it('all succeed, each on its own version, and the secret ends on the highest (the last 10 kept)', async () => {
    const created = await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'RACED_UPDATE', value: 'v0' } });
    const { id } = created.body;
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => request(app.baseUrl, 'PUT', `/api/secrets/${id}`, { apiKey, body: { value: `v${i + 1}` } })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    const versions = (await app.models.SecretVersion.find({ secretId: id }, { version: 1 }).lean()).map((v) => v.version).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 10 }, (_, i) => i + 2));
    expect((await app.models.Secret.findById(id).lean())?.version).toBe(11);
  });
});
