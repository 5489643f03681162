// The change-event log: every committed change of a secret, in order, per
// project, with no gap, and never a value. Each event is numbered 1, 2, 3…
// in its project; the insert of "<projectId>:<n>" under the unique _id
// decides which change gets n, on MongoDB and FerretDB alike. A node asks for
// n only when it knows n - 1 exists (it wrote or read it), so whoever sees n
// has n - 1 before it: a follower that reads the next number by _id misses
// nothing, and two nodes never give one number to two changes.
//
// Every command is a lookup or an insert by _id, however long the history:
// - a node never collides with itself: the appends of one project wait in
//   one queue, and those waiting are numbered together and stored by one
//   ordered insert (which stops at the first number already taken);
// - a number taken by another node is passed by probing the next numbers
//   by _id (1, 2, 4… ahead, then halving back to the newest);
// - a node that knows nothing of a project starts from its head document
//   (read by _id, moved every HEAD_EVERY events) and probes forward.
import type { Collection } from 'mongodb';
import { Types } from 'mongoose';
import type { Models } from '../db/models/index.ts';
import type { SecretEventDoc, SecretEventHeadDoc } from '../db/models/secret-event.ts';
import type { EventType } from './types.ts';

export { EVENT_TYPES, type EventType } from './types.ts';

export interface SecretEvent {
  /** "<projectId>:<seq>": a cursor to resume after. */
  readonly id: string;
  readonly projectId: string;
  readonly seq: number;
  readonly type: EventType;
  readonly environment: string;
  readonly secret: { readonly id: string; readonly name: string; readonly version: number };
  /** The secret's name before this change, when it renamed it. */
  readonly previousName?: string | undefined;
  readonly at: Date;
  /** The API key that made the change; null for what the service did itself (an expiry). */
  readonly actorKeyId: string | null;
}

export type EventDraft = Omit<SecretEvent, 'id' | 'seq' | 'at'>;

/** "<projectId>:<seq>"; a webhook's deliveries are numbered the same way under the webhook's id. */
export const eventIdOf = (projectId: string, seq: number) => `${projectId}:${seq}`;

/** The sequence number of an id made by eventIdOf under this owner; undefined when it is not one. */
export function seqOfEventId(projectId: string, id: string): number | undefined {
  const match = /^([0-9a-f]{24}):(\d{1,15})$/.exec(id);
  return match && match[1] === projectId ? Number(match[2]) : undefined;
}

const toEvent = (doc: SecretEventDoc): SecretEvent => ({
  id: doc._id,
  projectId: doc.projectId.toHexString(),
  seq: doc.seq,
  type: doc.type as EventType,
  environment: doc.environment,
  secret: { id: doc.secretId.toHexString(), name: doc.secretName, version: doc.version },
  ...(doc.previousName === undefined ? {} : { previousName: doc.previousName }),
  at: doc.at,
  actorKeyId: doc.actorKeyId,
});

/**
 * How long a node trusts the newest number it knows of a project (far below
 * any retention: the sweep deletes old events, and a number known from long
 * ago could point below a swept one, whose number an insert would then take again).
 */
const KNOWN_FOR_MS = 10_000;

/** How many waiting appends one insert stores at most. */
const BATCH = 100;

/** The head moves on every HEAD_EVERY events: one write per so many, and a cold start probes at most about 2·log2 of it. */
export const HEAD_EVERY = 128;

/** How often one append tries for a number before giving up (each miss means another node took it). */
const APPEND_ATTEMPTS = 50;

interface Waiting {
  readonly draft: EventDraft;
  resolve(event: SecretEvent): void;
  reject(err: unknown): void;
}

interface ProjectState {
  /** A number known to exist (0: none), and when it was learnt, on this node's clock. */
  known: number;
  knownAt: number;
  readonly queue: Waiting[];
  flushing: boolean;
}

/** How many documents of an ordered insert were stored before it stopped at a number already taken; rethrows anything else. */
function storedBefore(err: unknown, count: number): number {
  const writeErrors = (err as { writeErrors?: unknown }).writeErrors;
  const list = (Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : []) as { index?: number; code?: number }[];
  if (list.length === 0 || list.some((e) => e.code !== 11000 || typeof e.index !== 'number')) throw err;
  return Math.min(count, ...list.map((e) => e.index!));
}

