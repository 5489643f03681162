// Live change events on this node: one follower per project that anyone here
// listens to reads the log's next number by _id (a lookup on both engines)
// every POLL_MS, at once when this node appended one, and hands each event to
// that project's subscribers. A subscriber that resumes from a cursor reads
// what it missed from the log first, then joins the follower: no gap, no
// duplicate. Events written through another node arrive within one poll.
//
// Subscriptions are capped per API key and per node (a refusal is a
// TooManySubscriptionsError), and a subscriber that stops reading ends alone
// (SubscriberBehindError) once 1,024 events wait for it; the others go on.
import { Repeater } from 'graphql-yoga';
import { TooManySubscriptionsError } from '../errors/request.ts';
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
  /** Ended for falling behind: a catch-up stops reading for it. */
  behind?: boolean;
}

interface Follower {
  cursor: number;
  readonly subscribers: Set<Subscriber>;
  timer?: NodeJS.Timeout;
  polling?: Promise<void>;
  again?: boolean;
  stopped?: boolean;
}

/** Open subscriptions allowed at once on this node. */
export interface SubscriptionLimits {
  readonly perKey: number;
  readonly perNode: number;
}

export const DEFAULT_SUBSCRIPTION_LIMITS: SubscriptionLimits = Object.freeze({ perKey: 20, perNode: 2000 });

/** A subscriber that fell this far behind (events waiting for it to read) is ended. */
export class SubscriberBehindError extends Error {
  override name = 'SubscriberBehindError';
  constructor() {
    super('This subscription fell too far behind and was ended: subscribe again with after set to the last event id received');
  }
}

export interface SubscribeOptions {
  /** Who subscribes: counted against the per-key limit. */
  readonly keyId: string;
  /** Resume after this event number (events after it are replayed); absent: from now. */
  readonly after?: number | undefined;
  /** Which events this subscriber wants (the others only move its cursor). */
  readonly accept?: (event: SecretEvent) => boolean;
}

export function createEventHub(deps: { log: EventLog; onError?: (err: Error) => void; pollMs?: number; limits?: SubscriptionLimits }) {
  const { log } = deps;
  const pollMs = deps.pollMs ?? POLL_MS;
  const limits = deps.limits ?? DEFAULT_SUBSCRIPTION_LIMITS;
  const followers = new Map<string, Promise<Follower>>();
  const openByKey = new Map<string, number>();
  let open = 0;
  /** Subscriptions that have their cursor: each is sent every event from here on. */
  let following = 0;

  /** Counts a subscription in, or refuses it; the function returned counts it out (once). */
  function admit(keyId: string): () => void {
    const byKey = openByKey.get(keyId) ?? 0;
    if (byKey >= limits.perKey)
      throw new TooManySubscriptionsError(
        `This API key already has ${limits.perKey} subscriptions open on this node (SUBSCRIPTIONS_PER_KEY_MAX): end one first`,
      );
    if (open >= limits.perNode)
      throw new TooManySubscriptionsError(
        `This node already serves ${limits.perNode} subscriptions (SUBSCRIPTIONS_PER_NODE_MAX): retry later or on another node`,
      );
    openByKey.set(keyId, byKey + 1);
    open += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      open -= 1;
      const left = (openByKey.get(keyId) ?? 1) - 1;
      if (left === 0) openByKey.delete(keyId);
      else openByKey.set(keyId, left);
    };
  }

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
    void followers.get(projectId)?.then(
      (follower) => poll(projectId, follower),
      () => {},
    );
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
      if (subscriber.cursor >= follower.cursor || subscriber.behind) {
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
    /**
     * The project's events from now (or after `options.after`), until the
     * iteration is ended. Throws TooManySubscriptionsError at once past a limit.
     */
    subscribe(projectId: string, options: SubscribeOptions): AsyncIterableIterator<SecretEvent> {
      const release = admit(options.keyId);
      const events = new Repeater<SecretEvent>(async (push, stop) => {
        const subscriber: Subscriber = {
          cursor: 0,
          catchingUp: true,
          accept: options.accept ?? (() => true),
          push: (event) => {
            // Repeater refuses a 1,025th pending push (synchronously): this subscriber ends, the others go on.
            try {
              void push(event);
            } catch {
              subscriber.behind = true;
              stop(new SubscriberBehindError());
            }
          },
        };
        let follower: Follower | undefined;
        try {
          follower = await join(projectId, subscriber, options.after);
        } catch (err) {
          void followers.get(projectId)?.then(
            (joined) => leave(projectId, joined, subscriber),
            () => {},
          );
          stop(err as Error);
          return;
        }
        following += 1;
        await stop;
        following -= 1;
        leave(projectId, follower, subscriber);
      });
      return countedOut(events, release);
    },

    /** How many subscriptions on this node have their cursor (are sent every event from now on). */
    following: () => following,

    /** Stops every follower (the node is shutting down). */
    close() {
      for (const [projectId, pending] of followers) {
        void pending.then(
          (follower) => {
            follower.stopped = true;
            clearTimeout(follower.timer);
          },
          () => {},
        );
        followers.delete(projectId);
      }
    },
  };
}

/**
 * `events`, calling `release` once when it ends: finished, failed or
 * returned, even before its first read (a Repeater that was never read
 * never runs its executor).
 */
function countedOut<T>(events: AsyncIterableIterator<T>, release: () => void): AsyncIterableIterator<T> {
  return {
    async next() {
      try {
        const result = await events.next();
        if (result.done) release();
        return result;
      } catch (err) {
        release();
        throw err;
      }
    },
    async return(value?: unknown) {
      release();
      return (await events.return?.(value)) ?? { done: true, value: undefined };
    },
    async throw(err?: unknown) {
      release();
      return events.throw ? events.throw(err) : Promise.reject(err);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

export type EventHub = ReturnType<typeof createEventHub>;
