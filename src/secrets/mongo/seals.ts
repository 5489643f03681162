// The sealed values of the MongoDB store, for master-key rotation. A data key
// is kept twice: in its version document (id "<secretId>:<version>", its
// _id), and, for a secret's current version, in the secret document's copy
// (id "head:<secretId>"). Both are replaced by _id, in one write each. A
// personal override's value is kept once, in its document (id
// "override:<_id>").
import type { Collection } from 'mongodb';
import { Types } from 'mongoose';
import { updateInCommands } from '../../db/bulk.ts';
import type { Models } from '../../db/models/index.ts';
import { sealedBytesOf, sealedOf, type StoredSecretVersion } from '../../db/models/secret-version.ts';
import type { SealStore, StoredSeal } from '../store.ts';
import { OVERRIDE_SEAL, type OverrideDoc, overrideSealOf } from './layers.ts';
import { settleVersionPointer } from './version-pointer.ts';

interface Head {
  _id: Types.ObjectId;
  projectId: Types.ObjectId;
  version: number;
  current: Pick<StoredSecretVersion, 'keyId' | 'wrappedKey' | 'ciphertext'>;
}

const HEAD = 'head:';
type KeyCount = { _id: string; count: number };

export function createMongoSealStore(models: Pick<Models, 'Secret' | 'SecretVersion' | 'SecretOverride'>): SealStore {
  const versions = models.SecretVersion.collection as unknown as Collection<StoredSecretVersion>;
  const overrides = models.SecretOverride.collection as unknown as Collection<OverrideDoc>;
  const heads = models.Secret.collection as unknown as Collection<Head>;

  const headSeal = (h: Head): StoredSeal => ({
    id: `${HEAD}${h._id.toHexString()}`,
    value: { context: { projectId: h.projectId.toHexString(), secretId: h._id.toHexString(), version: h.version }, sealed: sealedBytesOf(h.current) },
  });

  return {
    async countByKey(activeId) {
      const byKey: Record<string, number> = {};
      const add = (rows: KeyCount[]) => rows.forEach((r) => (byKey[r._id] = (byKey[r._id] ?? 0) + r.count));
      add(
        await versions
          .aggregate<KeyCount>([{ $match: { keyId: { $ne: activeId, $exists: true } } }, { $group: { _id: '$keyId', count: { $sum: 1 } } }])
          .toArray(),
      );
      add(
        await heads
          .aggregate<KeyCount>([{ $match: { 'current.keyId': { $ne: activeId, $exists: true } } }, { $group: { _id: '$current.keyId', count: { $sum: 1 } } }])
          .toArray(),
      );
      add(await overrides.aggregate<KeyCount>([{ $match: { keyId: { $ne: activeId } } }, { $group: { _id: '$keyId', count: { $sum: 1 } } }]).toArray());
      return byKey;
    },

    async under(keyIds, size, skip) {
      const skippedHeads = skip.filter((id) => id.startsWith(HEAD)).map((id) => new Types.ObjectId(id.slice(HEAD.length)));
      const batch = await versions
        .find({ keyId: { $in: [...keyIds] }, _id: { $nin: skip.filter((id) => !id.startsWith(HEAD) && !id.startsWith(OVERRIDE_SEAL)) } })
        .limit(size)
        .toArray();
      const stale = await heads
        .find({ 'current.keyId': { $in: [...keyIds] }, _id: { $nin: skippedHeads } }, { projection: { projectId: 1, version: 1, current: 1 } })
        .limit(size)
        .toArray();
      const personal = await overrides
        .find({ keyId: { $in: [...keyIds] }, _id: { $nin: skip.filter((id) => id.startsWith(OVERRIDE_SEAL)).map((id) => id.slice(OVERRIDE_SEAL.length)) } })
        .limit(size)
        .toArray();
      return [
        ...batch.map((v) => ({ id: v._id, value: sealedOf(v) })),
        ...stale.map(headSeal),
        ...personal.map((o) => ({ id: `${OVERRIDE_SEAL}${o._id}`, value: overrideSealOf(o) })),
      ];
    },

    async replace(replacements) {
      const ofHeads = replacements.filter((r) => r.seal.id.startsWith(HEAD));
      const ofOverrides = replacements.filter((r) => r.seal.id.startsWith(OVERRIDE_SEAL));
      // Version documents are immutable: whichever re-wrap lands is right.
      let done = await updateInCommands(
        versions,
        replacements
          .filter((r) => !r.seal.id.startsWith(HEAD) && !r.seal.id.startsWith(OVERRIDE_SEAL))
          .map(({ seal, sealed: { keyId, wrappedKey, ciphertext } }) => ({
            updateOne: { filter: { _id: seal.id }, update: { $set: { keyId, wrappedKey, ciphertext } } },
          })),
      );
      // A secret's copy changes with every value written: the write is by
      // _id (a filter on more is applied to a read made before the write on
      // FerretDB, and scans for it), and a newer version written meanwhile is
      // made current again after it, as every writer does, on both engines.
      done += await updateInCommands(
        heads,
        ofHeads.map(({ seal, sealed: { keyId, wrappedKey, ciphertext } }) => ({
          updateOne: {
            filter: { _id: new Types.ObjectId(seal.id.slice(HEAD.length)) },
            update: { $set: { 'current.keyId': keyId, 'current.wrappedKey': wrappedKey, 'current.ciphertext': ciphertext } },
          },
        })),
      );
      // An override's value is replaced only while it is the one sealed (a new value since has a new
      // sealId); the sealId is written with it, so that the document holds one value whole, whatever
      // FerretDB (which applies the filter to a read made before the write) lets through.
      done += await updateInCommands(
        overrides,
        ofOverrides.map(({ seal, sealed: { keyId, wrappedKey, ciphertext } }) => ({
          updateOne: {
            filter: { _id: seal.id.slice(OVERRIDE_SEAL.length), sealId: seal.value.context.secretId },
            update: { $set: { sealId: seal.value.context.secretId, keyId, wrappedKey, ciphertext } },
          },
        })),
      );
      for (const { seal } of ofHeads) await settleVersionPointer(models, new Types.ObjectId(seal.value.context.secretId), seal.value.context.version);
      return done;
    },
  };
}
