// A secret store in this process's memory, written against store.ts alone:
// the second implementation the store contract suite runs on, and a store
// for tests of the policy above it that need no database. Each call does its
// checks and its writes with no await between them, so racing calls in one
// process are decided as they would be by a unique index: one of them wins.
// Nothing survives the process; two nodes cannot share it.
import { randomBytes } from 'node:crypto';
import type { SecretLimits } from '../config.ts';
import {
  EnvironmentNotFoundError,
  EnvironmentTakenError,
  QuotaExceededError,
  SecretNameTakenError,
  SecretNotFoundError,
  SnapshotNameTakenError,
  VersionMismatchError,
} from './errors.ts';
import { isLive, type PublicSecret, type SecretVersionInfo } from './model.ts';
import {
  DEFAULT_ENVIRONMENT,
  type EnvironmentRecord,
  type EnvironmentStore,
  type IdempotencyRecord,
  type IdempotencyStore,
  LINEAGE_MAX,
  type OverrideRecord,
  type OverrideStore,
  type Pin,
  type SnapshotRecord,
  type SnapshotStore,
  type TombstoneStore,
  type MetadataChange,
  type Namespace,
  type Page,
  type SealStore,
  type SealedVersion,
  type SecretRecord,
  type SecretStore,
} from './store.ts';

/** A secret as kept here: its record's fields, and its versions by number. */
interface Entry {
  record: SecretRecord;
  readonly versions: Map<number, SecretVersionInfo & SealedVersion>;
  /** Versions reserved ahead of their change: their numbers are taken. */
  reserved?: Map<number, SecretVersionInfo & SealedVersion>;
  /** Numbers given up (released): taken, never current. */
  given?: Set<number>;
  /** Versions snapshots pin, by snapshot id: gone with the secret when it is purged. */
  pins?: Map<string, Pin>;
}

/** The newest number an entry's versions took, reserved and given up ones included. */
const newestTaken = (entry: Entry) => Math.max(entry.record.version, ...(entry.reserved?.keys() ?? []), ...(entry.given ?? []));
/** A reservation is held past the current version: writers expecting that one are refused. */
const heldPast = (entry: Entry) => [...(entry.reserved?.keys() ?? [])].some((n) => n > entry.record.version);

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export interface MemorySecretStoreDeps {
  readonly limits: SecretLimits;
  /** When a project was made ("default" is as old as its project), or null for none: every project exists, made at 0, by default. */
  readonly projectCreatedAt?: (projectId: string) => Date | null;
  /** Told of each expired secret this store marked deleted (as of its expiry). */
  readonly onExpired?: (secret: SecretRecord) => Promise<void>;
}

