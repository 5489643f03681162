// The storage seam: what the secret service asks of a store, and nothing of
// how the store keeps it. The service decides (scopes, what compare-and-set
// means, renames, reveal, audit); a store persists, and makes its writes safe
// against racing writers by whatever its database offers. mongo/store.ts is
// the one for MongoDB and FerretDB alike: no transactions, so every race is
// decided by an insert or update under a unique index. A store on a MongoDB
// replica set using transactions would implement this same interface.
import type { SealedValue, ValueContext } from '../crypto/envelope.ts';
import type { PublicSecret, SecretVersionInfo } from './model.ts';

/**
 * Where a secret lives. Every store call names one, and only the store knows
 * how it keys its documents and indexes by it: a new dimension (an
 * environment) is a field here and a change in the store, not in its callers.
 */
export interface Namespace {
  readonly projectId: string;
  /** An environment's slug: "default" in every project. */
  readonly environment: string;
}

export { DEFAULT_ENVIRONMENT } from './model.ts';

/** A secret as the store hands it to the service: its public fields and the store's own bookkeeping. */
export interface SecretRecord extends PublicSecret {
  /** Deleted: when its recovery window ends. */
  readonly purgeAt: Date | null;
}

/** Seals a value for the version the store assigns: the store decides the number, the caller the crypto. */
export type Sealer = (context: ValueContext) => SealedValue;

/** How a caller names a secret to the store: by id, by name, or by either (Together). */
export type SecretLocator = { readonly id: string } | { readonly name: string } | { readonly idOrName: string };

/** The metadata of a new secret; its value comes through the Sealer. */
export interface SecretDraft {
  readonly name: string;
  readonly description: string | null;
  readonly provider: string | null;
  readonly expiresAt: Date | null;
  readonly ttlSeconds: number | null;
  readonly createdBy: string;
}

/** Metadata fields a change sets; absent ones stay as they are. */
export type MetadataChange = { -readonly [K in 'description' | 'provider' | 'expiresAt' | 'ttlSeconds']?: SecretRecord[K] };

/** One change to a live secret (SecretStore.change). */
export interface SecretChange {
  readonly metadata: MetadataChange;
  /** A new name; absent: it keeps its own. */
  readonly name?: string | undefined;
  /** A new value; absent: the value and version stay. */
  readonly value?: Sealer | undefined;
  /** In place of `value`: the version reserve() took, made current now. */
  readonly reserved?: Reservation | undefined;
  /** With a value: the version the caller last saw. */
  readonly expected?: number | undefined;
  readonly by: string;
}

/** A version's sealed value and the context its seals are bound to: plain ids and bytes, whatever the store. */
export interface SealedVersion {
  readonly context: ValueContext;
  readonly sealed: SealedValue;
}

/** A version taken ahead of its change (SecretStore.reserve): its number is no other writer's. */
export interface Reservation {
  readonly secretId: string;
  readonly version: number;
}

/** Where a page of deleted secrets (newest deletion first) goes on from. */
export interface DeletedCursor {
  readonly deletedAt: Date;
  readonly id: string;
}

export interface Page<T> {
  readonly items: T[];
  readonly hasNextPage: boolean;
}

/** What a restore found, when it did not bring the secret back. */
export type RestoreRefusal = 'not_found' | 'in_progress';

/** A page of live secrets in name order. */
export interface ListPage {
  readonly first: number;
  readonly after?: string | undefined;
  readonly nameStartsWith?: string | undefined;
}

export interface SecretStore {
  /** The environments secrets live in. */
  readonly environments: EnvironmentStore;
  /** The records that serve a create once per Idempotency-Key. */
  readonly idempotency: IdempotencyStore;
  /** Every sealed value it keeps, as master-key rotation sees them. */
  readonly seals: SealStore;
  /** Names an environment hides from what it inherits. */
  readonly tombstones: TombstoneStore;
  /** Values an API key holds for itself over an environment's. */
  readonly overrides: OverrideStore;
  /** Named sets of versions, pinned against pruning. */
  readonly snapshots: SnapshotStore;
  /** The live secret (not deleted, not past its expiry at `at`) the locator names, or null. */
  findLive(ns: Namespace, locator: SecretLocator, at: Date): Promise<SecretRecord | null>;
  /** Live secrets in name order, `first` of them after the name `after`; with `nameStartsWith`, only names that begin so. */
  listLive(ns: Namespace, page: ListPage, at: Date): Promise<Page<SecretRecord>>;
  /** Every live secret, in name order. */
  /** With `sealed`, each record carries its sealed current value too, so that sealedCurrent reads nothing more. */
  listAllLive(ns: Namespace, at: Date, options?: { sealed?: boolean }): Promise<SecretRecord[]>;
  /** Deleted secrets in their recovery window, newest deletion first (expired ones marked deleted first). */
  listDeleted(ns: Namespace, page: { first: number; after?: DeletedCursor | undefined }, at: Date): Promise<Page<SecretRecord>>;
  /** A secret's versions, newest first, before `before`: metadata only. */
  listVersions(secret: SecretRecord, page: { first: number; before?: number | undefined }): Promise<Page<SecretVersionInfo>>;

