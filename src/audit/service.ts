// The audit log: who did what to which secret, through which door, and how it
// ended. It is written before a change is acknowledged, so no acknowledged
// change lacks its record. It never holds a value or a key.
import type { Collection } from 'mongodb';
import { Types } from 'mongoose';
import { actingEnvironment, type Caller, type Door } from '../auth/caller.ts';
import { isDuplicateKeyError, parseObjectId } from '../db/errors.ts';
import type { Models } from '../db/models/index.ts';

/** Where a recorded act came from: a door, or the service itself (an expiry). */
export type AuditSource = Door | 'system';

export interface AuditEntry {
  readonly projectId?: string | null;
  readonly keyId?: string | null;
  readonly door: AuditSource;
  /** The environment acted in. */
  readonly environment?: string | null;
  readonly operation: string;
  readonly secretId?: string | null;
  readonly secretName?: string | null;
  readonly version?: number | null;
  readonly outcome: string;
  readonly requestId?: string | null;
  /** Why a value was revealed, as the caller said. */
  readonly reason?: string | null;
  /** A workload identity's login: the token's subject, and the claims the identity asked for with the values they had (never the token). */
  readonly subject?: string | null;
  readonly claims?: readonly { readonly claim: string; readonly value: string }[] | null;
}

/** The fields every event of an authenticated call shares: who, through which door, which request. */
export function callerEntry(caller: Caller, operation: string) {
  return {
    projectId: caller.projectId,
    keyId: caller.keyId,
    door: caller.door,
    environment: actingEnvironment(caller),
    requestId: caller.requestId,
    operation,
  };
}

export interface AuditEvent extends Required<AuditEntry> {
  readonly id: string;
  readonly at: Date;
}

/** A page of the audit log, narrowed by any of its filters (each an equality, the times a range of `at`: since inclusive, until exclusive). */
export interface AuditPage {
  readonly first: number;
  readonly after?: string | undefined;
  readonly secretId?: string | undefined;
  readonly environment?: string | undefined;
  readonly keyId?: string | undefined;
  readonly operation?: string | undefined;
  readonly outcome?: string | undefined;
  readonly since?: Date | undefined;
  readonly until?: Date | undefined;
}

export function createAuditLog(deps: { models: Pick<Models, 'AuditEvent'>; now?: () => Date }) {
  const { AuditEvent } = deps.models;
  const now = deps.now ?? (() => new Date());
  const oid = (id: string | null | undefined) => (id ? (parseObjectId(id) ?? null) : null);

  const toDoc = (entry: AuditEntry, at: Date) => ({
    at,
    projectId: oid(entry.projectId),
    keyId: entry.keyId ?? null,
    door: entry.door,
    environment: entry.environment ?? null,
    operation: entry.operation,
    secretId: oid(entry.secretId),
    secretName: entry.secretName ?? null,
    version: entry.version ?? null,
    outcome: entry.outcome,
    requestId: entry.requestId ?? null,
    reason: entry.reason ?? null,
    ...(entry.subject == null ? {} : { subject: entry.subject, claims: (entry.claims ?? []).map(({ claim, value }) => ({ claim, value })) }),
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

    /**
     * A refused authentication, recorded in a bounded way: one record per
     * client address and minute, counting the refusals (a flood of random
     * keys costs one document a minute per address, not one per request).
     * The first refusal inserts it under a composite _id (a unique key on
     * both engines); the others count in it.
     * On FerretDB the count can fall short under concurrent refusals (its
     * updates are not atomic); the record itself is never missing.
     */
    async recordRefusal(entry: { door: AuditSource; operation: string; address: string; requestId: string }): Promise<void> {
      const at = now();
      const minute = new Date(Math.floor(at.getTime() / 60_000) * 60_000);
      const _id = `refused:${entry.address}:${minute.toISOString()}`;
      const first = {
        at: minute,
        projectId: null,
        keyId: null,
        door: entry.door,
        operation: entry.operation,
        secretId: null,
        secretName: null,
        version: null,
        outcome: 'unauthenticated',
        requestId: entry.requestId,
        clientAddress: entry.address,
      };
      // Keyed by address and minute, not by an ObjectId as the other events are.
      const records = AuditEvent.collection as unknown as Collection<{ _id: string; count: number }>;
      try {
        await records.insertOne({ _id, ...first, count: 1 });
      } catch (err) {
        // The minute's record exists: this refusal counts in it.
        if (!isDuplicateKeyError(err)) throw err;
        await records.updateOne({ _id }, { $inc: { count: 1 } });
      }
    },

    /** Forgets events older than the retention; several nodes may run it. */
    async sweep(retentionMs: number): Promise<void> {
      await AuditEvent.collection.deleteMany({ at: { $lt: new Date(now().getTime() - retentionMs) } });
    },

    /** A project's events, newest first, `first` of them after the event `after`, those matching every filter given. */
    async list(projectId: string, page: AuditPage) {
      const filter: Record<string, unknown> = { projectId: new Types.ObjectId(projectId) };
      if (page.environment !== undefined) filter.environment = page.environment;
      if (page.secretId !== undefined) filter.secretId = oid(page.secretId) ?? new Types.ObjectId('000000000000000000000000');
      if (page.keyId !== undefined) filter.keyId = page.keyId;
      if (page.operation !== undefined) filter.operation = page.operation;
      if (page.outcome !== undefined) filter.outcome = page.outcome;
      if (page.since !== undefined || page.until !== undefined) {
        filter.at = { ...(page.since === undefined ? {} : { $gte: page.since }), ...(page.until === undefined ? {} : { $lt: page.until }) };
      }
      if (page.after !== undefined) filter._id = { $lt: oid(page.after) };
      const docs = await AuditEvent.find(filter)
        .sort({ _id: -1 })
        .limit(page.first + 1)
        .lean();
      const events: AuditEvent[] = docs.slice(0, page.first).map((d) => ({
        id: d._id.toHexString(),
        at: d.at,
        projectId: d.projectId?.toHexString() ?? null,
        keyId: d.keyId ?? null,
        door: d.door as AuditSource,
        environment: d.environment ?? null,
        operation: d.operation,
        secretId: d.secretId?.toHexString() ?? null,
        secretName: d.secretName ?? null,
        version: d.version ?? null,
        outcome: d.outcome,
        requestId: d.requestId ?? null,
        reason: d.reason ?? null,
        subject: d.subject ?? null,
        claims: d.claims?.map(({ claim, value }) => ({ claim: claim ?? '', value: value ?? '' })) ?? null,
      }));
      return { events, hasNextPage: docs.length > page.first };
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
