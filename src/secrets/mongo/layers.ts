// Tombstones and personal overrides on MongoDB and FerretDB: each a document
// under an _id made of its namespace and name (keys.ts), so that a set or a
// hide racing another of the same name ends as one document.
import type { Collection } from 'mongodb';
import { Types } from 'mongoose';
import { isDuplicateKeyError } from '../../db/errors.ts';
import type { Models } from '../../db/models/index.ts';
import type { TombstoneDoc } from '../../db/models/secret-layer.ts';
import { sealedBytesOf, type StoredBytes } from '../../db/models/secret-version.ts';
import type { OverrideRecord, OverrideStore, SealedVersion, TombstoneStore } from '../store.ts';
import { overrideIdOf, tombstoneIdOf } from './keys.ts';

export interface OverrideDoc {
  _id: string;
  projectId: Types.ObjectId;
  environment: string;
  owner: string;
  name: string;
  sealId: string;
  keyId: string;
  wrappedKey: StoredBytes;
  ciphertext: StoredBytes;
  createdAt: Date;
  updatedAt: Date;
}

/** The prefix of the seal ids of overrides, as the seal store names them. */
export const OVERRIDE_SEAL = 'override:';

/** An override's sealed value and the context it is bound to. */
export const overrideSealOf = (doc: OverrideDoc): SealedVersion => ({
  context: { projectId: doc.projectId.toHexString(), secretId: doc.sealId, version: 1 },
  sealed: sealedBytesOf(doc),
});

const recordOf = (doc: OverrideDoc): OverrideRecord => ({
  environment: doc.environment,
  owner: doc.owner,
  name: doc.name,
  createdAt: doc.createdAt,
  updatedAt: doc.updatedAt,
});

export function createMongoTombstoneStore(models: Pick<Models, 'SecretTombstone'>): TombstoneStore {
  const tombstones = models.SecretTombstone.collection as unknown as Collection<TombstoneDoc>;
  return {
    async names(ns) {
      const docs = await tombstones.find({ projectId: new Types.ObjectId(ns.projectId), environment: ns.environment }, { projection: { name: 1 } }).toArray();
      return new Set(docs.map((d) => d.name));
    },
    async hide(ns, name, by, at) {
      try {
        await tombstones.insertOne({ _id: tombstoneIdOf(ns, name), projectId: new Types.ObjectId(ns.projectId), environment: ns.environment, name, at, by });
      } catch (err) {
        // Hidden already: it stays hidden.
        if (!isDuplicateKeyError(err)) throw err;
      }
    },
    async unhide(ns, name) {
      return (await tombstones.deleteOne({ _id: tombstoneIdOf(ns, name) })).deletedCount > 0;
    },
  };
}

export function createMongoOverrideStore(models: Pick<Models, 'SecretOverride'>): OverrideStore {
  const overrides = models.SecretOverride.collection as unknown as Collection<OverrideDoc>;
  return {
    async list(ns, owner) {
      const docs = await overrides
        .find({ projectId: new Types.ObjectId(ns.projectId), owner, environment: ns.environment })
        .sort({ name: 1 })
        .toArray();
      return docs.map((doc) => ({ ...recordOf(doc), sealed: overrideSealOf(doc) }));
    },
    async set(ns, owner, name, seal, at) {
      const _id = overrideIdOf(ns, owner, name);
      const sealId = new Types.ObjectId().toHexString();
      const sealed = seal({ projectId: ns.projectId, secretId: sealId, version: 1 });
      const fields = { sealId, ...sealed, updatedAt: at };
      // By _id: the first set inserts, a later one replaces the value (two at once: one of them is kept, whole).
      const was = await overrides
        .findOneAndUpdate(
          { _id },
          { $set: fields, $setOnInsert: { projectId: new Types.ObjectId(ns.projectId), environment: ns.environment, owner, name, createdAt: at } },
          { upsert: true },
        )
        .catch(async (err: unknown) => {
          if (!isDuplicateKeyError(err)) throw err;
          return overrides.findOneAndUpdate({ _id }, { $set: fields });
        });
      return { environment: ns.environment, owner, name, createdAt: was?.createdAt ?? at, updatedAt: at };
    },
    async remove(ns, owner, name) {
      return (await overrides.deleteOne({ _id: overrideIdOf(ns, owner, name) })).deletedCount > 0;
    },
  };
}
