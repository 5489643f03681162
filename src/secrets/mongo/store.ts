// The secret store on MongoDB and FerretDB alike. Neither FerretDB nor our use
// of MongoDB has transactions, so every race is decided by a write under a
// unique index, and writes are ordered so that a crash at any step leaves
// nothing visible half-made:
//   secrets          nameKey, slotKey      who holds a name, and a quota slot
//   secret_versions  _id <secretId>:<v>    who writes a version
//   secret_fates     _id                   a deleted secret's restore or purge
// Hot paths read by _id alone (the one filter FerretDB hands to SQLite, and
// the cheapest on MongoDB): a secret with its sealed current value by its id,
// a name through secret_names (a pointer, checked against the secret), a
// version by "<secretId>:<version>".
// How documents are keyed is keys.ts's alone: callers name a Namespace.
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { Collection } from 'mongodb';
import { Types } from 'mongoose';
import type { SecretLimits } from '../../config.ts';
import type { SealedValue } from '../../crypto/envelope.ts';
import { isDatabaseUnavailable, isDuplicateKeyError, parseObjectId } from '../../db/errors.ts';
import type { Models } from '../../db/models/index.ts';
import type { SecretDoc } from '../../db/models/secret.ts';
import type { SecretNameDoc } from '../../db/models/secret-name.ts';
import { sealedBytesOf, sealedOf, type StoredSecretVersion } from '../../db/models/secret-version.ts';
import { EnvironmentNotFoundError, QuotaExceededError, SecretNameTakenError, SecretNotFoundError, VersionMismatchError } from '../errors.ts';
import { createMongoEnvironmentStore } from './environments.ts';
import { createMongoIdempotencyStore } from './idempotency.ts';
import { createMongoSealStore } from './seals.ts';
import { settleVersionPointer } from './version-pointer.ts';
import { fateIdOf, keyPrefixOf, nameKeyOf, retiredKeyOf, slotKeyOf, versionIdOf } from './keys.ts';
import { isLive, type PublicSecret, type SecretVersionInfo } from '../model.ts';
import { DEFAULT_ENVIRONMENT, type Namespace, type SealedVersion, type SecretChange, type SecretRecord, type SecretStore, type Sealer } from '../store.ts';

/** A version appendVersion wrote, with the sealed value applyChange makes current. */
interface Appended {
  readonly version: number;
  readonly sealed: SealedValue;
}

/** A secret with an expiry (past, where it is used). */
type ExpiredSecret = HeadDoc & { expiresAt: Date };
/** A deleted secret, as its fate is decided. */
type DeletedSecret = HeadDoc & { deletedAt: Date };
/** A sealed value as stored. */
type SealedFields = Pick<StoredSecretVersion, 'keyId' | 'wrappedKey' | 'ciphertext'>;
/** The secret document as read: with the sealed current value, when not projected out. */
type HeadDoc = Omit<SecretDoc, 'current'> & { current?: SealedFields | null };
/** Lists leave the sealed value out: they return no value, and it is most of a document. */
const WITHOUT_VALUE = { projection: { current: 0 } };

interface FateDoc {
  _id: string;
  secretId: Types.ObjectId;
  action: 'restore' | 'purge';
  owner: string;
  at: Date;
}

/** How often a write retries when other writers keep taking what it wanted. */
const ATTEMPTS = 20;
const BLIND_SLOT_TRIES = 4;
/** Sealed versions with no secret, this old, were left by a crash (a create is over in seconds). */
const ORPHAN_VERSION_AGE_MS = 24 * 3600 * 1000;
/** How often the sweep looks for them: it reads every secret id, so not every minute. */
const ORPHAN_SWEEP_INTERVAL_MS = 3600 * 1000;
/**
 * How long the fate of a deleted secret, taken by a request that then
 * vanished (a crash), holds before another request may take it over. Only
 * liveness depends on it: a holder that lost its fate never reports success.
 */
const ABANDONED_FATE_MS = 60_000;

/** How long a node goes by its own count of a namespace's deleted secrets before it counts them again. */
const DELETED_RECOUNT_MS = 60_000;

/** A secret document as a record, without its sealed value. */
function plainRecordOf(doc: HeadDoc): SecretRecord {
  return {
    id: doc._id.toHexString(),
    projectId: doc.projectId.toHexString(),
    environment: doc.environment ?? DEFAULT_ENVIRONMENT,
    name: doc.name,
    version: doc.version,
    description: doc.description ?? null,
    provider: doc.provider ?? null,
    createdBy: doc.createdBy,
    lastUpdatedBy: doc.lastUpdatedBy,
    createdAt: new Date(doc.createdAt),
    updatedAt: new Date(doc.updatedAt),
    deletedAt: doc.deletedAt ? new Date(doc.deletedAt) : null,
    expiresAt: doc.expiresAt ? new Date(doc.expiresAt) : null,
    ttlSeconds: doc.ttlSeconds ?? null,
    purgeAt: doc.purgeAt ? new Date(doc.purgeAt) : null,
  };
}

/** The sealed current value a secret document carries. */
function currentOf(doc: HeadDoc): SealedVersion | null {
  if (!doc.current) return null;
  return { context: { projectId: doc.projectId.toHexString(), secretId: doc._id.toHexString(), version: doc.version }, sealed: sealedBytesOf(doc.current) };
}

/** Still marked live, but past its expiry: due to become a deleted secret. */
function isExpired<T extends Pick<HeadDoc, 'deletedAt' | 'expiresAt'>>(doc: T, at: Date): doc is T & { expiresAt: Date } {
  return doc.deletedAt == null && doc.expiresAt != null && doc.expiresAt.getTime() <= at.getTime();
}

