// A restore and a purge of one deleted secret: one wins, never both. A
// restore after the recovery window is refused; a purge takes only what is
// still deleted and due; no acknowledged restore is lost. Two nodes on one
// database: one whose clock is just inside the window restores, the other,
// just past it, sweeps, at the same time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const WINDOW = 3_600_000;
const start = Date.parse('2032-03-01T00:00:00Z');
let restorerClock = start;
let sweeperClock = start;
let restorer: TestApp;
let sweeper: TestApp;
let apiKey: string;

beforeAll(async () => {
  restorer = await startTestApp({ now: () => new Date(restorerClock), limits: { recoveryWindowMs: WINDOW } });
  sweeper = await startTestApp({
    now: () => new Date(sweeperClock),
    limits: { recoveryWindowMs: WINDOW },
    dbName: restorer.connection.name,
    masterKey: restorer.masterKey,
  });
  ({ apiKey } = await restorer.createProject('fates'));
});
afterAll(async () => {
  await sweeper.close({ keepDatabase: true });
  await restorer.close();
});

async function deletedSecrets(prefix: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const made = await request(restorer.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: `${prefix}_${i}`, value: `value-${i}` } });
    expect(made.status).toBe(201);
    expect((await request(restorer.baseUrl, 'DELETE', `/api/secrets/${made.body.id}`, { apiKey })).status).toBe(200);
    ids.push(made.body.id);
  }
  return ids;
}

describe('restore against purge', () => {
  it('a deleted secret tells until when it can be restored: its deletion plus the recovery window; a live one, null', async () => {
    restorerClock = start;
    const [id] = await deletedSecrets('WINDOWED', 1);
    const live = await request(restorer.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'WINDOWED_LIVE', value: 'v' } });
    const res = await graphql(
      restorer.baseUrl,
      `
        query ($id: ID!) {
          deletedSecrets(first: 50) {
            edges {
              node {
                id
                deletedAt
                restorableUntil
              }
            }
          }
          secret(id: $id) {
            restorableUntil
          }
        }
      `,
      { id: live.body.id },
      { apiKey },
    );
    const node = res.body.data.deletedSecrets.edges.map((e: any) => e.node).find((n: any) => n.id === id);
    expect(node).toEqual({ id, deletedAt: new Date(start).toISOString(), restorableUntil: new Date(start + WINDOW).toISOString() });
    expect(res.body.data.secret).toEqual({ restorableUntil: null });
  });

  it('a restore once the recovery window has passed is refused (404), swept or not, and changes nothing', async () => {
    restorerClock = start;
    const [id] = await deletedSecrets('LATE', 1);
    restorerClock = start + WINDOW;
    const res = await request(restorer.baseUrl, 'POST', `/api/secrets/${id}/restore`, { apiKey });
    expect(res.status).toBe(404);
    expect(await restorer.models.Secret.findById(id).lean()).toMatchObject({ deletedAt: new Date(start) });
    expect(await restorer.models.Secret.findById(id).lean()).toMatchObject({ nameKey: `deleted/${id}`, slotKey: `deleted/${id}` });
  });

  it('racing a sweep on another node, every acknowledged restore is kept, and every other secret is purged whole', async () => {
    restorerClock = start;
    const ids = await deletedSecrets('RACE', 20);
    // Just inside the window for the restorer, just past it for the sweeper.
    restorerClock = start + WINDOW - 1;
    sweeperClock = start + WINDOW + 1;
    // Sweeps and restores spread over the same few tens of milliseconds, so
    // that each secret meets them in a different order.
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const sweeps = Promise.all(
      Array.from({ length: 6 }, async (_, n) => {
        await pause(n * 7);
        for (let i = 0; i < 5; i++) await sweeper.secrets.sweep(2);
      }),
    );
    const restores = await Promise.all(
      ids.map(async (id, i) => {
        await pause((i * 13) % 40);
        return request(restorer.baseUrl, 'POST', `/api/secrets/${id}/restore`, { apiKey });
      }),
    );
    await sweeps;
    await sweeper.secrets.sweep();

    let kept = 0;
    for (const [i, id] of ids.entries()) {
      const { status } = restores[i]!;
      expect([200, 404, 409]).toContain(status);
      const doc = await restorer.models.Secret.findById(id).lean();
      if (status === 200) {
        kept++;
        // Acknowledged: live, named, in its quota slot, and its value opens.
        expect(doc).toMatchObject({ deletedAt: null, name: `RACE_${i}` });
        expect(doc?.nameKey).toBe(`${doc?.projectId.toHexString()}/RACE_${i}`);
        expect(doc?.slotKey).toBe(`${doc?.projectId.toHexString()}/${doc?.slot}`);
        const value = await request(restorer.baseUrl, 'GET', `/api/secrets/${id}/value`, { apiKey });
        expect(value.body.value).toBe(`value-${i}`);
      } else {
        // Not restored: purged whole by the sweep that won.
        expect(doc).toBeNull();
        expect(await restorer.models.SecretVersion.countDocuments({ secretId: id })).toBe(0);
        expect(await restorer.models.SecretFate.countDocuments({ secretId: id })).toBe(0);
      }
    }
    console.log(`restore against purge: ${kept} of ${ids.length} restores acknowledged and kept, ${ids.length - kept} purged`);
  }, 60_000);
});
