// The change-event log on the real engine: numbers without gap or double
// under writers on two nodes at once (the unique _id decides), a cold node
// that starts from the project's head, the start-up migration of projects
// from before heads, an expiry's event, and the retention sweep, which never
// forgets the head or what follows it.
import type { CommandStartedEvent } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEAD_EVERY } from '../../src/events/log.ts';
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
  (await app.models.SecretEvent.find({ projectId }).sort({ seq: 1 }).lean()) as unknown as {
    _id: string;
    seq: number;
    type: string;
    secretName: string;
    version: number;
    actorKeyId: string | null;
  }[];

describe('the event log', () => {
  it('numbers concurrent changes on two nodes, 32 writers each, 1..n: no gap, none twice, one event per acknowledged change', async () => {
    const writes = Array.from({ length: 64 }, (_, i) =>
      request((i % 2 ? nodeA : nodeB).baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: `CONCURRENT_${i}`, value: 'v' } }),
    );
    const answers = await Promise.all(writes);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 201));
    const events = await eventsOf(nodeA);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
    expect(events.map((e) => e._id)).toEqual(events.map((e) => `${projectId}:${e.seq}`));
    expect(new Set(events.map((e) => e.secretName)).size).toBe(64);
  });

  it('a node that knows nothing of the project starts from its head and probes forward by _id, never by a query', async () => {
    // Past HEAD_EVERY events, so that the head has moved.
    const more = await Promise.all(
      Array.from({ length: HEAD_EVERY }, (_, i) =>
        request((i % 2 ? nodeA : nodeB).baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: `MORE_${i}`, value: 'v' } }),
      ),
    );
    expect(more.every((a) => a.status === 201)).toBe(true);
    const newest = (await eventsOf(nodeA)).at(-1)!.seq;
    const head = await nodeA.models.SecretEventHead.findById(projectId).lean();
    expect(head!.seq).toBeGreaterThanOrEqual(HEAD_EVERY);
    const nodeC = await startTestApp({ now: () => new Date(clock), dbName: nodeA.connection.name, masterKey: nodeA.masterKey });
    try {
      const filters: unknown[] = [];
      const listener = (e: CommandStartedEvent) => {
        if (e.commandName === 'find' && e.command.find === 'secret_events') filters.push(e.command.filter);
      };
      nodeC.connection.getClient().on('commandStarted', listener);
      expect((await request(nodeC.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'FROM_A_COLD_NODE', value: 'v' } })).status).toBe(201);
      nodeC.connection.getClient().off('commandStarted', listener);
      expect(filters.length).toBeGreaterThan(0);
      expect(filters.filter((f) => Object.keys(f as object).join() !== '_id')).toEqual([]);
      expect((await eventsOf(nodeA)).at(-1)).toMatchObject({ seq: newest + 1, secretName: 'FROM_A_COLD_NODE' });
    } finally {
      await nodeC.close({ keepDatabase: true });
    }
  });

  it('events from before heads: the start-up migration gives their project a head, so no number is given twice', async () => {
    const events = await eventsOf(nodeA);
    const newest = events.at(-1)!.seq;
    // As the old sweep left them: the first ones gone; and no head.
    await nodeA.models.SecretEvent.deleteMany({ projectId, seq: { $lte: 10 } });
    await nodeA.models.SecretEventHead.deleteMany({});
    const nodeD = await startTestApp({ now: () => new Date(clock), dbName: nodeA.connection.name, masterKey: nodeA.masterKey });
    try {
      expect((await nodeA.models.SecretEventHead.findById(projectId).lean())!.seq).toBe(newest);
      expect((await request(nodeD.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'AFTER_MIGRATION', value: 'v' } })).status).toBe(201);
      expect((await eventsOf(nodeA)).at(-1)).toMatchObject({ seq: newest + 1, secretName: 'AFTER_MIGRATION' });
    } finally {
      await nodeD.close({ keepDatabase: true });
    }
  });

  it('records an expiry as an "expired" event with no actor', async () => {
    const made = await graphql(
      nodeA.baseUrl,
      'mutation($at: DateTime) { createSecret(input: {name: "EXPIRES", value: "v", expiresAt: $at}) { __typename } }',
      { at: new Date(clock + 1_000).toISOString() },
      { apiKey },
    );
    expect(made.body.data.createSecret.__typename).toBe('CreateSecretSuccess');
    clock += 2_000;
    await nodeA.secrets.sweep();
    const last = (await eventsOf(nodeA)).at(-1)!;
    expect(last).toMatchObject({ type: 'expired', secretName: 'EXPIRES', version: 1, actorKeyId: null });
  });

  it('sweeps events past the retention but the head and those after it, so that numbers go on from them', async () => {
    const before = await eventsOf(nodeA);
    const head = (await nodeA.models.SecretEventHead.findById(projectId).lean())!.seq;
    clock += 8 * DAY;
    await nodeA.eventLog.sweep(7 * DAY);
    const kept = await eventsOf(nodeA);
    expect(kept.map((e) => e.seq)).toEqual(before.filter((e) => e.seq >= head).map((e) => e.seq));
    expect((await request(nodeB.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'AFTER_SWEEP', value: 'v' } })).status).toBe(201);
    expect((await eventsOf(nodeA)).at(-1)!.seq).toBe(before.at(-1)!.seq + 1);
  });
});