/** The query filter of live secrets at `at` (see isLive). */
function liveFilter(at: Date) {
  return { deletedAt: null, $or: [{ expiresAt: null }, { expiresAt: { $gt: at } }] };
}

const oid = (id: string) => new Types.ObjectId(id);

/** The filter of a namespace's secrets: "default" holds those from before environments too, which name none. */
const inNamespace = (ns: Namespace) => ({
  projectId: oid(ns.projectId),
  environment: ns.environment === DEFAULT_ENVIRONMENT ? { $in: [DEFAULT_ENVIRONMENT, null] } : ns.environment,
});
const namespaceOfRecord = (secret: { projectId: string; environment: string }): Namespace => ({ projectId: secret.projectId, environment: secret.environment });
const namespaceOfDoc = (doc: Pick<HeadDoc, 'projectId' | 'environment'>): Namespace => ({
  projectId: doc.projectId.toHexString(),
  environment: doc.environment ?? DEFAULT_ENVIRONMENT,
});

/** New secret ids are random, not time-ordered: secret_versions, sharded on secretId, then spreads its inserts over every shard. */
const newSecretId = () => new Types.ObjectId(randomBytes(12));

/**
 * A live secret at version 1, its sealed value and its name's pointer, as
 * this store writes them, for benchmarks and tests that fill a database
 * directly (insert the version first). `slot` must be free in the namespace.
 */
export function seedDocuments(ns: Namespace, secret: { name: string; slot: number; createdBy: string }, seal: Sealer, at = new Date()) {
  const _id = newSecretId();
  const projectId = oid(ns.projectId);
  const sealed = seal({ projectId: ns.projectId, secretId: _id.toHexString(), version: 1 });
  return {
    secret: {
      _id,
      projectId,
      environment: ns.environment,
      name: secret.name,
      version: 1,
      description: null,
      provider: null,
      createdBy: secret.createdBy,
      lastUpdatedBy: secret.createdBy,
      createdAt: at,
      updatedAt: at,
      deletedAt: null,
      purgeAt: null,
      expiresAt: null,
      ttlSeconds: null,
      nameKey: nameKeyOf(ns, secret.name),
      slot: secret.slot,
      slotKey: slotKeyOf(ns, secret.slot),
      current: sealed,
    },
    version: { _id: versionIdOf(_id, 1), projectId, secretId: _id, version: 1, ...sealed, createdAt: at, createdBy: secret.createdBy },
    name: { _id: nameKeyOf(ns, secret.name), secretId: _id },
  };
}

/** Writes what seedDocuments made, in the order this store writes it: sealed values, then secrets, then their names' pointers. */
export async function insertSeeded(models: Pick<Models, 'Secret' | 'SecretVersion' | 'SecretName'>, seeded: ReturnType<typeof seedDocuments>[]): Promise<void> {
  if (seeded.length === 0) return;
  await models.SecretVersion.collection.insertMany(seeded.map((s) => s.version) as never[]);
  await models.Secret.collection.insertMany(seeded.map((s) => s.secret));
  await models.SecretName.collection.insertMany(seeded.map((s) => s.name) as never[]);
}

/** The collections this store keeps (and makes the indexes of); it reads Project's too. */
export const MONGO_STORE_MODELS = ['Secret', 'SecretVersion', 'SecretName', 'IdempotencyKey', 'SecretFate', 'Environment'] as const;

export interface MongoSecretStoreDeps {
  readonly models: Pick<Models, (typeof MONGO_STORE_MODELS)[number] | 'Project'>;
  readonly limits: SecretLimits;
  readonly now: () => Date;
  /** Told of each expired secret this store marked deleted (as of its expiry), to audit it. */
  readonly onExpired: (secret: SecretRecord) => Promise<void>;
}

