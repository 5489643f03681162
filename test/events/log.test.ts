// The change-event log on the real engine: numbers without gap or double
// under writers on two nodes at once (the unique _id decides), an expiry's
// event, and the retention sweep, which never forgets a project's newest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { graphql, request } from '../helpers/http.ts';

const DAY = 86_400_000;
let clock = Date.parse('2026-06-01T00:00:00Z');
let nodeA: TestApp;
let nodeB: TestApp;
let apiKey: string;
let projectId: string;

beforeAll(async () => {
  nodeA = await startTestApp({ now: () => new Date(clock) });
  nodeB = await startTestApp({ now: () => new Date(clock), dbName: nodeA.connection.name, masterKey: nodeA.masterKey });
  ({ apiKey, id: projectId } = await nodeA.createProject('event-log'));
});
afterAll(async () => {
  await nodeB.close({ keepDatabase: true });
  await nodeA.close();
});

const eventsOf = async (app: TestApp) =>
  (await app.models.SecretEvent.find({ projectId }).sort({ seq: 1 }).lean()) as unknown as { _id: string; seq: number; type: string; secretName: string; version: number; actorKeyId: string | null }[];

describe('the event log', () => {
  it('numbers concurrent changes on two nodes 1..n: no gap, none twice, one event per acknowledged change', async () => {
    const writes = Array.from({ length: 40 }, (_, i) =>
      request((i % 2 ? nodeA : nodeB).baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: `CONCURRENT_${i}`, value: 'v' } }));
    const answers = await Promise.all(writes);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 201));
    const events = await eventsOf(nodeA);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(events.map((e) => e._id)).toEqual(events.map((e) => `${projectId}:${e.seq}`));
    expect(new Set(events.map((e) => e.secretName)).size).toBe(40);
  });

  it('records an expiry as an "expired" event with no actor', async () => {
    const made = await graphql(nodeA.baseUrl, 'mutation($at: DateTime) { createSecret(input: {name: "EXPIRES", value: "v", expiresAt: $at}) { __typename } }', { at: new Date(clock + 1_000).toISOString() }, { apiKey });
    expect(made.body.data.createSecret.__typename).toBe('CreateSecretSuccess');
    clock += 2_000;
    await nodeA.secrets.sweep();
    const last = (await eventsOf(nodeA)).at(-1)!;
    expect(last).toMatchObject({ type: 'expired', secretName: 'EXPIRES', version: 1, actorKeyId: null });
  });

  it('sweeps events past the retention but the newest, so that numbers go on from it', async () => {
    const before = await eventsOf(nodeA);
    clock += 8 * DAY;
    await nodeA.eventLog.sweep(7 * DAY);
    const kept = await eventsOf(nodeA);
    expect(kept.map((e) => e.seq)).toEqual([before.at(-1)!.seq]);
    expect((await request(nodeB.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'AFTER_SWEEP', value: 'v' } })).status).toBe(201);
    expect((await eventsOf(nodeA)).map((e) => e.seq)).toEqual([before.at(-1)!.seq, before.at(-1)!.seq + 1]);
  });
});