  /**
   * Creates a live secret at version 1: its name and a quota slot are taken
   * by the one write that makes it visible (SecretNameTakenError,
   * QuotaExceededError), after its sealed value exists. Into an environment
   * being deleted, or gone, it is undone: EnvironmentNotFoundError.
   */
  create(ns: Namespace, draft: SecretDraft, seal: Sealer, at: Date): Promise<SecretRecord>;
  /**
   * Changes a live secret in one call: metadata, a rename (refused with
   * SecretNameTakenError when another live secret holds the name) and, with
   * `value`, a new version sealed for the number the store assigns. With
   * `expected`, only version expected + 1 will do (VersionMismatchError
   * otherwise, decided by the store among racing writers). A refused change
   * leaves no new version current. Returns the secret as changed.
   */
  change(secret: SecretRecord, change: SecretChange, at: Date): Promise<SecretRecord>;
  /**
   * Takes version `expected + 1` of a secret, sealed, before the change that
   * makes it current (change with `reserved`) or gives it up (release): from
   * now on a writer that expects `expected` is refused, as this one is
   * (VersionMismatchError) when another took the number first. What a change
   * of several secrets reserves first, so that a concurrent write refuses it
   * before it changed any.
   */
  reserve(secret: SecretRecord, seal: Sealer, expected: number, by: string, at: Date): Promise<Reservation>;
  /** Gives a reserved version up: its number stays taken, it is never current. */
  release(reservation: Reservation): Promise<void>;
  /**
   * Deletes a live secret: its name and quota slot are free at once; it is
   * kept for `recoveryWindowMs` (purged at once with 0). Null: it was not
   * live any more.
   */
  softDelete(secret: SecretRecord, by: string, at: Date): Promise<SecretRecord | null>;
  /**
   * Brings a deleted secret back under its name in a quota slot, unless a
   * purge decided its fate first or its window has passed. `rearm` gives the
   * expiry fields of one back from past its expiry. A live secret comes back
   * unchanged.
   */
  restore(ns: Namespace, id: string, by: string, at: Date, rearm: (gone: SecretRecord) => MetadataChange): Promise<SecretRecord | RestoreRefusal>;
  /** Marks expired secrets deleted, purges those past their window, forgets expired Idempotency-Key records. Returns how many were purged. */
  sweep(at: Date, batch: number, budgetMs: number): Promise<number>;

  /** The sealed value of one version, or null. */
  sealedVersion(secret: SecretRecord, version: number): Promise<SealedVersion | null>;
  /** The sealed current values of these secrets (the newest, where one was pruned meanwhile), by secret id. */
  sealedCurrent(secrets: readonly PublicSecret[]): Promise<Map<string, SealedVersion>>;
}

/** What a request with an Idempotency-Key left: pending while it runs, then the public secret it answered. */
export interface IdempotencyRecord {
  /** Keyed digest of the request: equal requests match, and no value can be read back from it. */
  readonly fingerprint: string;
  /** The master key the fingerprint's key was derived from. */
  readonly keyId: string;
  /** The first result (never a value); null while the request is pending. */
  readonly result: PublicSecret | null;
  readonly createdAt: Date;
  /** From then on the key is free again. */
  readonly expiresAt: Date;
}

export interface IdempotencyStore {
  /**
   * Takes an Idempotency-Key of a namespace for a request, pending: null when
   * it was free, or the record that holds it. Of racing requests with one
   * key, exactly one takes it (IdempotencyKeyInProgressError should it keep
   * changing hands).
   */
  claim(ns: Namespace, key: string, record: Omit<IdempotencyRecord, 'result'>): Promise<IdempotencyRecord | null>;
  /** Keeps the first result of the request that claimed the key. */
  complete(ns: Namespace, key: string, result: PublicSecret): Promise<void>;
  /** Frees the key (with `pendingOnly`, only while its record is pending). */
  release(ns: Namespace, key: string, pendingOnly?: boolean): Promise<void>;
}

/** One sealed value a store keeps (a version's, or a copy of it), under an id of the store's own. */
export interface StoredSeal {
  readonly id: string;
  readonly value: SealedVersion;
}

/**
 * The sealed values a store keeps, found by the master key that wraps their
 * data key, and replaced in place: what master-key rotation needs, and
 * nothing of how they are stored. Each replacement is one write, so a reader
 * sees the old sealed value or the new one, never half of each.
 */
export interface SealStore {
  /** How many are under each master key but `activeId`. */
  countByKey(activeId: string): Promise<Record<string, number>>;
  /** Some of those under one of `keyIds` (up to `size` of each kind the store keeps), but those whose id is in `skip`. */
  under(keyIds: readonly string[], size: number, skip: readonly string[]): Promise<StoredSeal[]>;
  /** Replaces each seal by the same value sealed anew (its data key re-wrapped); returns how many it found. */
  replace(replacements: readonly { readonly seal: StoredSeal; readonly sealed: SealedValue }[]): Promise<number>;
}