/** The store and its start-up compaction: open it with openMongoSecretStore (open.ts), which runs that. */
export function createMongoSecretStore(deps: MongoSecretStoreDeps): SecretStore & { compactSlots(): Promise<void> } {
  const { Secret, SecretVersion, SecretName, IdempotencyKey, SecretFate } = deps.models;
  const fates = SecretFate.collection as unknown as Collection<FateDoc>;
  const names = SecretName.collection as unknown as Collection<SecretNameDoc>;
  const versions = SecretVersion.collection as unknown as Collection<StoredSecretVersion & { createdAt: Date; createdBy: string }>;
  // The sealed current value read with a record, so that opening it costs no
  // second read (records are the store's own objects; a copy misses, and reads).
  const sealedWith = new WeakMap<object, SealedVersion>();
  /** A secret document as a record that carries its sealed current value (for sealedVersion and sealedCurrent). */
  const recordCarryingValueOf = (doc: HeadDoc): SecretRecord => {
    const record = plainRecordOf(doc);
    const sealed = currentOf(doc);
    if (sealed) sealedWith.set(record, sealed);
    return record;
  };
  const { limits, now } = deps;
  /** The namespaces where compactSlots last found secrets in slots past the limit (a limit lowered). */
  const pastTheLimit = new Set<string>();
  /** Deleted secrets per namespace as last counted, plus this node's deletes since. */
  const deletedCounts = new Map<string, { count: number; at: number }>();
  const environments = createMongoEnvironmentStore({ models: deps.models, secretsIn: inNamespace });

  // ---- names and quota slots: unique keys on the secret document ---------------
  //
  // A live secret's document carries nameKey "<namespace>/<name>" and slotKey
  // "<namespace>/<slot>" (slot: one of the environment's PROJECT_SECRET_LIMIT),
  // each under a unique index; a deleted one carries "deleted/<id>" in both.
  // So the one write that makes a secret live (its insert, its restore) or
  // renames it is refused by the database itself when the name or the slot is
  // taken: no interleaving of creates, renames and restores, and no clock of
  // any node, can give two live secrets one name or one slot. Nothing is
  // claimed ahead of that write, so nothing can go stale.

  /** The keys of a secret that is not live: its own, so they collide with nothing. */
  const retiredKeys = (secretId: Types.ObjectId) => ({
    nameKey: retiredKeyOf(secretId.toHexString()),
    slotKey: retiredKeyOf(secretId.toHexString()),
    slot: null,
  });

  /**
   * After a write refused on a unique key: the live secret that holds the
   * name, when it is another's (null: none, so it was the slot). An expired
   * holder is marked deleted first, since it is gone at its expiry and so is
   * its hold on the name: then 'expired', and the write can be tried again.
   * Found by the name's pointer (two lookups by _id); `thorough`: by the
   * name's key itself, for a holder whose pointer is not written yet.
   */
  async function otherHolderOf(ns: Namespace, name: string, secretId: Types.ObjectId, at: Date, thorough: boolean): Promise<HeadDoc | null | 'expired'> {
    const nameKey = nameKeyOf(ns, name);
    const pointed = await names.findOne({ _id: nameKey });
    let holder = pointed ? await Secret.collection.findOne<HeadDoc>({ _id: pointed.secretId }) : null;
    if (holder?.nameKey !== nameKey) holder = thorough ? await Secret.collection.findOne<HeadDoc>({ projectId: oid(ns.projectId), nameKey }) : null;
    if (!holder || holder._id.equals(secretId)) return null;
    if (isExpired(holder, at)) {
      await expire(holder);
      return 'expired';
    }
    return holder;
  }

  /**
   * A free quota slot of the namespace: the taken ones are read (expired
   * secrets give theirs up first), and a random free one is picked, so that
   * racing writers rarely pick the same. None free: QuotaExceededError; the
   * name held by another live secret (read in the same pass): SecretNameTakenError.
   */
  async function freeSlot(ns: Namespace, name: string, secretId: Types.ObjectId, at: Date): Promise<number> {
    const live = await Secret.collection
      .find<HeadDoc>(
        { ...inNamespace(ns), deletedAt: null },
        { projection: { slot: 1, deletedAt: 1, expiresAt: 1, projectId: 1, environment: 1, name: 1, nameKey: 1, version: 1 } },
      )
      .toArray();
    const used = new Set<number>();
    const nameKey = nameKeyOf(ns, name);
    for (const doc of live) {
      if (isExpired(doc, at)) await expire(doc);
      else if (doc.nameKey === nameKey && !doc._id.equals(secretId)) throw new SecretNameTakenError(name);
      else if (typeof doc.slot === 'number') used.add(doc.slot);
    }
    const free: number[] = [];
    for (let slot = 0; slot < limits.projectSecretLimit; slot++) if (!used.has(slot)) free.push(slot);
    // Secrets past a lowered limit hold slots above it: they count all the same.
    if (free.length === 0 || used.size >= limits.projectSecretLimit) throw new QuotaExceededError(limits.projectSecretLimit);
    return free[randomInt(free.length)]!;
  }

  /**
   * A slot below the limit was just freed: should the project hold secrets in
   * slots past a lowered limit, one moves into it, so that the free slots
   * below the limit stay as many as the project may still create (the
   * unique slotKey decides, should two move at once).
   */
  async function refillFreedSlot(ns: Namespace, slot: number | null | undefined): Promise<void> {
    // Only where compactSlots last found secrets past the limit (it runs at start and with each sweep).
    if (typeof slot !== 'number' || slot >= limits.projectSecretLimit || !pastTheLimit.has(keyPrefixOf(ns))) return;
    const over = await Secret.collection.findOne<HeadDoc>(
      { ...inNamespace(ns), deletedAt: null, slot: { $gte: limits.projectSecretLimit } },
      { projection: { slot: 1 } },
    );
    if (!over) return;
    await Secret.updateOne({ _id: over._id, slot: over.slot }, { $set: { slot, slotKey: slotKeyOf(ns, slot) } }).catch((err: unknown) => {
      if (!isDuplicateKeyError(err)) throw err;
    });
  }

  /**
   * Makes a secret live under `name` in a quota slot, through `write` (the
   * insert or update that sets the keys it is given). The first tries are
   * random slots, blind: in a project below its limit one of them is almost
   * always free (all four are taken at 50% full one time in 16), so a create
   * costs one write and no read however many secrets the project has. A
   * refusal on the name is SecretNameTakenError.
   */
  async function goLive(
    ns: Namespace,
    secretId: Types.ObjectId,
    name: string,
    at: Date,
    write: (keys: { nameKey: string; slot: number; slotKey: string }) => Promise<void>,
  ): Promise<void> {
    const nameKey = nameKeyOf(ns, name);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const blind = attempt < BLIND_SLOT_TRIES;
      const slot = blind ? randomInt(limits.projectSecretLimit) : await freeSlot(ns, name, secretId, at);
      try {
        await write({ nameKey, slot, slotKey: slotKeyOf(ns, slot) });
        return;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      // Blind: the name's pointer tells (a holder not pointed at yet shows in freeSlot's read, next).
      const holder = await otherHolderOf(ns, name, secretId, at, !blind);
      if (holder && holder !== 'expired') throw new SecretNameTakenError(name);
      // Otherwise the slot was taken (or the name's holder had expired): try again.
    }
    throw new QuotaExceededError(limits.projectSecretLimit);
  }

  /** Renames a live secret through `write` (the update that sets the nameKey it is given). */
  async function takeName(ns: Namespace, secretId: Types.ObjectId, name: string, at: Date, write: (nameKey: string) => Promise<void>): Promise<void> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        await write(nameKeyOf(ns, name));
        return;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      const holder = await otherHolderOf(ns, name, secretId, at, attempt > 0);
      if (holder && holder !== 'expired') throw new SecretNameTakenError(name);
      // Released meanwhile, or its holder had expired: try again.
    }
    throw new SecretNameTakenError(name);
  }

  // ---- value versions ---------------------------------------------------------

  async function insertVersion(secret: { _id: Types.ObjectId; projectId: Types.ObjectId }, version: number, seal: Sealer, at: Date, by: string) {
    const sealed = seal({ projectId: secret.projectId.toHexString(), secretId: secret._id.toHexString(), version });
    const _id = versionIdOf(secret._id, version);
    await SecretVersion.collection.insertOne({
      _id,
      projectId: secret.projectId,
      secretId: secret._id,
      version,
      ...sealed,
      createdAt: at,
      createdBy: by,
    } as never);
    return sealed;
  }

  /**
   * Writes the secret's next version; with `expected`, only version
   * expected + 1 will do (VersionMismatchError otherwise, decided by the
   * insert among racing writers). It is not the secret's current version
   * until applyChange makes it so.
   */
  async function appendVersion(secret: SecretRecord, seal: Sealer, at: Date, by: string, expected: number | undefined): Promise<Appended> {
    const ids = { _id: oid(secret.id), projectId: oid(secret.projectId) };
    const insert = async (version: number) => ({ version, sealed: await insertVersion(ids, version, seal, at, by) });
    // Compare-and-set: the insert of the next version's _id lets exactly
    // one of several writers with the same expectation win. A pointer
    // behind the newest version (FerretDB, for an instant) is no mismatch
    // when the expected version exists.
    if (expected !== undefined) {
      if (expected < secret.version || (expected > secret.version && !(await versionAt(ids._id, expected)))) {
        throw new VersionMismatchError(expected, secret.version);
      }
      try {
        return await insert(expected + 1);
      } catch (err) {
        if (isDuplicateKeyError(err)) throw new VersionMismatchError(expected, expected + 1);
        throw err;
      }
    }
    for (let version = secret.version + 1, attempt = 1; ; version++, attempt++) {
      try {
        return await insert(version);
      } catch (err) {
        // Another writer took this number first: the next one.
        if (!isDuplicateKeyError(err) || attempt >= ATTEMPTS) throw err;
      }
    }
  }

  /**
   * Applies a change to a live secret: metadata, a rename (refused with
   * SecretNameTakenError when another live secret holds the name), and the
   * version appendVersion wrote, which is voided if the change is refused.
   */
  async function applyChange(secret: SecretRecord, change: SecretChange, at: Date, appended: Appended | undefined): Promise<SecretRecord> {
    const _id = oid(secret.id);
    const version = appended?.version ?? secret.version;
    const renamed = change.name !== undefined && change.name !== secret.name;
    const changes = { ...change.metadata, lastUpdatedBy: change.by, updatedAt: at };
    // A new name is taken by the same write as the other changes, refused
    // by the unique nameKey when another live secret holds it.
    const write = async (nameKey?: string) => {
      const named = nameKey === undefined ? {} : { name: change.name, nameKey };
      if (!appended) {
        await Secret.collection.updateOne({ _id }, { $set: { ...changes, ...named } });
        return;
      }
      const { keyId, wrappedKey, ciphertext } = appended.sealed;
      // By _id on both engines (FerretDB applies a filter on more to a read
      // made before the write, and scans for it): a newer version written
      // meanwhile is made current again after it (settleVersions).
      await Secret.collection.updateOne({ _id }, { $set: { ...changes, ...named, version, current: { keyId, wrappedKey, ciphertext } } });
    };
    try {
      if (renamed) await takeName(namespaceOfRecord(secret), _id, change.name!, at, write);
      else await write();
    } catch (err) {
      // The name was taken: the new value was not made the secret's either.
      if (appended) await voidVersion(_id, version);
      throw err;
    }
    if (renamed) await pointName(nameKeyOf(namespaceOfRecord(secret), change.name!), _id);
    if (appended) {
      await settleVersions(_id, version);
      await pruneVersions(_id, version);
    }
    const changed = { ...secret, ...changes, name: renamed ? change.name! : secret.name, version };
    // It carries the value it was just given, as a record read with its value does.
    if (appended) sealedWith.set(changed, { context: { projectId: secret.projectId, secretId: secret.id, version }, sealed: appended.sealed });
    else if (sealedWith.has(secret)) sealedWith.set(changed, sealedWith.get(secret)!);
    return changed;
  }

  /** A version document by _id; null when there is none, or it was voided. */
  async function versionAt(secretId: Types.ObjectId, version: number) {
    const doc = await versions.findOne({ _id: versionIdOf(secretId, version) });
    return doc && !(doc as { void?: boolean }).void ? doc : null;
  }

  /**
   * A version written for a change that was then refused (its new name was
   * taken) is voided, not deleted: its number stays taken, so the numbers of
   * a secret's versions have no gaps, and a check for a newer version (one
   * lookup of the next number) sees every version written after it.
   */
  async function voidVersion(secretId: Types.ObjectId, version: number): Promise<void> {
    await versions.updateOne({ _id: versionIdOf(secretId, version) }, { $set: { void: true }, $unset: { keyId: '', wrappedKey: '', ciphertext: '' } } as never);
  }

  const settleVersions = (secretId: Types.ObjectId, wrote: number) => settleVersionPointer(deps.models, secretId, wrote);

  /**
   * Forgets the version that fell out of the window kept: one delete by _id.
   * Each number is written once, so each writer forgets one, and versions past
   * the window are never read, whether forgotten yet or not.
   */
  async function pruneVersions(secretId: Types.ObjectId, version: number): Promise<void> {
    const last = prunedFrom(version);
    if (last >= 1) await versions.deleteOne({ _id: versionIdOf(secretId, last) });
  }

  /** The first version number not kept any more. */
  const prunedFrom = (current: number) => current - limits.versionsKept;

  /** Points a name at the secret that just took it, for reads by name. */
  async function pointName(nameKey: string, secretId: Types.ObjectId): Promise<void> {
    // A new name's pointer is an insert (on FerretDB an upsert is a query and
    // then an insert); one left by an earlier holder is replaced. Two upserts
    // of one new _id at once: one inserts, the other is refused as a
    // duplicate, and then finds the document to replace.
    try {
      await names.insertOne({ _id: nameKey, secretId });
      return;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await names.replaceOne({ _id: nameKey }, { secretId }, { upsert: true });
        return;
      } catch (err) {
        if (!isDuplicateKeyError(err) || attempt >= ATTEMPTS) throw err;
      }
    }
  }

  // ---- expiry -------------------------------------------------------------------

  /**
   * Makes an expired secret a deleted one, as of its expiry: its name and
   * quota slot are free, it can be restored during the recovery window, and
   * the expiry is reported (audited). Whoever meets an expired secret first
   * does this (a create wanting its name or slot, a restore, the sweep);
   * reads never wait for it, as they leave out whatever is past its expiry.
   * The update matches only the expiry seen, so an expiry extended meanwhile wins.
   */
  async function expire(doc: ExpiredSecret): Promise<void> {
    const expiredAt = doc.expiresAt;
    const marked = { _id: doc._id, deletedAt: null, expiresAt: expiredAt };
    if (limits.recoveryWindowMs === 0) {
      const { deletedCount } = await Secret.deleteOne(marked);
      if (deletedCount === 0) return;
      await forgetRemains(doc._id);
    } else {
      const purgeAt = new Date(expiredAt.getTime() + limits.recoveryWindowMs);
      const { matchedCount } = await Secret.updateOne(marked, { $set: { deletedAt: expiredAt, purgeAt, ...retiredKeys(doc._id) } });
      if (matchedCount === 0) return;
    }
    await refillFreedSlot(namespaceOfDoc(doc), doc.slot);
    await deps.onExpired(plainRecordOf(doc));
  }

  /** Marks up to `batch` expired secrets (of one namespace, or of all) as deleted. */
  async function expireDue(at: Date, ns: Namespace | undefined, batch: number): Promise<void> {
    const filter = { ...(ns ? inNamespace(ns) : {}), deletedAt: null, expiresAt: { $lte: at } };
    const due = await Secret.collection.find<ExpiredSecret>(filter).limit(batch).toArray();
    for (const doc of due) await expire(doc);
  }

  // ---- purges -------------------------------------------------------------------

  /** Removes a secret for good: the secret first, so nothing half-purged is visible. */
  async function purge(secretId: Types.ObjectId): Promise<void> {
    await Secret.deleteOne({ _id: secretId });
    await forgetRemains(secretId);
  }

  /** What is left of a secret whose document is gone: its sealed versions and its fates. */
  async function forgetRemains(secretId: Types.ObjectId): Promise<void> {
    await SecretVersion.deleteMany({ secretId });
    await SecretFate.deleteMany({ secretId });
    await SecretName.deleteMany({ secretId });
  }

  /**
   * Sealed versions whose secret does not exist, left by a crash between a
   * create's two writes or a purge's: old enough that no create still in
   * progress can be theirs (a day; clocks an hour apart change nothing).
   */
  let lastOrphanSweep = 0;
  async function collectOrphanVersions(at: Date): Promise<void> {
    const cutoff = new Date(at.getTime() - ORPHAN_VERSION_AGE_MS);
    const ids = (await SecretVersion.collection.distinct('secretId', { createdAt: { $lt: cutoff } })) as Types.ObjectId[];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const existing = new Set((await Secret.collection.find({ _id: { $in: chunk } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id.toHexString()));
      const orphans = chunk.filter((id) => !existing.has(id.toHexString()));
      if (orphans.length > 0) await SecretVersion.deleteMany({ secretId: { $in: orphans }, createdAt: { $lt: cutoff } });
    }
  }

  // ---- the fate of a deleted secret: restored or purged, never both -----------

  const fateOf = (doc: DeletedSecret) => fateIdOf(doc._id.toHexString(), doc.deletedAt);

  /**
   * Takes the fate of this deletion of the secret for `action`: the insert
   * under the fate's _id decides between a restore and a purge (and between
   * two of either). When another request holds it, what that one does,
   * unless it has held it so long that it was abandoned.
   */
  async function takeFate(doc: DeletedSecret, action: FateDoc['action'], owner: string, at: Date): Promise<true | FateDoc['action']> {
    const _id = fateOf(doc);
    let held: FateDoc | null = null;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fates.insertOne({ _id, secretId: doc._id, action, owner, at });
        return true;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      held = await fates.findOne({ _id });
      if (held && at.getTime() - held.at.getTime() < ABANDONED_FATE_MS) return held.action;
      if (held) await fates.deleteOne({ _id, owner: held.owner });
    }
    return held?.action ?? action;
  }

  const holdsFate = async (doc: DeletedSecret, owner: string) => (await fates.findOne({ _id: fateOf(doc) }))?.owner === owner;

  /**
   * An environment keeps at most PROJECT_DELETED_LIMIT deleted secrets: past it,
   * the oldest deletions are purged, as the sweep would (a restore that got
   * one's fate first keeps it). Deletes racing past the limit purge the same
   * oldest ones, so none purges more than needed.
   */
  async function keepDeletedWithinLimit(ns: Namespace): Promise<void> {
    const deleted = { ...inNamespace(ns), deletedAt: { $ne: null } };
    // Counted once in a while (and whenever the count known comes near the
    // limit), not on every delete: between counts, this node adds its own.
    const key = keyPrefixOf(ns);
    const known = deletedCounts.get(key);
    const at = Date.now();
    if (known && at - known.at < DELETED_RECOUNT_MS && known.count + 1 < limits.projectDeletedLimit) {
      known.count++;
      return;
    }
    const count = await Secret.collection.countDocuments(deleted);
    deletedCounts.set(key, { count, at });
    const over = count - limits.projectDeletedLimit;
    if (over <= 0) return;
    const oldest = await Secret.collection
      .find<DeletedSecret>(deleted, { projection: { _id: 1, deletedAt: 1 } })
      .sort({ deletedAt: 1, _id: 1 })
      .limit(over)
      .toArray();
    for (const doc of oldest) await purgeDeleted(doc);
  }

  /**
   * Purges a deleted secret whose window has passed, unless a restore got
   * its fate first, or restored it meanwhile: only what is still deleted
   * (by this same deletion) is purged.
   */
  async function purgeDeleted(doc: DeletedSecret): Promise<boolean> {
    if ((await takeFate(doc, 'purge', randomUUID(), now())) !== true) return false;
    const current = await Secret.collection.findOne<{ deletedAt: Date | null }>({ _id: doc._id }, { projection: { deletedAt: 1 } });
    if (current?.deletedAt?.getTime() !== doc.deletedAt.getTime()) {
      // Purged already by another sweep: the fate this one just took is all that is left of it.
      if (!current) await SecretFate.deleteMany({ secretId: doc._id });
      return false;
    }
    await purge(doc._id);
    return true;
  }

  /**
   * After PROJECT_SECRET_LIMIT was lowered (at start, and with each sweep):
   * live secrets in slots at or past the new limit move into free slots
   * below it, while there are some (the unique slot key decides, should nodes
   * do this at once); those left over keep theirs, and creates are refused
   * until the environment is back under its limit.
   */
  async function compactSlots(): Promise<void> {
    const over = await Secret.collection
      .find<HeadDoc>({ deletedAt: null, slot: { $gte: limits.projectSecretLimit } }, { projection: { projectId: 1, environment: 1, slot: 1 } })
      .toArray();
    pastTheLimit.clear();
    for (const doc of over) pastTheLimit.add(keyPrefixOf(namespaceOfDoc(doc)));
    const byNamespace = new Map<string, { ns: Namespace; secrets: HeadDoc[] }>();
    for (const doc of over) {
      const ns = namespaceOfDoc(doc);
      const key = keyPrefixOf(ns);
      byNamespace.set(key, { ns, secrets: [...(byNamespace.get(key)?.secrets ?? []), doc] });
    }
    for (const { ns, secrets } of byNamespace.values()) {
      const used = new Set(
        (await Secret.collection.find<{ slot: number }>({ ...inNamespace(ns), deletedAt: null }, { projection: { slot: 1 } }).toArray()).map((s) => s.slot),
      );
      const free = Array.from({ length: limits.projectSecretLimit }, (_, slot) => slot).filter((slot) => !used.has(slot));
      for (const secret of secrets) {
        const slot = free.shift();
        if (slot === undefined) break;
        await Secret.updateOne({ _id: secret._id, slot: secret.slot }, { $set: { slot, slotKey: slotKeyOf(ns, slot) } }).catch((err: unknown) => {
          if (!isDuplicateKeyError(err)) throw err;
        });
      }
    }
  }

  return {
    environments,
    idempotency: createMongoIdempotencyStore(deps.models),
    seals: createMongoSealStore(deps.models),

    async findLive(ns, locator, at) {
      // Each a lookup by _id, checked here: the filter stays {_id} alone.
      const live = (doc: HeadDoc | null) =>
        doc && doc.projectId.equals(ns.projectId) && (doc.environment ?? DEFAULT_ENVIRONMENT) === ns.environment && isLive(doc, at) ? doc : null;
      const byId = async (id: Types.ObjectId) => live(await Secret.collection.findOne<HeadDoc>({ _id: id }));
      const byName = async (name: string) => {
        const nameKey = nameKeyOf(ns, name);
        const pointer = await names.findOne({ _id: nameKey });
        const pointed = pointer && (await Secret.collection.findOne<HeadDoc>({ _id: pointer.secretId }));
        // The unique nameKey says who holds the name: the pointer is right when its secret still does.
        if (pointed && pointed.nameKey === nameKey) return live(pointed);
        // Missing or stale (its secret was renamed or deleted, or the
        // pointer's write was lost): the name's key decides, and the pointer is repaired.
        const holder = await Secret.collection.findOne<HeadDoc>({ projectId: oid(ns.projectId), nameKey });
        if (holder) await pointName(nameKey, holder._id);
        return live(holder);
      };
      let doc: HeadDoc | null = null;
      if ('name' in locator) {
        doc = await byName(locator.name);
      } else {
        const _id = parseObjectId('id' in locator ? locator.id : locator.idOrName);
        if (_id) doc = await byId(_id);
        if (!doc && 'idOrName' in locator) doc = await byName(locator.idOrName);
      }
      return doc ? recordCarryingValueOf(doc) : null;
    },

    async listLive(ns, page, at) {
      const live = { ...inNamespace(ns), ...liveFilter(at) };
      const filter = page.after === undefined ? live : { ...live, name: { $gt: page.after } };
      const docs = await Secret.collection
        .find<HeadDoc>(filter, WITHOUT_VALUE)
        .sort({ name: 1 })
        .limit(page.first + 1)
        .toArray();
      return { items: docs.slice(0, page.first).map(plainRecordOf), hasNextPage: docs.length > page.first };
    },

    async listAllLive(ns, at, options = {}) {
      const docs = await Secret.collection
        .find<HeadDoc>({ ...inNamespace(ns), ...liveFilter(at) }, options.sealed ? {} : WITHOUT_VALUE)
        .sort({ name: 1 })
        .toArray();
      return docs.map(recordCarryingValueOf);
    },

    async listDeleted(ns, page, at) {
      // Expired secrets are deleted ones: mark them first (a namespace has at
      // most its limit of secrets that are not), so they are listed as such.
      if (page.after === undefined) await expireDue(at, ns, limits.projectSecretLimit);
      const after =
        page.after === undefined
          ? {}
          : {
              $or: [{ deletedAt: { $lt: page.after.deletedAt } }, { deletedAt: page.after.deletedAt, _id: { $lt: oid(page.after.id) } }],
            };
      const docs = await Secret.collection
        .find<HeadDoc>({ ...inNamespace(ns), deletedAt: { $ne: null }, ...after }, WITHOUT_VALUE)
        .sort({ deletedAt: -1, _id: -1 })
        .limit(page.first + 1)
        .toArray();
      return { items: docs.slice(0, page.first).map(plainRecordOf), hasNextPage: docs.length > page.first };
    },

    async listVersions(secret, page) {
      const secretId = oid(secret.id);
      const kept = { $gt: prunedFrom(secret.version) };
      const filter = { secretId, void: { $ne: true }, version: page.before === undefined ? kept : { ...kept, $lt: page.before } };
      const docs = await SecretVersion.collection
        .find<SecretVersionInfo>(filter, { projection: { _id: 0, version: 1, createdAt: 1, createdBy: 1 } })
        .sort({ version: -1 })
        .limit(page.first + 1)
        .toArray();
      return {
        items: docs.slice(0, page.first).map((v) => ({ version: v.version, createdAt: v.createdAt, createdBy: v.createdBy })),
        hasNextPage: docs.length > page.first,
      };
    },

    async create(ns, draft, seal, at) {
      const projectId = oid(ns.projectId);
      const _id = newSecretId();
      // The sealed value, then the secret itself, whose insert decides its name
      // and quota slot: the secret is visible only once its value exists, and a
      // version left by a crash before the insert is never seen (the sweep
      // collects it).
      try {
        const current = await insertVersion({ _id, projectId }, 1, seal, at, draft.createdBy);
        const doc = {
          _id,
          projectId,
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
          purgeAt: null,
          expiresAt: draft.expiresAt,
          ttlSeconds: draft.ttlSeconds,
          current,
        };
        let live: HeadDoc | undefined;
        await goLive(ns, _id, draft.name, at, async (keys) => {
          const candidate = { ...doc, ...keys };
          await Secret.collection.insertOne(candidate);
          live = candidate;
        });
        // After the write, never before: a delete of the environment that
        // marked it closing meanwhile counts this secret, or this sees the mark.
        if (!(await environments.isOpen(ns))) {
          await purge(_id);
          throw new EnvironmentNotFoundError(ns.environment);
        }
        await pointName(live!.nameKey, _id);
        return recordCarryingValueOf(live!);
      } catch (err) {
        // With the database away the undo would only wait out server selection
        // again; the version left is invisible, and the sweep collects it.
        if (isDatabaseUnavailable(err)) throw err;
        if (err instanceof EnvironmentNotFoundError) throw err;
        // A write that failed ambiguously (the answer lost, say) may have been
        // applied: a secret that exists is not undone, it is the result.
        const exists = await Secret.collection.findOne<HeadDoc>({ _id });
        if (exists) return recordCarryingValueOf(exists);
        await SecretVersion.deleteMany({ secretId: _id });
        throw err;
      }
    },

    async change(secret, change, at) {
      const appended = change.value ? await appendVersion(secret, change.value, at, change.by, change.expected) : undefined;
      return applyChange(secret, change, at, appended);
    },

    async softDelete(secret, by, at) {
      const _id = oid(secret.id);
      const ns = namespaceOfRecord(secret);
      // The write returns the document as it was: its quota slot, freed by it.
      // (FerretDB's findAndModify takes no projection.)
      // By _id alone (a filter on more scans on FerretDB, and is not applied
      // atomically with the write there either): the document as it was tells
      // whether this write deleted a live secret.
      if (limits.recoveryWindowMs === 0) {
        const gone = await Secret.collection.findOneAndDelete({ _id });
        if (!gone) return null;
        await forgetRemains(_id);
        await refillFreedSlot(ns, gone.slot);
        return secret;
      }
      const purgeAt = new Date(at.getTime() + limits.recoveryWindowMs);
      // Its name and quota slot are free the moment it is deleted.
      const was = await Secret.collection.findOneAndUpdate({ _id }, { $set: { deletedAt: at, purgeAt, lastUpdatedBy: by, ...retiredKeys(_id) } });
      if (!was) return null;
      if (was.deletedAt !== null) {
        // Deleted already (a delete racing this one): that deletion stands, as it was.
        await Secret.collection.updateOne({ _id }, { $set: { deletedAt: was.deletedAt, purgeAt: was.purgeAt, lastUpdatedBy: was.lastUpdatedBy } });
        return null;
      }
      await refillFreedSlot(ns, was.slot);
      await keepDeletedWithinLimit(ns);
      return { ...secret, deletedAt: at, purgeAt, lastUpdatedBy: by };
    },

    async restore(ns, id, by, at, rearm) {
      const _id = parseObjectId(id);
      // By _id, the namespace checked here: the filter stays {_id} alone.
      const inNs = (doc: HeadDoc | null) =>
        doc && doc.projectId.equals(ns.projectId) && (doc.environment ?? DEFAULT_ENVIRONMENT) === ns.environment ? doc : null;
      const lookup = async () => (_id ? inNs(await Secret.collection.findOne<HeadDoc>({ _id })) : null);
      let deleted = await lookup();
      if (!deleted) return 'not_found';
      // Restoring a live secret changes nothing.
      if (isLive(deleted, at)) return plainRecordOf(deleted);
      if (isExpired(deleted, at)) {
        await expire(deleted);
        deleted = await lookup();
        if (!deleted || deleted.deletedAt === null) return 'not_found';
      }
      const gone = deleted as DeletedSecret;
      // Its recovery window has passed: it is as good as purged, whether the sweep got there or not.
      if (!gone.purgeAt || gone.purgeAt.getTime() <= at.getTime()) return 'not_found';
      // A purge (or another restore) that took this deletion's fate first wins.
      const owner = randomUUID();
      const taken = await takeFate(gone, 'restore', owner, at);
      if (taken === 'purge') return 'not_found';
      if (taken === 'restore') return 'in_progress';
      const restored = { deletedAt: null, purgeAt: null, lastUpdatedBy: by, updatedAt: at, ...rearm(plainRecordOf(gone)) };
      try {
        // The one write that brings it back is refused if its name or every quota slot is taken.
        await goLive(namespaceOfDoc(gone), gone._id, gone.name, at, async (candidate) => {
          // By _id: this deletion's fate, taken above, keeps every other restore and purge of it away.
          const { matchedCount } = await Secret.updateOne({ _id: gone._id }, { $set: { ...restored, ...candidate } });
          if (matchedCount === 0) throw new SecretNotFoundError();
        });
      } catch (err) {
        // Not restored: its fate is free again for a later restore or the purge.
        await fates.deleteOne({ _id: fateOf(gone), owner });
        throw err;
      }
      // The fate stays taken (so no purge of this deletion can follow); had
      // it been taken over as abandoned meanwhile, the restore did not happen.
      if (!(await holdsFate(gone, owner))) return 'not_found';
      await pointName(nameKeyOf(namespaceOfDoc(gone), gone.name), gone._id);
      return { ...plainRecordOf(gone), ...restored };
    },

    async sweep(at, batch, budgetMs) {
      const started = Date.now();
      await compactSlots();
      await IdempotencyKey.deleteMany({ expiresAt: { $lte: at } });
      // Batch after batch until nothing is due (or the budget is spent, and
      // the next sweep goes on), so that it keeps up with deletions however
      // fast they come.
      let purged = 0;
      for (let more = true; more && Date.now() - started < budgetMs;) {
        await expireDue(at, undefined, batch);
        const due = await Secret.collection
          .find<DeletedSecret>({ purgeAt: { $lte: at }, deletedAt: { $ne: null } }, { projection: { _id: 1, deletedAt: 1 } })
          .limit(batch)
          .toArray();
        for (const doc of due) if (await purgeDeleted(doc)) purged++;
        more = due.length === batch;
      }
      if (at.getTime() - lastOrphanSweep >= ORPHAN_SWEEP_INTERVAL_MS) {
        lastOrphanSweep = at.getTime();
        await collectOrphanVersions(at);
      }
      return purged;
    },

    compactSlots,

    async sealedVersion(secret, version) {
      const carried = sealedWith.get(secret);
      if (carried?.context.version === version) return carried;
      if (version <= prunedFrom(secret.version)) return null;
      const stored = await versionAt(oid(secret.id), version);
      return stored && sealedOf(stored);
    },

    async sealedCurrent(secrets: readonly PublicSecret[]) {
      const byId = new Map<string, SealedVersion>();
      const unread: PublicSecret[] = [];
      for (const secret of secrets) {
        const carried = sealedWith.get(secret);
        if (carried?.context.version === secret.version) byId.set(secret.id, carried);
        else unread.push(secret);
      }
      if (unread.length === 0) return byId;
      // Copies of records: their secrets' documents, with the sealed values
      // they carry now (newer, should a write have moved one on meanwhile).
      const heads = await Secret.collection.find<HeadDoc>({ _id: { $in: unread.map((s) => oid(s.id)) } }).toArray();
      for (const head of heads) {
        const sealed = currentOf(head);
        if (sealed) byId.set(head._id.toHexString(), sealed);
      }
      return byId;
    },
  };
}
