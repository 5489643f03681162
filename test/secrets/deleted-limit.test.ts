// Deleted secrets are bounded: PROJECT_DELETED_LIMIT per project (the oldest
// deletion purged first), deletedSecrets comes a page at a time, and one
// sweep purges everything that is due, however much that is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const WINDOW = 86_400_000;
let clock = Date.parse('2033-05-01T00:00:00Z');
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ now: () => new Date(clock), limits: { projectDeletedLimit: 3, recoveryWindowMs: WINDOW, projectSecretLimit: 1000 } });
});
afterAll(() => app.close());

async function createAndDelete(apiKey: string, names: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const name of names) {
    const made = await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name, value: `value of ${name}` } });
    expect(made.status).toBe(201);
    clock += 1000;
    expect((await request(app.baseUrl, 'DELETE', `/api/secrets/${made.body.id}`, { apiKey })).status).toBe(200);
    ids.push(made.body.id);
  }
  return ids;
}

describe('PROJECT_DELETED_LIMIT', () => {
  it('keeps the newest deletions up to the limit and purges the oldest whole; other projects are untouched', async () => {
    const other = await app.createProject('other');
    const [otherId] = await createAndDelete(other.apiKey, ['OTHER_ONE']);
    const { apiKey } = await app.createProject('bounded');
    const ids = await createAndDelete(apiKey, ['D1', 'D2', 'D3', 'D4', 'D5']);
    for (const purged of ids.slice(0, 2)) {
      expect(await app.models.Secret.findById(purged).lean()).toBeNull();
      expect(await app.models.SecretVersion.countDocuments({ secretId: purged })).toBe(0);
    }
    for (const kept of ids.slice(2)) expect(await app.models.Secret.findById(kept).lean()).toMatchObject({ deletedAt: expect.any(Date) });
    expect(await app.models.Secret.findById(otherId).lean()).toMatchObject({ name: 'OTHER_ONE' });
  });
});

describe('deletedSecrets, a page at a time', () => {
  it('newest deletion first, with cursors; a cursor we did not make is BAD_USER_INPUT', async () => {
    const { apiKey } = await app.createProject('paged');
    const ids = await createAndDelete(apiKey, ['P1', 'P2', 'P3']);
    const page = (after?: string) =>
      graphql(
        app.baseUrl,
        'query($after: String) { deletedSecrets(first: 2, after: $after) { edges { cursor node { id name } } pageInfo { hasNextPage endCursor } } }',
        { after },
        { apiKey },
      );
    const first = (await page()).body.data.deletedSecrets;
    expect(first.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual(['P3', 'P2']);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await page(first.pageInfo.endCursor)).body.data.deletedSecrets;
    expect(second.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([ids[0]]);
    expect(second.pageInfo).toEqual({ hasNextPage: false, endCursor: second.edges[0].cursor });
    const bad = await page('bm90LWEtY3Vyc29y');
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('the sweep', () => {
  it('purges everything that is due in one run, batch after batch', async () => {
    const projects = await Promise.all(Array.from({ length: 5 }, (_, i) => app.createProject(`sweep ${i}`)));
    for (const [i, { apiKey }] of projects.entries())
      await createAndDelete(
        apiKey,
        ['S1', 'S2', 'S3'].map((n) => `${n}_${i}`),
      );
    const due = await app.models.Secret.countDocuments({ deletedAt: { $ne: null } });
    expect(due).toBeGreaterThanOrEqual(15);
    clock += WINDOW + 1;
    expect(await app.secrets.sweep(4)).toBe(due);
    expect(await app.models.Secret.countDocuments({ deletedAt: { $ne: null } })).toBe(0);
  });
});
