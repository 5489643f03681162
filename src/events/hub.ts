// Live change events on this node: one follower per project that anyone here
// listens to reads the log's next number by _id (a lookup on both engines)
// every POLL_MS, at once when this node appended one, and hands each event to
// that project's subscribers. A subscriber that resumes from a cursor reads
// what it missed from the log first, then joins the follower: no gap, no
// duplicate. Events written through another node arrive within one poll.
import { Repeater } from 'graphql-yoga';
import type { EventLog, SecretEvent } from './log.ts';

const POLL_MS = 200;
const CATCH_UP_BATCH = 100;

interface Subscriber {
  /** The number of the last event handed over (or skipped by the filter). */
  cursor: number;
  /** Still reading the log up to the follower: live events wait for that. */
  catchingUp: boolean;
  accept(event: SecretEvent): boolean;
  push(event: SecretEvent): void;
}

interface Follower {
  cursor: number;
  readonly subscribers: Set<Subscriber>;
  timer?: NodeJS.Timeout;
  polling?: Promise<void>;
  again?: boolean;
  stopped?: boolean;
}

export interface SubscribeOptions {
  /** Resume after this event number (events after it are replayed); absent: from now. */
  readonly after?: number | undefined;
  /** Which events this subscriber wants (the others only move its cursor). */
  readonly accept?: (event: SecretEvent) => boolean;
}

export function createEventHub(deps: { log: EventLog; onError?: (err: Error) => void; pollMs?: number }) {
  const { log } = deps;
  const pollMs = deps.pollMs ?? POLL_MS;
  const followers = new Map<string, Promise<Follower>>();

  function schedule(projectId: string, follower: Follower) {
    if (follower.stopped) return;
    clearTimeout(follower.timer);
    follower.timer = setTimeout(() => void poll(projectId, follower), pollMs);
    follower.timer.unref();
  }

  /** Reads every event past the follower's cursor, hands each on, and schedules the next poll. */
  async function poll(projectId: string, follower: Follower): Promise<void> {
    if (follower.polling) {
      follower.again = true;
      return follower.polling;
    }
    follower.polling = (async () => {
      do {
        follower.again = false;
        try {
          for (let event = await log.at(projectId, follower.cursor + 1); event; event = await log.at(projectId, follower.cursor + 1)) {
            follower.cursor = event.seq;
            for (const subscriber of follower.subscribers) deliver(subscriber, event);
          }
        } catch (err) {
          // The database is away: the next poll tries again, from the same number.
          deps.onError?.(err as Error);
        }
      } while (follower.again && !follower.stopped);
    })();
    try {
      await follower.polling;
    } finally {
      follower.polling = undefined;
      schedule(projectId, follower);
    }
  }

  function deliver(subscriber: Subscriber, event: SecretEvent) {
    if (subscriber.catchingUp || event.seq <= subscriber.cursor) return;
    subscriber.cursor = event.seq;
    if (subscriber.accept(event)) subscriber.push(event);
  }

  function followerOf(projectId: string): Promise<Follower> {
    let follower = followers.get(projectId);
    if (!follower) {
      follower = log.newest(projectId).then((cursor) => {
        const made: Follower = { cursor, subscribers: new Set() };
        schedule(projectId, made);
        return made;
      });
      follower.catch(() => followers.delete(projectId));
      followers.set(projectId, follower);
    }
    return follower;
  }

  // An event appended here is read at once, not at the next poll.
  log.onAppend((projectId) => {
    void followers.get(projectId)?.then((follower) => poll(projectId, follower), () => {});
  });

  async function join(projectId: string, subscriber: Subscriber, after: number | undefined): Promise<Follower> {
    const follower = await followerOf(projectId);
    if (after === undefined || after >= follower.cursor) {
      subscriber.cursor = after ?? follower.cursor;
      subscriber.catchingUp = false;
      follower.subscribers.add(subscriber);
      return follower;
    }
    subscriber.cursor = after;
    follower.subscribers.add(subscriber);
    // Read the log up to the follower; in the same tick as the last read
    // shows it caught up, live events start to count.
    for (;;) {
      const batch = await log.after(projectId, subscriber.cursor, CATCH_UP_BATCH);
      for (const event of batch) {
        subscriber.cursor = event.seq;
        if (subscriber.accept(event)) subscriber.push(event);
      }
      if (subscriber.cursor >= follower.cursor) {
        subscriber.catchingUp = false;
        return follower;
      }
      if (batch.length === 0) {
        // The follower is past events the log no longer has (retention): go on from it.
        subscriber.cursor = follower.cursor;
        subscriber.catchingUp = false;
        return follower;
      }
    }
  }

  function leave(projectId: string, follower: Follower, subscriber: Subscriber) {
    follower.subscribers.delete(subscriber);
    if (follower.subscribers.size > 0) return;
    follower.stopped = true;
    clearTimeout(follower.timer);
    followers.delete(projectId);
  }

  return {
    /** The project's events from now (or after `options.after`), until the iteration is ended. */
    subscribe(projectId: string, options: SubscribeOptions = {}): AsyncIterableIterator<SecretEvent> {
      return new Repeater<SecretEvent>(async (push, stop) => {
        const subscriber: Subscriber = { cursor: 0, catchingUp: true, accept: options.accept ?? (() => true), push: (event) => void push(event) };
        let follower: Follower | undefined;
        try {
          follower = await join(projectId, subscriber, options.after);
        } catch (err) {
          void followers.get(projectId)?.then((joined) => leave(projectId, joined, subscriber), () => {});
          stop(err as Error);
          return;
        }
        await stop;
        leave(projectId, follower, subscriber);
      });
    },

    /** Stops every follower (the node is shutting down). */
    close() {
      for (const [projectId, pending] of followers) {
        void pending.then((follower) => {
          follower.stopped = true;
          clearTimeout(follower.timer);
        }, () => {});
        followers.delete(projectId);
      }
    },
  };
}

export type EventHub = ReturnType<typeof createEventHub>;