const spaceOf = (ns: Namespace) => `${ns.projectId}/${ns.environment}`;
const byName = (a: SecretRecord, b: SecretRecord) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function createMemorySecretStore(deps: MemorySecretStoreDeps): SecretStore {
  const { limits } = deps;
  const projectCreatedAt = deps.projectCreatedAt ?? (() => new Date(0));
  const onExpired = deps.onExpired ?? (async () => {});
  const secrets = new Map<string, Entry>();
  const idempotencyRecords = new Map<string, IdempotencyRecord>();

  const inSpace = (ns: Namespace) => [...secrets.values()].filter((e) => e.record.projectId === ns.projectId && e.record.environment === ns.environment);
  const liveIn = (ns: Namespace, at: Date) => inSpace(ns).filter((e) => isLive(e.record, at));
  const set = (entry: Entry, fields: Partial<Mutable<SecretRecord>>) => (entry.record = { ...entry.record, ...fields });
  const keptAfter = (current: number) => current - limits.versionsKept;

  /** Makes an expired secret a deleted one, as of its expiry; returns it, to report, or null when it was not due. */
  function markExpired(entry: Entry, at: Date): SecretRecord | null {
    const { expiresAt } = entry.record;
    if (entry.record.deletedAt !== null || expiresAt === null || expiresAt > at) return null;
    if (limits.recoveryWindowMs === 0) secrets.delete(entry.record.id);
    else set(entry, { deletedAt: expiresAt, purgeAt: new Date(expiresAt.getTime() + limits.recoveryWindowMs) });
    return entry.record;
  }

  /** Reports what was marked expired, after the call's own writes (with no await before them, no other call comes between). */
  async function report(expired: (SecretRecord | null)[]): Promise<void> {
    for (const secret of expired) if (secret) await onExpired(secret);
  }

  const expireDue = (at: Date, ns?: Namespace) => (ns ? inSpace(ns) : [...secrets.values()]).map((e) => markExpired(e, at));

  /** The name is free in the namespace, but for `self`: an expired holder gives it up first (returned, to report). */
  function requireFreeName(ns: Namespace, name: string, at: Date, self?: string): (SecretRecord | null)[] {
    const holders = inSpace(ns).filter((e) => e.record.deletedAt === null && e.record.name === name && e.record.id !== self);
    const expired = holders.map((holder) => markExpired(holder, at));
    if (liveIn(ns, at).some((e) => e.record.name === name && e.record.id !== self)) throw new SecretNameTakenError(name);
    return expired;
  }

  /** Quotas are counted, not held in slots: a lowered limit refuses creates until the environment is under it. */
  function requireRoom(ns: Namespace, at: Date): void {
    if (liveIn(ns, at).length >= limits.projectSecretLimit) throw new QuotaExceededError(limits.projectSecretLimit);
  }

  function page<T>(items: T[], first: number): Page<T> {
    return { items: items.slice(0, first), hasNextPage: items.length > first };
  }

  function liveEntry(secret: PublicSecret): Entry {
    const entry = secrets.get(secret.id);
    if (!entry || entry.record.deletedAt !== null) throw new SecretNotFoundError();
    return entry;
  }

  const environments = createMemoryEnvironmentStore(projectCreatedAt, (ns) => inSpace(ns));

  const idempotency: IdempotencyStore = {
    async claim(ns, key, record) {
      const id = `${spaceOf(ns)} ${key}`;
      const held = idempotencyRecords.get(id);
      if (held) return held;
      idempotencyRecords.set(id, { ...record, result: null });
      return null;
    },
    async complete(ns, key, result) {
      const id = `${spaceOf(ns)} ${key}`;
      const held = idempotencyRecords.get(id);
      if (held) idempotencyRecords.set(id, { ...held, result: { ...result } });
    },
    async release(ns, key, pendingOnly = false) {
      const id = `${spaceOf(ns)} ${key}`;
      if (!pendingOnly || idempotencyRecords.get(id)?.result === null) idempotencyRecords.delete(id);
    },
  };

  const hidden = new Map<string, Set<string>>();
  const tombstones: TombstoneStore = {
    async names(ns) {
      return new Set(hidden.get(spaceOf(ns)));
    },
    async hide(ns, name) {
      const names = hidden.get(spaceOf(ns)) ?? new Set<string>();
      names.add(name);
      hidden.set(spaceOf(ns), names);
    },
    async unhide(ns, name) {
      return hidden.get(spaceOf(ns))?.delete(name) ?? false;
    },
  };

  const personal = new Map<string, OverrideRecord & { sealed: SealedVersion }>();
  const overrideIdOf = (ns: Namespace, owner: string, name: string) => `${spaceOf(ns)}/${owner}/${name}`;
  const overrides: OverrideStore = {
    async list(ns, owner) {
      const prefix = `${spaceOf(ns)}/${owner}/`;
      return [...personal.entries()]
        .filter(([id]) => id.startsWith(prefix))
        .map(([, o]) => o)
        .sort((a, b) => (a.name < b.name ? -1 : 1));
    },
    async set(ns, owner, name, seal, at) {
      const id = overrideIdOf(ns, owner, name);
      const context = { projectId: ns.projectId, secretId: randomBytes(12).toString('hex'), version: 1 };
      const was = personal.get(id);
      const record = { environment: ns.environment, owner, name, createdAt: was?.createdAt ?? at, updatedAt: at, sealed: { context, sealed: seal(context) } };
      personal.set(id, record);
      const { sealed: _, ...plain } = record;
      return plain;
    },
    async remove(ns, owner, name) {
      return personal.delete(overrideIdOf(ns, owner, name));
    },
  };

  // Each version once, under "<secretId>:<version>": the current value is its newest version, not a copy;
  // an override's under "override:<its id>".
  const allSeals = () => [
    ...[...secrets.values()].flatMap((e) =>
      [...e.versions.values()].map((v) => ({ id: `${e.record.id}:${v.version}`, value: { context: v.context, sealed: v.sealed } })),
    ),
    ...[...personal.entries()].map(([id, o]) => ({ id: `override:${id}`, value: o.sealed })),
    ...[...secrets.values()].flatMap((e) => [...(e.pins?.values() ?? [])].map((p) => ({ id: `pin:${p.snapshotId}:${e.record.id}`, value: p.sealed }))),
  ];
  const seals: SealStore = {
    async countByKey(activeId) {
      const byKey: Record<string, number> = {};
      for (const { value } of allSeals()) if (value.sealed.keyId !== activeId) byKey[value.sealed.keyId] = (byKey[value.sealed.keyId] ?? 0) + 1;
      return byKey;
    },
    async under(keyIds, size, skip) {
      return allSeals()
        .filter((seal) => keyIds.includes(seal.value.sealed.keyId) && !skip.includes(seal.id))
        .slice(0, size);
    },
    async replace(replacements) {
      let found = 0;
      for (const { seal, sealed } of replacements) {
        if (seal.id.startsWith('override:')) {
          const held = personal.get(seal.id.slice('override:'.length));
          if (held?.sealed.context.secretId !== seal.value.context.secretId) continue;
          held.sealed = { context: held.sealed.context, sealed };
          found++;
          continue;
        }
        if (seal.id.startsWith('pin:')) {
          const [, snapshotId, secretId] = seal.id.split(':');
          const pin = secrets.get(secretId!)?.pins?.get(snapshotId!);
          if (!pin) continue;
          secrets.get(secretId!)!.pins!.set(snapshotId!, { ...pin, sealed: { context: pin.sealed.context, sealed } });
          found++;
          continue;
        }
        const { secretId, version } = seal.value.context;
        const stored = secrets.get(secretId)?.versions.get(version);
        if (!stored) continue;
        secrets.get(secretId)!.versions.set(version, { ...stored, sealed });
        found++;
      }
      return found;
    },
  };

  /** Past PROJECT_DELETED_LIMIT deleted secrets, the oldest deletions are purged. */
  function keepDeletedWithinLimit(ns: Namespace): void {
    const deleted = inSpace(ns)
      .filter((e) => e.record.deletedAt !== null)
      .sort((a, b) => a.record.deletedAt!.getTime() - b.record.deletedAt!.getTime() || (a.record.id < b.record.id ? -1 : 1));
    for (const entry of deleted.slice(0, Math.max(0, deleted.length - limits.projectDeletedLimit))) secrets.delete(entry.record.id);
  }

  const taken = new Map<string, SnapshotRecord>();
  const snapshots: SnapshotStore = {
    async create(ns, name, entries, by, at) {
      if ([...taken.values()].some((t) => t.projectId === ns.projectId && t.environment === ns.environment && t.name === name)) {
        throw new SnapshotNameTakenError(name);
      }
      const id = randomBytes(12).toString('hex');
      for (const { secretId, version, versionCreatedAt, sealed } of entries) {
        const entry = secrets.get(secretId);
        if (entry) (entry.pins ??= new Map()).set(id, { snapshotId: id, pinnedAt: at, version, versionCreatedAt, sealed });
      }
      const record: SnapshotRecord = {
        id,
        projectId: ns.projectId,
        environment: ns.environment,
        name,
        createdAt: at,
        createdBy: by,
        entries: entries.map(({ sealed: _, ...entry }) => entry),
      };
      taken.set(id, record);
      return record;
    },
    async list(ns) {
      return [...taken.values()]
        .filter((t) => t.projectId === ns.projectId && t.environment === ns.environment)
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1));
    },
    async find(projectId, id) {
      const found = taken.get(id);
      return found?.projectId === projectId ? found : null;
    },
    async remove(projectId, id) {
      if (taken.get(id)?.projectId !== projectId) return false;
      taken.delete(id);
      for (const entry of secrets.values()) entry.pins?.delete(id);
      return true;
    },
    async pinsOf(secret) {
      return [...(secrets.get(secret.id)?.pins?.values() ?? [])];
    },
  };

  return {
    environments,
    idempotency,
    seals,
    tombstones,
    overrides,
    snapshots,

    async findLive(ns, locator, at) {
      const live = liveIn(ns, at).map((e) => e.record);
      if ('id' in locator) return live.find((s) => s.id === locator.id) ?? null;
      if ('name' in locator) return live.find((s) => s.name === locator.name) ?? null;
      return live.find((s) => s.id === locator.idOrName) ?? live.find((s) => s.name === locator.idOrName) ?? null;
    },

    async listLive(ns, { first, after, nameStartsWith }, at) {
      const live = liveIn(ns, at)
        .map((e) => e.record)
        .filter((s) => after === undefined || s.name > after)
        .filter((s) => nameStartsWith === undefined || s.name.startsWith(nameStartsWith))
        .sort(byName);
      return page(live, first);
    },

    async listAllLive(ns, at) {
      return liveIn(ns, at)
        .map((e) => e.record)
        .sort(byName);
    },

    async listDeleted(ns, { first, after }, at) {
      if (after === undefined) await report(expireDue(at, ns));
      const newestFirst = (a: SecretRecord, b: SecretRecord) => b.deletedAt!.getTime() - a.deletedAt!.getTime() || (a.id < b.id ? 1 : -1);
      const deleted = inSpace(ns)
        .map((e) => e.record)
        .filter((s) => s.deletedAt !== null)
        .filter((s) => after === undefined || s.deletedAt! < after.deletedAt || (s.deletedAt!.getTime() === after.deletedAt.getTime() && s.id < after.id))
        .sort(newestFirst);
      return page(deleted, first);
    },

    async listVersions(secret, { first, before }) {
      const entry = secrets.get(secret.id);
      const versions = [...(entry?.versions.values() ?? [])]
        .filter((v) => v.version > keptAfter(secret.version) && (before === undefined || v.version < before))
        .sort((a, b) => b.version - a.version)
        .map(({ version, createdAt, createdBy }) => ({ version, createdAt, createdBy }));
      return page(versions, first);
    },

    async create(ns, draft, seal, at) {
      if (!environments.isOpenNow(ns)) throw new EnvironmentNotFoundError(ns.environment);
      const expired = requireFreeName(ns, draft.name, at);
      requireRoom(ns, at);
      const id = randomBytes(12).toString('hex');
      const context = { projectId: ns.projectId, secretId: id, version: 1 };
      const record: SecretRecord = {
        id,
        projectId: ns.projectId,
        environment: ns.environment,
        name: draft.name,
        version: 1,
        description: draft.description,
        provider: draft.provider,
        createdBy: draft.createdBy,
        lastUpdatedBy: draft.createdBy,
        createdAt: at,
        updatedAt: at,
        deletedAt: null,
        expiresAt: draft.expiresAt,
        ttlSeconds: draft.ttlSeconds,
        purgeAt: null,
      };
      const versions = new Map([[1, { version: 1, createdAt: at, createdBy: draft.createdBy, context, sealed: seal(context) }]]);
      secrets.set(id, { record, versions });
      await report(expired);
      return record;
    },

    async change(secret, change, at) {
      const entry = liveEntry(secret);
      const renamed = change.name !== undefined && change.name !== entry.record.name;
      const expired = renamed ? requireFreeName(secret, change.name!, at, secret.id) : [];
      const current = entry.record.version;
      if (change.expected !== undefined && (change.expected !== current || heldPast(entry))) {
        throw new VersionMismatchError(change.expected, current);
      }
      const fields: Partial<Mutable<SecretRecord>> = { ...change.metadata, lastUpdatedBy: change.by, updatedAt: at };
      if (renamed) fields.name = change.name!;
      const reserved = change.reserved && entry.reserved?.get(change.reserved.version);
      if (change.reserved && !reserved) throw new Error(`version ${change.reserved.version} of ${secret.id} is not reserved here`);
      if (reserved) {
        entry.reserved!.delete(reserved.version);
        entry.versions.set(reserved.version, reserved);
        // A version written after it (by a writer that expected none) stays current.
        if (reserved.version > current) fields.version = reserved.version;
      } else if (change.value) {
        const version = newestTaken(entry) + 1;
        const context = { projectId: secret.projectId, secretId: secret.id, version };
        entry.versions.set(version, { version, createdAt: at, createdBy: change.by, context, sealed: change.value(context) });
        fields.version = version;
      }
      if (fields.version !== undefined) entry.versions.delete(keptAfter(fields.version));
      const changed = set(entry, fields);
      await report(expired);
      return changed;
    },

    async reserve(secret, seal, expected, by, at) {
      const entry = secrets.get(secret.id);
      if (!entry) throw new SecretNotFoundError();
      if (expected !== entry.record.version || heldPast(entry)) throw new VersionMismatchError(expected, entry.record.version);
      const version = newestTaken(entry) + 1;
      const context = { projectId: secret.projectId, secretId: secret.id, version };
      (entry.reserved ??= new Map()).set(version, { version, createdAt: at, createdBy: by, context, sealed: seal(context) });
      return { secretId: secret.id, version };
    },

    async release(reservation) {
      const entry = secrets.get(reservation.secretId);
      if (!entry?.reserved?.delete(reservation.version)) return;
      (entry.given ??= new Set()).add(reservation.version);
    },

    async softDelete(secret, by, at) {
      const entry = secrets.get(secret.id);
      if (!entry || entry.record.deletedAt !== null) return null;
      if (limits.recoveryWindowMs === 0) {
        secrets.delete(secret.id);
        return entry.record;
      }
      const deleted = set(entry, { deletedAt: at, purgeAt: new Date(at.getTime() + limits.recoveryWindowMs), lastUpdatedBy: by });
      keepDeletedWithinLimit(secret);
      return deleted;
    },

    async restore(ns, id, by, at, rearm: (gone: SecretRecord) => MetadataChange) {
      const entry = secrets.get(id);
      if (!entry || entry.record.projectId !== ns.projectId || entry.record.environment !== ns.environment) return 'not_found';
      if (isLive(entry.record, at)) return entry.record;
      const expired = [markExpired(entry, at)];
      const gone = secrets.get(id)?.record;
      if (!gone?.purgeAt || gone.purgeAt <= at) {
        await report(expired);
        return 'not_found';
      }
      try {
        expired.push(...requireFreeName(ns, gone.name, at, id));
        requireRoom(ns, at);
        return set(entry, { deletedAt: null, purgeAt: null, lastUpdatedBy: by, updatedAt: at, ...rearm(gone) });
      } finally {
        await report(expired);
      }
    },

    async sweep(at) {
      for (const [id, record] of idempotencyRecords) if (record.expiresAt <= at) idempotencyRecords.delete(id);
      await report(expireDue(at));
      let purged = 0;
      for (const entry of [...secrets.values()]) {
        if (entry.record.deletedAt !== null && entry.record.purgeAt !== null && entry.record.purgeAt <= at) {
          secrets.delete(entry.record.id);
          purged++;
        }
      }
      return purged;
    },

    async sealedVersion(secret, version) {
      if (version <= keptAfter(secret.version)) return null;
      const stored = secrets.get(secret.id)?.versions.get(version);
      return stored ? { context: stored.context, sealed: stored.sealed } : null;
    },

    async sealedCurrent(wanted) {
      const byId = new Map<string, SealedVersion>();
      for (const secret of wanted) {
        const entry = secrets.get(secret.id);
        const current = entry?.versions.get(entry.record.version);
        if (current) byId.set(secret.id, { context: current.context, sealed: current.sealed });
      }
      return byId;
    },
  };
}

