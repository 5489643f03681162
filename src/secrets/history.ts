// An environment as it was at any moment, rebuilt from what is kept and
// nothing more: each secret's version documents (each with the moment it was
// written) say which version was current then, and the environment's change
// events after that moment say what renames, deletions and restores have
// changed since. No second copy of a value is made. A moment that would need
// a pruned version, swept events or a purged secret is PastRetentionError,
// never a guess. And the way back: restoreEnvironment writes that moment's
// values as new versions, under compare-and-set against what it read.
import { type AuditEntry, type AuditLog, callerEntry } from '../audit/service.ts';
import type { Caller } from '../auth/caller.ts';
import { requireScope } from '../auth/scopes.ts';
import type { EventLog, EventType, SecretEvent } from '../events/log.ts';
import { type ChangeKind, changeEventOf, type createAuditedCalls, secretEntryOf } from './audited.ts';
import { ConflictError, InvalidFieldError, NotFoundError, PastRetentionError, VersionMismatchError } from './errors.ts';
import type { Inheritance } from './inheritance.ts';
import { requireRevealRight, type createRevealer } from './reveal.ts';
import { callerNamespace } from './access.ts';
import type { MetadataChange, Namespace, Reservation, SealedVersion, Sealer, SecretRecord, SecretStore, SnapshotRecord } from './store.ts';

/** One secret of an environment at a moment. */
export interface SecretAt {
  readonly id: string;
  /** Its name then. */
  readonly name: string;
  /** The version current then, and when it was written. */
  readonly version: number;
  readonly versionCreatedAt: Date;
}

export interface EnvironmentAt {
  readonly environment: string;
  readonly at: Date;
  /** In name order. */
  readonly secrets: readonly (SecretAt & { readonly value?: string })[];
}

/** A name in a diff: its version at each end (null: it had none there). */
export interface DiffEntry {
  readonly name: string;
  readonly fromVersion: number | null;
  readonly toVersion: number | null;
}

export interface EnvironmentDiff {
  readonly environment: string;
  readonly from: Date;
  readonly to: Date;
  readonly added: readonly DiffEntry[];
  /** A name held at both ends by another version (or another secret). */
  readonly changed: readonly DiffEntry[];
  readonly removed: readonly DiffEntry[];
}

/** What a restore does to one secret. */
export type RestoreAction = 'update' | 'rename' | 'restore' | 'delete';

export interface RestoreChange {
  readonly secretId: string;
  readonly action: RestoreAction;
  /** Its name at the moment restored to (a deleted one: its name now). */
  readonly name: string;
  /** Its name now, where that differs. */
  readonly previousName: string | null;
  /** Its version now (null: deleted now). */
  readonly fromVersion: number | null;
  /** The version of the moment whose value it gets (null: it is deleted). */
  readonly toVersion: number | null;
  /** The version the restore wrote: null in a dry run, or where no value changes. */
  readonly newVersion: number | null;
}

export interface RestoreResult {
  readonly environment: string;
  readonly to: Date;
  readonly dryRun: boolean;
  /** In name order. */
  readonly changes: readonly RestoreChange[];
}

/** The most change events one moment is rebuilt from: further back in a busy environment is past what this answers. */
export const HISTORY_EVENTS_MAX = 20_000;

interface Kept extends SecretAt {
  readonly secret: SecretRecord;
  /** Its value, where a snapshot's pin gives it (the version itself may be pruned). */
  readonly sealed?: SealedVersion;
}

/** Where a restore goes back to: a moment, or a snapshot. */
export type RestoreTarget = { readonly to: Date } | { readonly snapshot: string };

