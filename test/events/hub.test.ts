// The event hub on the real log: a subscriber that stops reading is ended
// alone once 1,024 events wait for it; the others of its project get every
// event; and the per-key and per-node counts free a slot when a subscription
// ends, even one never read.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TooManySubscriptionsError } from '../../src/errors/request.ts';
import { createEventHub, SubscriberBehindError } from '../../src/events/hub.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
let projectId: string;

beforeAll(async () => {
  app = await startTestApp();
  ({ id: projectId } = await app.createProject('hub'));
});
afterAll(() => app.close());

const draft = (i: number) => ({
  projectId,
  type: 'created' as const,
  environment: 'default',
  secret: { id: randomBytes(12).toString('hex'), name: `S${i}`, version: 1 },
  actorKeyId: null,
});

describe('the event hub', () => {
  it('ends a subscriber that stopped reading, alone; the others get every event', async () => {
    const hub = createEventHub({ log: app.eventLog, pollMs: 20 });
    try {
      const slow = hub.subscribe(projectId, { keyId: 'slow' });
      const fast = hub.subscribe(projectId, { keyId: 'fast' });
      // Both join the project's follower; the slow one then reads nothing more.
      const slowFirst = slow.next();
      const fastFirst = fast.next();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const count = 1100;
      const writing = Promise.all(Array.from({ length: count }, (_, i) => app.eventLog.append(draft(i))));
      const seen: number[] = [(await fastFirst).value!.seq];
      while (seen.length < count) seen.push((await fast.next()).value!.seq);
      await writing;
      expect(seen).toEqual(Array.from({ length: count }, (_, i) => seen[0]! + i));
      // The slow one got its first event, then an end: it resumes by that id.
      expect((await slowFirst).value!.seq).toBe(seen[0]);
      let ended: unknown;
      for (let i = 0; i < 2 * count && !ended; i++)
        await slow.next().then(
          (r) => r.done && (ended = 'done'),
          (err: unknown) => (ended = err),
        );
      expect(ended).toBeInstanceOf(SubscriberBehindError);
      await fast.return?.();
    } finally {
      hub.close();
    }
  });

  it('counts subscriptions per key and per node, and frees a slot when one ends, read or not', async () => {
    const hub = createEventHub({ log: app.eventLog, limits: { perKey: 2, perNode: 3 } });
    try {
      const a1 = hub.subscribe(projectId, { keyId: 'a' });
      const a2 = hub.subscribe(projectId, { keyId: 'a' });
      expect(() => hub.subscribe(projectId, { keyId: 'a' })).toThrow(
        new TooManySubscriptionsError('This API key already has 2 subscriptions open on this node (SUBSCRIPTIONS_PER_KEY_MAX): end one first'),
      );
      const b1 = hub.subscribe(projectId, { keyId: 'b' });
      expect(() => hub.subscribe(projectId, { keyId: 'c' })).toThrow(
        new TooManySubscriptionsError('This node already serves 3 subscriptions (SUBSCRIPTIONS_PER_NODE_MAX): retry later or on another node'),
      );
      // a1 was never read: ending it still counts it out, once.
      await a1.return?.();
      await a1.return?.();
      const a3 = hub.subscribe(projectId, { keyId: 'a' });
      expect(() => hub.subscribe(projectId, { keyId: 'a' })).toThrow(TooManySubscriptionsError);
      for (const sub of [a2, a3, b1]) await sub.return?.();
      expect(() => [1, 2, 3].map(() => hub.subscribe(projectId, { keyId: 'd' }))).toThrow(TooManySubscriptionsError);
    } finally {
      hub.close();
    }
  });
});