function createMemoryEnvironmentStore(
  projectCreatedAt: (projectId: string) => Date | null,
  secretsIn: (ns: Namespace) => Entry[],
): EnvironmentStore & { isOpenNow(ns: Namespace): boolean } {
  const named = new Map<string, EnvironmentRecord>();
  const implicitDefault = (projectId: string): EnvironmentRecord | null => {
    const createdAt = projectCreatedAt(projectId);
    return createdAt && { id: spaceOf({ projectId, environment: DEFAULT_ENVIRONMENT }), slug: DEFAULT_ENVIRONMENT, name: 'Default', createdAt, parent: null };
  };
  const isOpenNow = (ns: Namespace) => ns.environment === DEFAULT_ENVIRONMENT || named.has(spaceOf(ns));
  const find = (ns: Namespace) => named.get(spaceOf(ns)) ?? (ns.environment === DEFAULT_ENVIRONMENT ? implicitDefault(ns.projectId) : null);
  return {
    async list(projectId) {
      const others = [...named.values()]
        .filter((e) => e.id.startsWith(`${projectId}/`) && e.slug !== DEFAULT_ENVIRONMENT)
        .sort((a, b) => (a.slug < b.slug ? -1 : 1));
      const first = find({ projectId, environment: DEFAULT_ENVIRONMENT });
      return [...(first ? [first] : []), ...others];
    },
    async find(ns) {
      return find(ns);
    },
    async exists(ns) {
      return ns.environment === DEFAULT_ENVIRONMENT || named.has(spaceOf(ns));
    },
    async lineage(ns) {
      const chain: string[] = [];
      for (
        let env = find(ns);
        env && chain.length < LINEAGE_MAX && !chain.includes(env.slug);
        env = env.parent ? find({ ...ns, environment: env.parent }) : null
      ) {
        chain.push(env.slug);
      }
      return chain.length === 0 ? null : chain;
    },
    async create(projectId, slug, name, at, parent = null) {
      const id = spaceOf({ projectId, environment: slug });
      if (named.has(id)) throw new EnvironmentTakenError(slug);
      const record = { id, slug, name, createdAt: at, parent };
      named.set(id, record);
      return record;
    },
    async update(ns, change) {
      const current = find(ns);
      if (!current) return null;
      const updated = {
        ...current,
        ...(change.name === undefined ? {} : { name: change.name }),
        ...(change.parent === undefined ? {} : { parent: change.parent }),
      };
      named.set(spaceOf(ns), updated);
      return updated;
    },
    async remove(ns) {
      if (!named.has(spaceOf(ns))) return 'not_found';
      const held = secretsIn(ns);
      const deleted = held.filter((e) => e.record.deletedAt !== null).length;
      if (held.length > 0) return { live: held.length - deleted, deleted };
      named.delete(spaceOf(ns));
      return 'removed';
    },
    async isOpen(ns) {
      return isOpenNow(ns);
    },
    isOpenNow,
  };
}