export function createEventLog(deps: { models: Pick<Models, 'SecretEvent' | 'SecretEventHead'>; now?: () => Date }) {
  const events = deps.models.SecretEvent.collection as unknown as Collection<SecretEventDoc>;
  const heads = deps.models.SecretEventHead.collection as unknown as Collection<SecretEventHeadDoc>;
  const now = deps.now ?? (() => new Date());
  const projects = new Map<string, ProjectState>();
  const listeners = new Set<(projectId: string) => void>();

  const stateOf = (projectId: string): ProjectState => {
    let state = projects.get(projectId);
    if (!state) {
      state = { known: 0, knownAt: Number.NEGATIVE_INFINITY, queue: [], flushing: false };
      projects.set(projectId, state);
    }
    return state;
  };
  /** Learns that `seq` exists. */
  const learn = (state: ProjectState, seq: number) => {
    state.known = Math.max(state.known, seq);
    state.knownAt = now().getTime();
  };

  const exists = async (projectId: string, seq: number) => (await events.findOne({ _id: eventIdOf(projectId, seq) }, { projection: { _id: 1 } })) !== null;

  /**
   * The newest number, from one known to exist (0 stands for "before the
   * first"): probes 1, 2, 4… ahead by _id until one is missing, then halves
   * the gap back. Numbers are taken without gaps, so every number up to the
   * newest exists and none after it does.
   */
  async function newestFrom(projectId: string, known: number): Promise<number> {
    let low = known;
    let step = 1;
    while (await exists(projectId, low + step)) {
      low += step;
      step *= 2;
    }
    let high = low + step; // missing
    while (high - low > 1) {
      const mid = low + Math.floor((high - low) / 2);
      if (await exists(projectId, mid)) low = mid;
      else high = mid;
    }
    return low;
  }

  /** The sorted query for the newest number: only for a project that has events but no head (the sweep, on data from before heads). */
  async function newestByQuery(projectId: Types.ObjectId): Promise<number> {
    const doc = await events.findOne({ projectId }, { sort: { seq: -1 }, projection: { seq: 1 } });
    return doc?.seq ?? 0;
  }

  /** Moves the head on to `seq` (an event that exists); a head never moves back. */
  async function moveHead(projectId: string, seq: number): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await heads.updateOne({ _id: projectId }, { $max: { seq } }, { upsert: true });
        return;
      } catch (err) {
        // Two first heads at once: one inserts, the other moves it.
        if ((err as { code?: unknown }).code !== 11000 || attempt > 0) throw err;
      }
    }
  }

  /**
   * Where an append starts: the newest number this node knows, while fresh
   * (an insert that collides probes on from it); else the newest, from the head.
   */
  async function startOf(projectId: string): Promise<number> {
    const state = stateOf(projectId);
    return now().getTime() - state.knownAt < KNOWN_FOR_MS ? state.known : newest(projectId);
  }

  /** The newest number of the project (0: none yet): probed forward from what this node knows while fresh, else from the head. */
  async function newest(projectId: string): Promise<number> {
    const state = stateOf(projectId);
    const from = now().getTime() - state.knownAt < KNOWN_FOR_MS ? state.known : ((await heads.findOne({ _id: projectId }))?.seq ?? 0);
    const seq = await newestFrom(projectId, from);
    learn(state, seq);
    return seq;
  }

  const docOf = (draft: EventDraft, seq: number, at: Date): SecretEventDoc => ({
    _id: eventIdOf(draft.projectId, seq),
    projectId: new Types.ObjectId(draft.projectId),
    seq,
    type: draft.type,
    environment: draft.environment,
    secretId: new Types.ObjectId(draft.secret.id),
    secretName: draft.secret.name,
    version: draft.secret.version,
    ...(draft.previousName === undefined ? {} : { previousName: draft.previousName }),
    at,
    actorKeyId: draft.actorKeyId,
  });

  /** Numbers and stores the waiting appends, in order, by as few ordered inserts as other nodes allow. */
  async function store(projectId: string, state: ProjectState, batch: Waiting[]): Promise<void> {
    let waiting = batch;
    let base = await startOf(projectId);
    for (let attempt = 0; waiting.length > 0 && attempt < APPEND_ATTEMPTS; attempt++) {
      const at = now();
      const docs = waiting.map((w, i) => docOf(w.draft, base + 1 + i, at));
      let stored = docs.length;
      try {
        await events.insertMany(docs, { ordered: true });
      } catch (err) {
        stored = storedBefore(err, docs.length);
      }
      docs.slice(0, stored).forEach((doc, i) => waiting[i]!.resolve(toEvent(doc)));
      waiting = waiting.slice(stored);
      if (stored > 0) {
        const before = state.known;
        learn(state, base + stored);
        for (const listener of listeners) listener(projectId);
        if (Math.floor(state.known / HEAD_EVERY) > Math.floor(before / HEAD_EVERY)) await moveHead(projectId, state.known);
      }
      // The next number was another node's: pass it, and whatever that node wrote after it.
      base = waiting.length === 0 ? base + stored : await newestFrom(projectId, base + stored + 1);
      if (waiting.length > 0) learn(state, base);
    }
    if (waiting.length > 0) throw new Error(`could not number an event of project ${projectId} in ${APPEND_ATTEMPTS} tries`);
  }

  async function flush(projectId: string, state: ProjectState): Promise<void> {
    state.flushing = true;
    try {
      while (state.queue.length > 0) {
        const batch = state.queue.splice(0, BATCH);
        try {
          await store(projectId, state, batch);
        } catch (err) {
          // What this node knows of the project may be wrong now (an insert whose answer was lost): it asks again.
          state.knownAt = Number.NEGATIVE_INFINITY;
          for (const waiting of batch) waiting.reject(err);
        }
      }
    } finally {
      state.flushing = false;
    }
  }

  return {
    /** Records an event under the next number of its project; resolves once it is stored. */
    append(draft: EventDraft): Promise<SecretEvent> {
      const state = stateOf(draft.projectId);
      return new Promise<SecretEvent>((resolve, reject) => {
        state.queue.push({ draft, resolve, reject });
        if (!state.flushing) void flush(draft.projectId, state);
      });
    },

    /** The event numbered `seq`, or null when there is none (yet). One lookup by _id. */
    async at(projectId: string, seq: number): Promise<SecretEvent | null> {
      const doc = await events.findOne({ _id: eventIdOf(projectId, seq) });
      if (doc) learn(stateOf(projectId), seq);
      return doc ? toEvent(doc) : null;
    },

    /**
     * The events numbered after `seq` among the next `limit` numbers, in
     * order: lookups by _id, side by side. Numbers the retention sweep took
     * are passed over; none at all: the caller is past the log's end, or
     * far behind its retention.
     */
    async after(projectId: string, seq: number, limit: number): Promise<SecretEvent[]> {
      const ids = Array.from({ length: limit }, (_, i) => eventIdOf(projectId, seq + 1 + i));
      const docs = await Promise.all(ids.map((_id) => events.findOne({ _id })));
      return docs.filter((doc): doc is SecretEventDoc => doc !== null).map(toEvent);
    },

    /**
     * The events of one environment after the moment `after`, oldest first,
     * at most `max` (one more tells the caller there are more): what an
     * environment's past is rebuilt from, not a request's hot path.
     */
    async since(projectId: string, environment: string, after: Date, max: number): Promise<SecretEvent[]> {
      const docs = await events
        .find({ projectId: new Types.ObjectId(projectId), environment, at: { $gt: after } })
        .sort({ seq: 1 })
        .limit(max + 1)
        .toArray();
      return docs.map(toEvent);
    },

    /** The newest number of the project (0: none yet), without a scan. */
    newest,

    /** Told the project of each event this node appends (a follower here reads it at once). */
    onAppend(listener: (projectId: string) => void): () => void {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },

    /**
     * Forgets events older than the retention, but never the head's nor any
     * after it, which carry the count on: numbers are never given twice (a
     * node trusts what it knows of a project's numbers for 10 s only, so
     * this holds while the nodes' clocks are less than the retention apart).
     * A project with old events and no head (from before heads) gets one.
     */
    async sweep(retentionMs: number): Promise<void> {
      const before = new Date(now().getTime() - retentionMs);
      const owners = await events.distinct('projectId', { at: { $lt: before } });
      for (const projectId of owners) {
        const id = projectId.toHexString();
        let head = (await heads.findOne({ _id: id }))?.seq;
        if (head === undefined) {
          head = await newestByQuery(projectId);
          await moveHead(id, head);
        }
        await events.deleteMany({ projectId, at: { $lt: before }, seq: { $lt: head } });
      }
    },

    /**
     * Start-up: every project with events gets a head, once (a marker says
     * it was done), so that no node starts below a swept number.
     */
    async migrateHeads(): Promise<void> {
      const MARK = 'heads-written';
      if (await heads.findOne({ _id: MARK })) return;
      for (const projectId of await events.distinct('projectId')) {
        await moveHead(projectId.toHexString(), await newestByQuery(projectId));
      }
      await heads.updateOne({ _id: MARK }, { $set: { seq: 0 } }, { upsert: true }).catch(() => {});
    },
  };
}

export type EventLog = ReturnType<typeof createEventLog>;
