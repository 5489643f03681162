// The audit log: who did what to which secret, through which door, and how it
// ended. It is written before a change is acknowledged, so no acknowledged
// change lacks its record. It never holds a value or a key.
import { Types } from 'mongoose';
import type { Caller, Door } from '../auth/authenticator.ts';
import { parseObjectId } from '../db/errors.ts';
import type { Models } from '../db/models/index.ts';

/** Where a recorded act came from: a door, or the service itself (an expiry). */
export type AuditSource = Door | 'system';

export interface AuditEntry {
  readonly projectId?: string | null;
  readonly keyId?: string | null;
  readonly door: AuditSource;
  readonly operation: string;
  readonly secretId?: string | null;
  readonly secretName?: string | null;
  readonly version?: number | null;
  readonly outcome: string;
  readonly requestId?: string | null;
}

/** The fields every event of an authenticated call shares: who, through which door, which request. */
export function callerEntry(caller: Caller, operation: string) {
  return { projectId: caller.projectId, keyId: caller.keyId, door: caller.door, requestId: caller.requestId, operation };
}

export interface AuditEvent extends Required<AuditEntry> {
  readonly id: string;
  readonly at: Date;
}

export function createAuditLog(deps: { models: Pick<Models, 'AuditEvent'>; now?: () => Date }) {
  const { AuditEvent } = deps.models;
  const now = deps.now ?? (() => new Date());
  const oid = (id: string | null | undefined) => (id ? parseObjectId(id) ?? null : null);

  const toDoc = (entry: AuditEntry, at: Date) => ({
    at,
    projectId: oid(entry.projectId),
    keyId: entry.keyId ?? null,
    door: entry.door,
    operation: entry.operation,
    secretId: oid(entry.secretId),
    secretName: entry.secretName ?? null,
    version: entry.version ?? null,
    outcome: entry.outcome,
    requestId: entry.requestId ?? null,
  });

  return {
    async record(entry: AuditEntry): Promise<void> {
      await AuditEvent.collection.insertOne(toDoc(entry, now()));
    },

    /** Several events in one write (a reveal of every secret is one event per secret). */
    async recordMany(entries: readonly AuditEntry[]): Promise<void> {
      if (entries.length === 0) return;
      const at = now();
      await AuditEvent.collection.insertMany(entries.map((entry) => toDoc(entry, at)));
    },

    /** A project's events, newest first, `first` of them after the event `after`. */
    async list(projectId: string, page: { first: number; after?: string | undefined; secretId?: string | undefined }) {
      const filter: Record<string, unknown> = { projectId: new Types.ObjectId(projectId) };
      if (page.secretId !== undefined) filter.secretId = oid(page.secretId) ?? new Types.ObjectId('000000000000000000000000');
      if (page.after !== undefined) filter._id = { $lt: oid(page.after) };
      const docs = await AuditEvent.find(filter).sort({ _id: -1 }).limit(page.first + 1).lean();
      const events: AuditEvent[] = docs.slice(0, page.first).map((d) => ({
        id: d._id.toHexString(),
        at: d.at,
        projectId: d.projectId?.toHexString() ?? null,
        keyId: d.keyId ?? null,
        door: d.door as AuditSource,
        operation: d.operation,
        secretId: d.secretId?.toHexString() ?? null,
        secretName: d.secretName ?? null,
        version: d.version ?? null,
        outcome: d.outcome,
        requestId: d.requestId ?? null,
      }));
      return { events, hasNextPage: docs.length > page.first };
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