export interface EnvironmentRecord {
  readonly id: string;
  readonly slug: string;
  readonly name: string;
  readonly createdAt: Date;
  /** The slug of the environment it inherits from; null: none. */
  readonly parent: string | null;
}

/** How far up an environment's parents go, itself included: the nearest first. */
export const LINEAGE_MAX = 9;

/** What deleting an environment found. */
export type EnvironmentRemoval = 'removed' | 'not_found' | { readonly live: number; readonly deleted: number };

export interface EnvironmentStore {
  /** The project's environments, "default" first, then by slug. */
  list(projectId: string): Promise<EnvironmentRecord[]>;
  /** The environment, or null ("default" always exists). */
  find(ns: Namespace): Promise<EnvironmentRecord | null>;
  /** Whether it exists: "default" at no cost, another by one lookup of its _id. */
  exists(ns: Namespace): Promise<boolean>;
  /**
   * The environment and those it inherits from, nearest first (at most
   * LINEAGE_MAX, should a race have made a cycle or a deeper chain); null:
   * it does not exist. "default" inherits nothing and costs nothing; another
   * costs one lookup by _id per environment in its chain.
   */
  lineage(ns: Namespace): Promise<string[] | null>;
  create(projectId: string, slug: string, name: string, at: Date, parent?: string | null): Promise<EnvironmentRecord>;
  /** Renames it and/or sets its parent (null: none); absent fields stay. */
  update(ns: Namespace, change: { name?: string | undefined; parent?: string | null | undefined }): Promise<EnvironmentRecord | null>;
  /** Deletes an empty environment ("default" is never passed here). */
  remove(ns: Namespace, at: Date): Promise<EnvironmentRemoval>;
  /** Whether secrets may be written into it now: it exists and no delete is under way. */
  isOpen(ns: Namespace): Promise<boolean>;
}

/** A name an environment hides from its parents: a secret deleted in it while inherited. */
export interface TombstoneStore {
  /** The names the environment hides. */
  names(ns: Namespace): Promise<Set<string>>;
  hide(ns: Namespace, name: string, by: string, at: Date): Promise<void>;
  /** Whether it hid the name. */
  unhide(ns: Namespace, name: string): Promise<boolean>;
}

/** A personal override: one API key's own value for a name of an environment (never its value here). */
export interface OverrideRecord {
  readonly environment: string;
  readonly owner: string;
  readonly name: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface OverrideStore {
  /** The owner's overrides in the environment, each with its sealed value, in name order. */
  list(ns: Namespace, owner: string): Promise<(OverrideRecord & { readonly sealed: SealedVersion })[]>;
  /** Sets (or replaces) the owner's override of `name`, sealed for a context of the store's own. */
  set(ns: Namespace, owner: string, name: string, seal: Sealer, at: Date): Promise<OverrideRecord>;
  /** Whether there was one. */
  remove(ns: Namespace, owner: string, name: string): Promise<boolean>;
}

/** One secret of a snapshot: the version it pins. */
export interface SnapshotEntry {
  readonly secretId: string;
  readonly name: string;
  readonly version: number;
  readonly versionCreatedAt: Date;
}

export interface SnapshotRecord {
  readonly id: string;
  readonly projectId: string;
  readonly environment: string;
  readonly name: string;
  readonly createdAt: Date;
  readonly createdBy: string;
  /** In name order. */
  readonly entries: readonly SnapshotEntry[];
}

/** A version a snapshot pins, as a moment past the versions kept is answered from. */
export interface Pin {
  readonly snapshotId: string;
  /** When the snapshot was taken: the version was current then. */
  readonly pinnedAt: Date;
  readonly version: number;
  readonly versionCreatedAt: Date;
  readonly sealed: SealedVersion;
}

export interface SnapshotStore {
  /**
   * Takes a snapshot named `name` (unique in its environment:
   * SnapshotNameTakenError) of these versions with their sealed values: a
   * copy of each is kept with the snapshot, so that pruning a secret's
   * versions keeps the ones it names until it is deleted; a purge takes them.
   */
  create(ns: Namespace, name: string, entries: readonly (SnapshotEntry & { readonly sealed: SealedVersion })[], by: string, at: Date): Promise<SnapshotRecord>;
  /** The environment's snapshots, newest first. */
  list(ns: Namespace): Promise<SnapshotRecord[]>;
  /** A snapshot of the project by id, or null. */
  find(projectId: string, id: string): Promise<SnapshotRecord | null>;
  /** Deletes a snapshot and its pins; false: there was none. */
  remove(projectId: string, id: string): Promise<boolean>;
  /** The versions of a secret that snapshots pin. */
  pinsOf(secret: SecretRecord): Promise<Pin[]>;
}