export interface HistoryDeps {
  readonly store: SecretStore;
  readonly events?: EventLog | undefined;
  readonly audit: AuditLog;
  readonly audited: ReturnType<typeof createAuditedCalls>;
  readonly now: () => Date;
  readonly inheritance: Inheritance;
  readonly revealer: ReturnType<typeof createRevealer>;
  readonly sealerOf: (value: string) => Sealer;
  /** The expiry fields of a secret brought back from past its expiry, at `at`. */
  readonly rearm: (at: Date) => (gone: SecretRecord) => MetadataChange;
  /** How far back change events are kept (EVENT_RETENTION_DAYS). */
  readonly windowMs: number;
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function createHistory(deps: HistoryDeps) {
  const { store, inheritance, revealer, now } = deps;

  async function allDeleted(ns: Namespace, at: Date): Promise<SecretRecord[]> {
    const all: SecretRecord[] = [];
    for (let after: { deletedAt: Date; id: string } | undefined; ;) {
      const page = await store.listDeleted(ns, { first: 100, after }, at);
      all.push(...page.items);
      const last = page.items.at(-1);
      if (!page.hasNextPage || !last) return all;
      after = { deletedAt: last.deletedAt!, id: last.id };
    }
  }

  /** Every record of the environment a moment may name: live then or now, deleted and still in its window. */
  async function recordsOf(ns: Namespace, at: Date, current: Date): Promise<Map<string, SecretRecord>> {
    const [then, live, deleted] = await Promise.all([store.listAllLive(ns, at), store.listAllLive(ns, current), allDeleted(ns, current)]);
    return new Map([...deleted, ...then, ...live].map((s) => [s.id, s]));
  }

  /** The version of `secret` current at `at`, from its kept versions; null when that one was pruned. */
  async function versionAt(secret: SecretRecord, at: Date): Promise<{ version: number; createdAt: Date } | null> {
    for (let before: number | undefined; ;) {
      const page = await store.listVersions(secret, { first: 20, before });
      const found = page.items.find((v) => v.createdAt.getTime() <= at.getTime());
      if (found) return found;
      const last = page.items.at(-1);
      if (!page.hasNextPage || !last) return null;
      before = last.version;
    }
  }

  /**
   * A version past the versions kept, where a snapshot pins it: the pin of
   * the newest snapshot taken at or before `at`, if no change of the secret's
   * version came between the snapshot and `at` (the events since it tell).
   */
  async function pinnedAt(
    secret: SecretRecord,
    at: Date,
    ns: Namespace,
    current: Date,
    eventsSince: (from: Date) => Promise<SecretEvent[] | null>,
  ): Promise<{ version: number; createdAt: Date; sealed: SealedVersion } | null> {
    const pin = (await store.snapshots.pinsOf(secret))
      .filter((p) => p.pinnedAt.getTime() <= at.getTime())
      .sort((a, b) => b.pinnedAt.getTime() - a.pinnedAt.getTime())[0];
    if (!pin || current.getTime() - pin.pinnedAt.getTime() > deps.windowMs) return null;
    const events = await eventsSince(pin.pinnedAt);
    if (!events) return null;
    const moved = events.some((e) => e.secret.id === secret.id && e.at.getTime() <= at.getTime() && e.secret.version !== pin.version);
    return moved ? null : { version: pin.version, createdAt: pin.versionCreatedAt, sealed: pin.sealed };
  }

  /**
   * The environment's own secrets at `at` (as of `current`, the moment the
   * call began), in name order, each with its current record.
   */
  async function stateAt(ns: Namespace, at: Date, current: Date): Promise<Kept[]> {
    if (at.getTime() > current.getTime()) throw new InvalidFieldError('at', 'The moment is in the future');
    if (!deps.events || current.getTime() - at.getTime() > deps.windowMs) {
      throw new PastRetentionError(`Moments further back than the change events kept (EVENT_RETENTION_DAYS) are past what is kept`);
    }
    // Live at `at` by the clock (one expired since is live then), as known now; deleted ones in their window.
    const [live, records, events] = await Promise.all([
      store.listAllLive(ns, at),
      recordsOf(ns, at, current),
      deps.events.since(ns.projectId, ns.environment, at, HISTORY_EVENTS_MAX),
    ]);
    if (events.length > HISTORY_EVENTS_MAX) {
      throw new PastRetentionError(`More than ${HISTORY_EVENTS_MAX} changes were made to this environment since that moment: it is past what is rebuilt`);
    }
    // Events since an earlier moment (a snapshot's), read once per call where a pin is looked at.
    const earlier = new Map<number, Promise<SecretEvent[] | null>>();
    const eventsSince = (from: Date) => {
      if (!earlier.has(from.getTime())) {
        earlier.set(
          from.getTime(),
          deps.events!.since(ns.projectId, ns.environment, from, HISTORY_EVENTS_MAX).then((e) => (e.length > HISTORY_EVENTS_MAX ? null : e)),
        );
      }
      return earlier.get(from.getTime())!;
    };
    const liveIds = new Set(live.map((s) => s.id));
    const firstAfter = new Map<string, SecretEvent>();
    for (const event of events) if (!firstAfter.has(event.secret.id)) firstAfter.set(event.secret.id, event);

    const kept: Kept[] = [];
    for (const id of new Set([...records.keys(), ...firstAfter.keys()])) {
      const record = records.get(id);
      const first = firstAfter.get(id);
      // The first change after the moment says what the secret was then: one created or restored since was not there.
      const alive = first ? first.type !== 'created' && first.type !== 'restored' : liveIds.has(id);
      if (!alive || (record && record.createdAt.getTime() > at.getTime())) continue;
      if (!record) throw new PastRetentionError(`A secret this environment had then ("${first!.secret.name}") has been purged since`);
      if (first?.type === 'renamed' && first.previousName === undefined) {
        throw new PastRetentionError(`The name "${first.secret.name}" had before a rename of that time is not recorded`);
      }
      const version: { version: number; createdAt: Date; sealed?: SealedVersion } | null =
        (await versionAt(record, at)) ?? (await pinnedAt(record, at, ns, current, eventsSince));
      if (!version) {
        throw new PastRetentionError(`The version "${record.name}" had then is older than the versions kept (SECRET_VERSIONS_KEPT)`);
      }
      const name = first ? (first.previousName ?? first.secret.name) : record.name;
      const pinned = version.sealed ? { sealed: version.sealed } : {};
      kept.push({ secret: record, id, name, version: version.version, versionCreatedAt: version.createdAt, ...pinned });
    }
    return kept.sort(byName);
  }

  /** A kept version's value, opened. */
  async function valueOf(entry: Kept): Promise<string> {
    const sealed = entry.sealed ?? (await store.sealedVersion(entry.secret, entry.version));
    if (!sealed) throw new PastRetentionError(`The version "${entry.name}" had then is older than the versions kept (SECRET_VERSIONS_KEPT)`);
    return revealer.openSealed(sealed, entry.name);
  }

  const publicAt = ({ id, name, version, versionCreatedAt }: Kept): SecretAt => ({ id, name, version, versionCreatedAt });

  /** A snapshot of the caller's project, where the caller may act in its environment. */
  async function snapshotOf(caller: Caller, id: string): Promise<SnapshotRecord> {
    const snapshot = await store.snapshots.find(caller.projectId, id);
    if (!snapshot) throw new NotFoundError('No snapshot with this id in this project');
    callerNamespace({ ...caller, environment: snapshot.environment });
    return snapshot;
  }

  /** What a snapshot holds, as a restore's target: each secret (live or deleted now) at the version it pins, with the pinned value. */
  async function stateOf(ns: Namespace, snapshot: SnapshotRecord, current: Date): Promise<Kept[]> {
    if (snapshot.environment !== ns.environment) throw new NotFoundError('No snapshot with this id in this environment');
    const records = await recordsOf(ns, snapshot.createdAt, current);
    const kept: Kept[] = [];
    for (const entry of snapshot.entries) {
      const record = records.get(entry.secretId);
      const pin = record && (await store.snapshots.pinsOf(record)).find((p) => p.snapshotId === snapshot.id);
      if (!record || !pin) throw new PastRetentionError(`"${entry.name}" of this snapshot has been purged since`);
      kept.push({ secret: record, id: entry.secretId, name: entry.name, version: entry.version, versionCreatedAt: entry.versionCreatedAt, sealed: pin.sealed });
    }
    return kept.sort(byName);
  }

  /** What a restore to `target` changes in `ns` now: deletions first, then renames, restores and new values. */
  function planOf(target: readonly Kept[], live: readonly SecretRecord[]): (RestoreChange & { readonly entry?: Kept; readonly secret: SecretRecord })[] {
    const wanted = new Map(target.map((e) => [e.id, e]));
    const liveById = new Map(live.map((s) => [s.id, s]));
    const deletions = live
      .filter((s) => !wanted.has(s.id))
      .map((secret) => ({
        secret,
        secretId: secret.id,
        action: 'delete' as const,
        name: secret.name,
        previousName: null,
        fromVersion: secret.version,
        toVersion: null,
        newVersion: null,
      }));
    const others = target.flatMap((entry) => {
      const now = liveById.get(entry.id);
      const action: RestoreAction | null = !now ? 'restore' : now.version !== entry.version ? 'update' : now.name !== entry.name ? 'rename' : null;
      if (!action) return [];
      const current = now ?? entry.secret;
      return [
        {
          entry,
          secret: current,
          secretId: entry.id,
          action,
          name: entry.name,
          previousName: current.name === entry.name ? null : current.name,
          fromVersion: now ? now.version : null,
          toVersion: entry.version,
          newVersion: null,
        },
      ];
    });
    const order: Record<RestoreAction, number> = { delete: 0, rename: 1, restore: 2, update: 3 };
    return [...deletions, ...others].sort((a, b) => order[a.action] - order[b.action] || byName(a, b));
  }

  /** The name's holder now, where a restore would have to take it from a secret that stays: names swapped since. */
  function requireNoSwap(plan: ReturnType<typeof planOf>, live: readonly SecretRecord[]): void {
    const leaving = new Set(plan.filter((c) => c.action === 'delete').map((c) => c.secretId));
    const renamedAway = new Set(plan.filter((c) => c.previousName !== null).map((c) => c.secretId));
    for (const change of plan) {
      if (change.previousName === null && change.action !== 'restore') continue;
      const holder = live.find((s) => s.name === change.name && s.id !== change.secretId);
      if (holder && !leaving.has(holder.id)) {
        throw new ConflictError(
          renamedAway.has(holder.id)
            ? `The names "${change.name}" and "${holder.name}" were swapped since: rename one of them first, then restore`
            : `The name "${change.name}" is held by another secret now`,
        );
      }
    }
  }

  /** A snapshot's change (secrets:write), audited with its environment, never a value. */
  const snapshotCall = (caller: Caller, operation: string, run: () => Promise<SnapshotRecord>) =>
    deps.audited.call(caller, operation, {}, run, (snapshot) => ({ environment: snapshot.environment }));

  const eventOf = (action: RestoreAction, previousName: string | null): ChangeKind => {
    const type: EventType = action === 'update' ? 'updated' : action === 'rename' ? 'renamed' : action === 'restore' ? 'restored' : 'deleted';
    return previousName === null || action === 'delete' || action === 'restore' ? type : { type, previousName };
  };

  /** The environment's own secrets as they were at `at`; with `reveal`, their values then (secrets:reveal, each audited). */
  async function environmentAt(caller: Caller, at: Date, options: { reveal?: boolean } = {}): Promise<EnvironmentAt> {
    requireScope(caller, 'secrets:read');
    const base = { ...callerEntry(caller, 'reveal_at'), reason: caller.revealReason ?? null };
    if (options.reveal) {
      try {
        requireRevealRight(caller);
      } catch (err) {
        // Refused as any reveal is: audited.
        await deps.audited.recordFailure(base, err);
        throw err;
      }
    }
    const { ns } = await inheritance.placed(caller);
    const kept = await stateAt(ns, at, now());
    if (!options.reveal) return { environment: ns.environment, at, secrets: kept.map(publicAt) };
    const values = await Promise.all(kept.map(valueOf));
    await deps.audit.recordMany(kept.map((e): AuditEntry => ({ ...base, secretId: e.id, secretName: e.name, version: e.version, outcome: 'success' })));
    return { environment: ns.environment, at, secrets: kept.map((e, i) => ({ ...publicAt(e), value: values[i]! })) };
  }

  /**
   * Values by name at `at`, their references expanded in that same moment
   * (another environment's as it was then too): what `secrets export --at` writes.
   */
  async function valuesAt(caller: Caller, at: Date, options: { resolve?: boolean } = {}): Promise<Record<string, string>> {
    const { secrets, environment } = await environmentAt(caller, at, { reveal: true });
    const values: Record<string, string> = Object.create(null);
    for (const s of secrets) values[s.name] = s.value!;
    if (options.resolve === false) return values;
    const elsewhere = new Map<string, Promise<Record<string, string>>>();
    const expand = revealer.expanderOf(async (target) => {
      if (target.environment === environment) return values[target.name];
      if (!elsewhere.has(target.environment))
        elsewhere.set(target.environment, valuesAt({ ...caller, environment: target.environment }, at, { resolve: false }));
      return (await elsewhere.get(target.environment)!)[target.name];
    });
    const expanded: Record<string, string> = Object.create(null);
    for (const name of Object.keys(values)) expanded[name] = await expand({ environment, name }, values[name]!);
    return expanded;
  }

  return {
    environmentAt,
    valuesAt,

    /**
     * Names the environment's own secrets at their current versions, and
     * pins those versions: pruning keeps them until the snapshot is deleted
     * (a purge does not), so environmentAt and restoreEnvironment reach them
     * past SECRET_VERSIONS_KEPT. Needs secrets:write; audited.
     */
    createSnapshot(caller: Caller, name: string): Promise<SnapshotRecord> {
      return snapshotCall(caller, 'create_snapshot', async () => {
        const { ns } = await inheritance.placed(caller);
        const at = now();
        const kept = await stateAt(ns, at, at);
        const entries = await Promise.all(
          kept.map(async (e) => {
            const sealed = await store.sealedVersion(e.secret, e.version);
            if (!sealed) throw new ConflictError(`"${e.name}" changed while the snapshot read it: take it again`);
            return { secretId: e.id, name: e.name, version: e.version, versionCreatedAt: e.versionCreatedAt, sealed };
          }),
        );
        return store.snapshots.create(ns, name, entries, caller.keyId, at);
      });
    },

    /** The environment's snapshots, newest first. Needs secrets:read. */
    async snapshots(caller: Caller): Promise<SnapshotRecord[]> {
      requireScope(caller, 'secrets:read');
      return store.snapshots.list((await inheritance.placed(caller)).ns);
    },

    /** Deletes a snapshot: the versions it pinned are pruned as any others. Needs secrets:write; audited. */
    deleteSnapshot(caller: Caller, id: string): Promise<SnapshotRecord> {
      return snapshotCall(caller, 'delete_snapshot', async () => {
        const snapshot = await snapshotOf(caller, id);
        if (!(await store.snapshots.remove(caller.projectId, id))) throw new NotFoundError('No snapshot with this id in this project');
        return snapshot;
      });
    },

    /** Names added, changed (their versions) and removed between two moments. */
    async environmentDiff(caller: Caller, from: Date, to: Date): Promise<EnvironmentDiff> {
      requireScope(caller, 'secrets:read');
      const { ns } = await inheritance.placed(caller);
      const current = now();
      const [before, after] = await Promise.all([stateAt(ns, from, current), stateAt(ns, to, current)]);
      const old = new Map(before.map((e) => [e.name, e]));
      const young = new Map(after.map((e) => [e.name, e]));
      const entry = (name: string) => ({ name, fromVersion: old.get(name)?.version ?? null, toVersion: young.get(name)?.version ?? null });
      return {
        environment: ns.environment,
        from,
        to,
        added: after.filter((e) => !old.has(e.name)).map((e) => entry(e.name)),
        changed: after.filter((e) => old.has(e.name) && (old.get(e.name)!.id !== e.id || old.get(e.name)!.version !== e.version)).map((e) => entry(e.name)),
        removed: before.filter((e) => !young.has(e.name)).map((e) => entry(e.name)),
      };
    },

    /**
     * Makes the environment's own secrets what they were at `to`: new
     * versions with that moment's values, deleted ones (in their window)
     * back, ones created since deleted, renames undone. Every secret it
     * touches is reserved first at the version read (a concurrent write to
     * any of them is a ConflictError, with nothing changed); then one audit
     * record and one change event per secret changed. A dry run reads only.
     */
    async restoreEnvironment(caller: Caller, goal: RestoreTarget, options: { dryRun?: boolean } = {}): Promise<RestoreResult> {
      const base = callerEntry(caller, 'restore_environment');
      try {
        requireScope(caller, 'secrets:write');
        const place = await inheritance.placed(caller);
        const { ns } = place;
        const at = now();
        const snapshot = 'snapshot' in goal ? await snapshotOf(caller, goal.snapshot) : null;
        const to = snapshot ? snapshot.createdAt : (goal as { to: Date }).to;
        const [target, live] = await Promise.all([snapshot ? stateOf(ns, snapshot, at) : stateAt(ns, to, at), store.listAllLive(ns, at)]);
        const plan = planOf(target, live);
        requireNoSwap(plan, live);
        if (options.dryRun) return { environment: ns.environment, to, dryRun: true, changes: plan.map(publicPlanOf) };

        // Values first (one that does not open changes nothing), then every touched secret reserved at the version read.
        const values = await Promise.all(plan.map((c) => (c.entry && c.entry.version !== c.secret.version ? valueOf(c.entry) : null)));
        const reserved: (Reservation | null)[] = [];
        try {
          for (const [i, change] of plan.entries()) {
            reserved.push(await store.reserve(change.secret, deps.sealerOf(values[i] ?? ''), change.secret.version, caller.keyId, at));
          }
        } catch (err) {
          await Promise.all(reserved.map((r) => r && store.release(r)));
          if (err instanceof VersionMismatchError) {
            throw new ConflictError(`"${plan[reserved.length]!.name}" changed while the restore read it: nothing was changed; read again and retry`);
          }
          throw err;
        }

        const done: RestoreChange[] = [];
        const entries: AuditEntry[] = [];
        try {
          for (const [i, change] of plan.entries()) {
            const reservation = reserved[i]!;
            const keepsValue = values[i] === null;
            let secret: SecretRecord | null = change.secret;
            if (change.action === 'delete') secret = await store.softDelete(change.secret, caller.keyId, at);
            if (change.action === 'restore') {
              const back = await store.restore(ns, change.secretId, caller.keyId, at, deps.rearm(at));
              if (typeof back === 'string')
                throw new ConflictError(`"${change.name}" could not be brought back (${back.replace('_', ' ')}): the restore stopped there`);
              secret = back;
            }
            if (change.action !== 'delete' && (change.previousName !== null || !keepsValue)) {
              const name = change.previousName === null ? undefined : change.name;
              secret = await store.change(secret!, { metadata: {}, name, reserved: keepsValue ? undefined : reservation, by: caller.keyId }, at);
            }
            if (keepsValue) await store.release(reservation);
            reserved[i] = null;
            if (change.action !== 'delete' && place.lineage.length > 1) await store.tombstones.unhide(ns, change.name);
            if (!secret) continue; // deleted meanwhile by another call: as wanted
            const applied = { ...publicPlanOf(change), newVersion: keepsValue ? null : secret.version };
            done.push(applied);
            const entry = secretEntryOf(base, secret, 'success');
            entries.push(entry);
            await deps.events?.append(changeEventOf(entry, eventOf(change.action, change.previousName)));
          }
        } finally {
          await Promise.all(reserved.map((r) => r && store.release(r)));
          if (entries.length) await deps.audit.recordMany(entries);
        }
        return { environment: ns.environment, to, dryRun: false, changes: done.sort(byName) };
      } catch (err) {
        await deps.audited.recordFailure(base, err);
        throw err;
      }
    },
  };
}

const publicPlanOf = ({ secretId, action, name, previousName, fromVersion, toVersion, newVersion }: RestoreChange): RestoreChange => ({
  secretId,
  action,
  name,
  previousName,
  fromVersion,
  toVersion,
  newVersion,
});

export type History = ReturnType<typeof createHistory>;
