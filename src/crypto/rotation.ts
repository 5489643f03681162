// Online master-key rotation: re-wraps every data key that is not under the
// active master key, a batch at a time, while services keep serving. Each
// version document changes in one write (keyId and wrappedKey together), so a
// reader sees either the old pair or the new one, and opens both with a ring
// that holds both keys. It is resumable by construction: it only ever looks
// for documents still under another key.
import type { Models } from '../db/models/index.ts';
import { sealedOf, type StoredSecretVersion } from '../db/models/secret-version.ts';
import type { Types } from 'mongoose';
import { DecryptionError, type MasterKeyring, rewrapDataKey } from './envelope.ts';


export function createRotation(deps: { models: Pick<Models, 'SecretVersion'>; keyring: MasterKeyring }) {
  const { SecretVersion } = deps.models;
  const { keyring } = deps;
  const stale = { keyId: { $ne: keyring.activeId } };
  /** Versions whose data key the ring's key for its id does not open: reported, and left as they are. */
  const unopenable: { id: Types.ObjectId; secretId: string; version: number; keyId: string }[] = [];

  return {
    /** Value versions whose data key is under another master key than the active one. */
    remaining: () => SecretVersion.collection.countDocuments(stale),

    /** Remaining versions per master key id. */
    async remainingByKey(): Promise<Record<string, number>> {
      const rows = await SecretVersion.collection
        .aggregate<{ _id: string; count: number }>([{ $match: stale }, { $group: { _id: '$keyId', count: { $sum: 1 } } }])
        .toArray();
      return Object.fromEntries(rows.map((r) => [r._id, r.count]));
    },

    /**
     * Re-wraps up to `size` data keys; returns how many it re-wrapped. A key
     * id the ring does not hold is skipped (and stays counted as remaining).
     */
    async rewrapBatch(size: number): Promise<number> {
      const known = [...keyring.keys.keys()].filter((id) => id !== keyring.activeId);
      const skip = unopenable.map((u) => u.id);
      const batch = await SecretVersion.collection.find<StoredSecretVersion>({ keyId: { $in: known }, _id: { $nin: skip } }).limit(size).toArray();
      let done = 0;
      for (const v of batch) {
        const { sealed, context } = sealedOf(v);
        let rewrapped;
        try {
          rewrapped = rewrapDataKey(keyring, sealed, context);
        } catch (err) {
          if (!(err instanceof DecryptionError)) throw err;
          unopenable.push({ id: v._id, secretId: context.secretId, version: v.version, keyId: v.keyId });
          continue;
        }
        // Only if no one re-wrapped it meanwhile; either way it ends under the active key.
        const { matchedCount } = await SecretVersion.collection.updateOne(
          { _id: v._id, keyId: v.keyId },
          { $set: { keyId: rewrapped.keyId, wrappedKey: rewrapped.wrappedKey } },
        );
        done += matchedCount;
      }
      return done;
    },

    /** What rewrapBatch met that its key does not open (which secret, version and key id), so far. */
    unopenable: () => unopenable.map(({ secretId, version, keyId }) => ({ secretId, version, keyId })),
  };
}
