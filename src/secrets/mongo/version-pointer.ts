// A secret's version pointer, settled on the newest version after a write.
import type { Collection } from 'mongodb';
import type { Types } from 'mongoose';
import type { Models } from '../../db/models/index.ts';
import type { StoredSecretVersion } from '../../db/models/secret-version.ts';
import { versionIdOf } from './keys.ts';

/** How often it looks again when writers keep adding versions. */
const ATTEMPTS = 20;

/**
 * A write by _id may move a secret's version pointer back (a slower writer
 * of an older version landing last): after its own write, every writer looks for a
 * version newer than the one it wrote, and if there is one, moves the
 * pointer (and the sealed copy) to the newest. The writer whose write lands
 * last also checks last, so the pointer settles on the newest version before
 * that writer answers. Usually one lookup by _id that finds nothing.
 */
export async function settleVersionPointer(models: Pick<Models, 'Secret' | 'SecretVersion'>, secretId: Types.ObjectId, wrote: number): Promise<void> {
  const versions = models.SecretVersion.collection as unknown as Collection<StoredSecretVersion & { createdAt: Date; void?: boolean }>;
  let pointer = wrote;
  for (let round = 0; round < ATTEMPTS; round++) {
    let newest: (StoredSecretVersion & { createdAt: Date }) | null = null;
    for (let next = pointer + 1; ; next++) {
      const doc = await versions.findOne({ _id: versionIdOf(secretId, next) });
      if (!doc) break;
      if (!doc.void) newest = doc;
      pointer = next;
    }
    if (!newest) return;
    const { keyId, wrappedKey, ciphertext } = newest;
    await models.Secret.collection.updateOne(
      { _id: secretId },
      { $set: { version: newest.version, current: { keyId, wrappedKey, ciphertext }, updatedAt: newest.createdAt } },
    );
  }
}
