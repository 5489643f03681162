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
// This file is the interface's calls; their parts live beside it: slots.ts
// (names and quota slots), versions.ts (value versions), expiry.ts,
// deletion.ts (purges and the fate of a deletion), documents.ts (what they
// share), and open.ts, which opens the store (migrations, indexes).
import { randomUUID } from 'node:crypto';
import type { Collection } from 'mongodb';
import { Types } from 'mongoose';
import type { SecretLimits } from '../../config.ts';
import { isDatabaseUnavailable, parseObjectId } from '../../db/errors.ts';
import type { Models } from '../../db/models/index.ts';
import type { SecretNameDoc } from '../../db/models/secret-name.ts';
import { sealedOf } from '../../db/models/secret-version.ts';
import { EnvironmentNotFoundError, SecretNotFoundError } from '../errors.ts';
import { createMongoEnvironmentStore } from './environments.ts';
import { createMongoIdempotencyStore } from './idempotency.ts';
import { createMongoSealStore } from './seals.ts';
import { createMongoOverrideStore, createMongoTombstoneStore } from './layers.ts';
import { createDeletion } from './deletion.ts';
import { createExpiry } from './expiry.ts';
import { createNamesAndSlots } from './slots.ts';
import { createMongoSnapshotStore } from './snapshots.ts';
import { createVersions, type Appended } from './versions.ts';
import {
  type DeletedSecret,
  type FateDoc,
  type HeadDoc,
  inNamespace,
  isExpired,
  liveFilter,
  namespaceOfDoc,
  namespaceOfRecord,
  newSecretId,
  oid,
  plainRecordOf,
  currentOf,
  retiredKeys,
  WITHOUT_VALUE,
} from './documents.ts';
import { nameKeyOf, slotKeyOf, versionIdOf } from './keys.ts';
import { isLive, type PublicSecret, type SecretVersionInfo } from '../model.ts';
import {
  DEFAULT_ENVIRONMENT,
  type Namespace,
  type Reservation,
  type SealedVersion,
  type SecretChange,
  type SecretRecord,
  type SecretStore,
  type Sealer,
} from '../store.ts';

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
export const MONGO_STORE_MODELS = [
  'Secret',
  'SecretVersion',
  'SecretName',
  'IdempotencyKey',
  'SecretFate',
  'Environment',
  'SecretTombstone',
  'SecretOverride',
  'SecretSnapshot',
] as const;

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
  const environments = createMongoEnvironmentStore({ models: deps.models, secretsIn: inNamespace });
  const { purge, forgetRemains, collectOrphanVersions, fateOf, takeFate, holdsFate, keepDeletedWithinLimit, purgeDeleted } = createDeletion({
    models: deps.models,
    limits,
    now,
  });
  const { goLive, takeName, pointName, refillFreedSlot, compactSlots } = createNamesAndSlots({ models: deps.models, limits, expire: (doc) => expire(doc) });
  const { expire, expireDue } = createExpiry({ models: deps.models, limits, forgetRemains, refillFreedSlot, onExpired: deps.onExpired });
  const { insertVersion, appendVersion, versionAt, voidVersion, settleVersions, pruneVersions, prunedFrom } = createVersions({ models: deps.models, limits });

  // ---- the one change call ----------------------------------------------------

  /** Versions reserved and not yet made current or released, with their sealed values. */
  const reservations = new Map<string, Appended>();
  const reservationKey = (r: Reservation) => `${r.secretId}:${r.version}`;

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

  return {
    environments,
    idempotency: createMongoIdempotencyStore(deps.models),
    seals: createMongoSealStore(deps.models),
    tombstones: createMongoTombstoneStore(deps.models),
    overrides: createMongoOverrideStore(deps.models),
    snapshots: createMongoSnapshotStore(deps.models),

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
      // A prefix is a range of the name index: [prefix, prefix + the highest code point).
      const name = {
        ...(page.nameStartsWith === undefined ? {} : { $gte: page.nameStartsWith, $lt: `${page.nameStartsWith}\u{10FFFF}` }),
        ...(page.after === undefined ? {} : { $gt: page.after }),
      };
      const filter = { ...inNamespace(ns), ...liveFilter(at), ...(Object.keys(name).length > 0 ? { name } : {}) };
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
      // A snapshot's copy of a version (pin) is no version of its own.
      const filter = { secretId, void: { $ne: true }, pin: { $exists: false }, version: page.before === undefined ? kept : { ...kept, $lt: page.before } };
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
      const reserved = change.reserved && reservations.get(reservationKey(change.reserved));
      if (change.reserved && !reserved) throw new Error(`version ${change.reserved.version} of ${change.reserved.secretId} is not reserved here`);
      if (change.reserved) reservations.delete(reservationKey(change.reserved));
      const appended = reserved ?? (change.value ? await appendVersion(secret, change.value, at, change.by, change.expected) : undefined);
      return applyChange(secret, change, at, appended);
    },

    async reserve(secret, seal, expected, by, at) {
      const appended = await appendVersion(secret, seal, at, by, expected);
      const reservation = { secretId: secret.id, version: appended.version };
      reservations.set(reservationKey(reservation), appended);
      return reservation;
    },

    async release(reservation) {
      reservations.delete(reservationKey(reservation));
      await voidVersion(oid(reservation.secretId), reservation.version);
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
      await collectOrphanVersions(at);
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
