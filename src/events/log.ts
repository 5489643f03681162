// The change-event log: every committed change of a secret, in order, per
// project, with no gap, and never a value. Each event is numbered 1, 2, 3…
// in its project; the insert of "<projectId>:<n>" under the unique _id
// decides which change gets n, on MongoDB and FerretDB alike. A node asks for
// n only when it knows n - 1 exists (it wrote or read it), so whoever sees n
// has n - 1 before it: a follower that reads the next number by _id misses
// nothing, and two nodes never give one number to two changes.
import { Types } from 'mongoose';
import { isDuplicateKeyError } from '../db/errors.ts';
import type { Models } from '../db/models/index.ts';
import type { SecretEventDoc } from '../db/models/secret-event.ts';

export const EVENT_TYPES = ['created', 'updated', 'renamed', 'described', 'deleted', 'restored', 'expired'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface SecretEvent {
  /** "<projectId>:<seq>": a cursor to resume after. */
  readonly id: string;
  readonly projectId: string;
  readonly seq: number;
  readonly type: EventType;
  readonly environment: string;
  readonly secret: { readonly id: string; readonly name: string; readonly version: number };
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
  at: doc.at,
  actorKeyId: doc.actorKeyId,
});

/** How long a node trusts the newest number it knows of a project (far below any retention). */
const KNOWN_FOR_MS = 10_000;

/** How often one append tries for a number before giving up (each miss means another node took it). */
const APPEND_ATTEMPTS = 50;

export function createEventLog(deps: { models: Pick<Models, 'SecretEvent'>; now?: () => Date }) {
  const events = deps.models.SecretEvent.collection as unknown as import('mongodb').Collection<SecretEventDoc>;
  const now = deps.now ?? (() => new Date());
  /**
   * The newest number this node wrote or read, per project, and when (by
   * this node's own clock). Trusted for KNOWN_FOR_MS only: the retention
   * sweep deletes old events, and a number known from long ago could point
   * below a swept one, whose number an insert would then take again.
   */
  const known = new Map<string, { seq: number; at: number }>();
  const knownSeq = (projectId: string) => {
    const entry = known.get(projectId);
    return entry && now().getTime() - entry.at < KNOWN_FOR_MS ? entry.seq : undefined;
  };
  const listeners = new Set<(projectId: string) => void>();

  async function latest(projectId: string): Promise<number> {
    const doc = await events.findOne({ projectId: new Types.ObjectId(projectId) }, { sort: { seq: -1 }, projection: { seq: 1 } });
    return doc?.seq ?? 0;
  }

  return {
    /** Records an event under the next number of its project; resolves once it is stored. */
    async append(draft: EventDraft): Promise<SecretEvent> {
      const { projectId } = draft;
      let seq = (knownSeq(projectId) ?? (await latest(projectId))) + 1;
      for (let attempt = 0; attempt < APPEND_ATTEMPTS; attempt++) {
        const doc: SecretEventDoc = {
          _id: eventIdOf(projectId, seq),
          projectId: new Types.ObjectId(projectId),
          seq,
          type: draft.type,
          environment: draft.environment,
          secretId: new Types.ObjectId(draft.secret.id),
          secretName: draft.secret.name,
          version: draft.secret.version,
          at: now(),
          actorKeyId: draft.actorKeyId,
        };
        try {
          await events.insertOne(doc);
        } catch (err) {
          if (!isDuplicateKeyError(err)) throw err;
          // Another node took this number: ask for the newest.
          seq = Math.max(seq, await latest(projectId)) + 1;
          continue;
        }
        known.set(projectId, { seq: Math.max(knownSeq(projectId) ?? 0, seq), at: now().getTime() });
        for (const listener of listeners) listener(projectId);
        return toEvent(doc);
      }
      throw new Error(`could not number an event of project ${projectId} in ${APPEND_ATTEMPTS} tries`);
    },

    /** The event numbered `seq`, or null when there is none (yet). One lookup by _id. */
    async at(projectId: string, seq: number): Promise<SecretEvent | null> {
      const doc = await events.findOne({ _id: eventIdOf(projectId, seq) });
      return doc ? toEvent(doc) : null;
    },

    /** Up to `limit` events numbered after `seq`, in order. */
    async after(projectId: string, seq: number, limit: number): Promise<SecretEvent[]> {
      const docs = await events.find({ projectId: new Types.ObjectId(projectId), seq: { $gt: seq } }).sort({ seq: 1 }).limit(limit).toArray();
      return docs.map(toEvent);
    },

    /** The newest number of the project (0: none yet). */
    latest,

    /** Told the project of each event this node appends (a follower here reads it at once). */
    onAppend(listener: (projectId: string) => void): () => void {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },

    /**
     * Forgets events older than the retention, but the newest of each
     * project, which carries its count on: numbers are never given twice
     * (a node trusts what it knows of a project's numbers for 10 s only, so
     * this holds while the nodes' clocks are less than the retention apart).
     */
    async sweep(retentionMs: number): Promise<void> {
      const before = new Date(now().getTime() - retentionMs);
      const projects = await events.distinct('projectId', { at: { $lt: before } });
      for (const projectId of projects) {
        const newest = await latest(projectId.toHexString());
        await events.deleteMany({ projectId, at: { $lt: before }, seq: { $lt: newest } });
      }
    },
  };
}

export type EventLog = ReturnType<typeof createEventLog>;
