// Start-up migrations of stored documents, run before the indexes are made
// (a unique index cannot be built over documents that would break it).
// Each is idempotent: it touches only documents still in the old shape, so
// any number of nodes may run it, at every start.
import type { Connection } from 'mongoose';
import { isDuplicateKeyError } from './errors.ts';
import { dropIndexIfThere } from './indexes.ts';
import type { Models } from './models/index.ts';

interface OldSecret {
  _id: import('mongoose').Types.ObjectId;
  projectId: import('mongoose').Types.ObjectId;
  name: string;
  deletedAt: Date | null;
}

/**
 * Secrets from before names and quota slots were keys of the secret document
 * (they were claims in secret_names and secret_slots): each gets its nameKey,
 * slot and slotKey, its old slot where it had one. Should two live secrets
 * share a name (the race those claims could lose), the later one is moved
 * into the recovery window, restorable under another name, and named in the
 * log.
 */
export async function migrateSecretKeys(
  connection: Connection,
  models: Pick<Models, 'Secret'>,
  options: { projectSecretLimit: number; recoveryWindowMs: number; warn: (message: string) => void },
): Promise<void> {
  const secrets = models.Secret.collection;
  const old = await secrets
    .find<OldSecret>({ nameKey: { $exists: false } })
    .sort({ _id: 1 })
    .toArray();
  if (old.length === 0) return;
  const claims = await connection.db!.collection('secret_slots').find<{ secretId: OldSecret['_id']; slot: number }>({}).toArray();
  const oldSlot = new Map(claims.map((c) => [c.secretId.toHexString(), c.slot]));
  const taken = new Set(
    (await secrets.find<{ nameKey: string; slotKey: string }>({ nameKey: { $exists: true } }, { projection: { nameKey: 1, slotKey: 1 } }).toArray()).flatMap(
      (s) => [s.nameKey, s.slotKey],
    ),
  );
  for (const doc of old) {
    const project = doc.projectId.toHexString();
    const retired = { nameKey: `deleted/${doc._id.toHexString()}`, slotKey: `deleted/${doc._id.toHexString()}`, slot: null };
    const nameKey = `${project}/${doc.name}`;
    if (doc.deletedAt !== null || taken.has(nameKey)) {
      const moved = doc.deletedAt === null ? { deletedAt: new Date(), purgeAt: new Date(Date.now() + Math.max(options.recoveryWindowMs, 86_400_000)) } : {};
      if (doc.deletedAt === null)
        options.warn(`secret ${doc._id.toHexString()} shared its name with another live secret: it is now deleted and restorable under another name`);
      await secrets.updateOne({ _id: doc._id, nameKey: { $exists: false } }, { $set: { ...retired, ...moved } });
      continue;
    }
    let slot = oldSlot.get(doc._id.toHexString());
    if (slot === undefined || taken.has(`${project}/${slot}`)) {
      slot = 0;
      while (taken.has(`${project}/${slot}`)) slot++;
    }
    taken.add(nameKey);
    taken.add(`${project}/${slot}`);
    await secrets.updateOne({ _id: doc._id, nameKey: { $exists: false } }, { $set: { nameKey, slot, slotKey: `${project}/${slot}` } });
  }
}

/**
 * Secrets from before environments name none: they are in "default". Reads
 * treat a missing environment as "default" all the same (so what an older
 * node writes meanwhile is found too); this makes the stored shape say it.
 */
export async function migrateSecretEnvironments(models: Pick<Models, 'Secret'>): Promise<void> {
  await models.Secret.collection.updateMany({ environment: { $exists: false } }, { $set: { environment: 'default' } });
}

/**
 * Value versions from before they were keyed "<secretId>:<version>": each is
 * copied under its new _id, then the old one is deleted (an _id cannot
 * change in place). A crash in between leaves both, and the next start
 * finishes (the copy is refused as a duplicate, the old one goes). The
 * unique (secretId, version) index of old goes first, since a copy repeats
 * its keys; the _id decides who writes a version now.
 */
export async function migrateVersionIds(models: Pick<Models, 'SecretVersion'>): Promise<void> {
  const versions = models.SecretVersion.collection;
  await dropIndexIfThere(versions, 'secretId_1_version_-1');
  for (;;) {
    const old = await versions
      .find<Record<string, unknown> & { _id: unknown; secretId: import('mongoose').Types.ObjectId; version: number }>({ _id: { $type: 'objectId' } })
      .limit(500)
      .toArray();
    if (old.length === 0) return;
    for (const doc of old) {
      await versions.insertOne({ ...doc, _id: `${doc.secretId.toHexString()}:${doc.version}` } as never).catch((err: unknown) => {
        if (!isDuplicateKeyError(err)) throw err;
      });
      await versions.deleteOne({ _id: doc._id } as never);
    }
  }
}

/**
 * Secrets from before a secret's document carried its sealed current value
 * and its name a pointer (secret_names): each gets both, from its current
 * version (its newest, should that one be gone).
 */
export async function migrateSecretHeads(models: Pick<Models, 'Secret' | 'SecretVersion' | 'SecretName'>): Promise<void> {
  const secrets = models.Secret.collection;
  const versions = models.SecretVersion.collection;
  const heads = await secrets
    .find<{ _id: import('mongoose').Types.ObjectId; version: number; nameKey: string; deletedAt: Date | null }>(
      { current: { $exists: false } },
      { projection: { version: 1, nameKey: 1, deletedAt: 1 } },
    )
    .toArray();
  for (const head of heads) {
    const id = head._id.toHexString();
    const version =
      (await versions.findOne<SealedVersion>({ _id: `${id}:${head.version}` } as never)) ??
      (await versions.find<SealedVersion>({ secretId: head._id }).sort({ version: -1 }).limit(1).next());
    if (!version) continue;
    if (head.deletedAt === null) {
      await models.SecretName.collection.replaceOne({ _id: head.nameKey } as never, { secretId: head._id }, { upsert: true });
    }
    const { keyId, wrappedKey, ciphertext } = version;
    await secrets.updateOne({ _id: head._id, current: { $exists: false } }, { $set: { version: version.version, current: { keyId, wrappedKey, ciphertext } } });
  }
}

/** Idempotency records from before they were keyed "<projectId>/<key>": copied, as versions are. */
export async function migrateIdempotencyIds(models: Pick<Models, 'IdempotencyKey'>): Promise<void> {
  const records = models.IdempotencyKey.collection;
  await dropIndexIfThere(records, 'projectId_1_key_1');
  const old = await records
    .find<Record<string, unknown> & { _id: unknown; projectId: import('mongoose').Types.ObjectId; key: string }>({ _id: { $type: 'objectId' } })
    .toArray();
  for (const doc of old) {
    await records.insertOne({ ...doc, _id: `${doc.projectId.toHexString()}/${doc.key}` } as never).catch((err: unknown) => {
      if (!isDuplicateKeyError(err)) throw err;
    });
    await records.deleteOne({ _id: doc._id } as never);
  }
}

interface SealedVersion {
  version: number;
  keyId: string;
  wrappedKey: unknown;
  ciphertext: unknown;
}
