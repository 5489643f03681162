// Snapshots on MongoDB and FerretDB: the copies of the versions pinned first
// (in secret_versions, beside the versions themselves), then the snapshot,
// whose insert under the unique (project, environment, name) decides it; a
// snapshot refused leaves no copy behind.
import type { Collection } from 'mongodb';
import { Types } from 'mongoose';
import { isDuplicateKeyError } from '../../db/errors.ts';
import type { Models } from '../../db/models/index.ts';
import { pinIdOf, type SnapshotDoc } from '../../db/models/secret-snapshot.ts';
import { sealedOf, type StoredSecretVersion } from '../../db/models/secret-version.ts';
import { SnapshotNameTakenError } from '../errors.ts';
import type { SnapshotRecord, SnapshotStore } from '../store.ts';

type PinDoc = StoredSecretVersion & { createdAt: Date; createdBy: string; pin: string; pinnedAt: Date };

const recordOf = (doc: SnapshotDoc): SnapshotRecord => ({
  id: doc._id.toHexString(),
  projectId: doc.projectId.toHexString(),
  environment: doc.environment,
  name: doc.name,
  createdAt: doc.createdAt,
  createdBy: doc.createdBy,
  entries: doc.entries.map((e) => ({ secretId: e.secretId.toHexString(), name: e.name, version: e.version, versionCreatedAt: e.versionCreatedAt })),
});

const parseId = (id: string) => (Types.ObjectId.isValid(id) && /^[0-9a-f]{24}$/.test(id) ? new Types.ObjectId(id) : null);

export function createMongoSnapshotStore(models: Pick<Models, 'SecretSnapshot' | 'SecretVersion'>): SnapshotStore {
  const snapshots = models.SecretSnapshot.collection as unknown as Collection<SnapshotDoc>;
  const versions = models.SecretVersion.collection as unknown as Collection<PinDoc>;
  const forgetPins = (snapshotId: string) => versions.deleteMany({ pin: snapshotId });

  return {
    async create(ns, name, entries, by, at) {
      const _id = new Types.ObjectId();
      const id = _id.toHexString();
      const projectId = new Types.ObjectId(ns.projectId);
      if (entries.length > 0) {
        await versions.insertMany(
          entries.map(({ secretId, version, versionCreatedAt, sealed }) => ({
            _id: pinIdOf(secretId, version, id),
            projectId,
            secretId: new Types.ObjectId(secretId),
            version,
            ...sealed.sealed,
            createdAt: versionCreatedAt,
            createdBy: by,
            pin: id,
            pinnedAt: at,
          })),
        );
      }
      const doc: SnapshotDoc = {
        _id,
        projectId,
        environment: ns.environment,
        name,
        createdAt: at,
        createdBy: by,
        entries: entries.map((e) => ({ secretId: new Types.ObjectId(e.secretId), name: e.name, version: e.version, versionCreatedAt: e.versionCreatedAt })),
      };
      try {
        await snapshots.insertOne(doc);
      } catch (err) {
        await forgetPins(id);
        if (isDuplicateKeyError(err)) throw new SnapshotNameTakenError(name);
        throw err;
      }
      return recordOf(doc);
    },

    async list(ns) {
      const docs = await snapshots
        .find({ projectId: new Types.ObjectId(ns.projectId), environment: ns.environment })
        .sort({ createdAt: -1, _id: -1 })
        .toArray();
      return docs.map(recordOf);
    },

    async find(projectId, id) {
      const _id = parseId(id);
      const doc = _id && (await snapshots.findOne({ _id }));
      return doc && doc.projectId.equals(projectId) ? recordOf(doc) : null;
    },

    async remove(projectId, id) {
      const _id = parseId(id);
      const doc = _id && (await snapshots.findOne({ _id }));
      if (!doc || !doc.projectId.equals(projectId)) return false;
      const { deletedCount } = await snapshots.deleteOne({ _id: doc._id });
      await forgetPins(id);
      return deletedCount > 0;
    },

    async pinsOf(secret) {
      const docs = await versions.find({ secretId: new Types.ObjectId(secret.id), pin: { $exists: true } }).toArray();
      return docs.map((d) => ({ snapshotId: d.pin, pinnedAt: d.pinnedAt, version: d.version, versionCreatedAt: d.createdAt, sealed: sealedOf(d) }));
    },
  };
}
