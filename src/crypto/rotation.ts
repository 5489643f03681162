// Online master-key rotation: re-wraps every data key that is not under the
// active master key, a batch at a time, while services keep serving. It asks
// each store for its sealed values by the master key that wraps them (the
// secret store's versions and their copies, the webhooks' signing secrets)
// and has each replaced by the same value with its data key re-wrapped: one
// write per sealed value, so a reader sees the old one or the new one, and
// opens both with a ring that holds both keys. It is resumable by
// construction: it only ever looks for sealed values still under another key.
import type { SealStore, StoredSeal } from '../secrets/store.ts';
import { DecryptionError, type MasterKeyring, rewrapDataKey } from './envelope.ts';

interface Unopenable {
  readonly secretId: string;
  readonly version: number;
  readonly keyId: string;
}

export function createRotation(deps: { seals: readonly SealStore[]; keyring: MasterKeyring }) {
  const { keyring } = deps;
  /** Per store: the ids of sealed values the ring's key for their id does not open, reported, and left as they are. */
  const skipped = deps.seals.map(() => [] as string[]);
  const unopenable: Unopenable[] = [];

  async function remainingByKey(): Promise<Record<string, number>> {
    const byKey: Record<string, number> = {};
    for (const store of deps.seals) {
      for (const [keyId, count] of Object.entries(await store.countByKey(keyring.activeId))) byKey[keyId] = (byKey[keyId] ?? 0) + count;
    }
    return byKey;
  }

  /** Re-wraps what it can of `seals`; the others are skipped from now on. */
  function rewrapAll(seals: StoredSeal[], skip: string[]) {
    const rewrapped = [];
    for (const seal of seals) {
      const { sealed, context } = seal.value;
      try {
        rewrapped.push({ seal, sealed: rewrapDataKey(keyring, sealed, context) });
      } catch (err) {
        if (!(err instanceof DecryptionError)) throw err;
        skip.push(seal.id);
        unopenable.push({ secretId: context.secretId, version: context.version, keyId: sealed.keyId });
      }
    }
    return rewrapped;
  }

  return {
    /** Data keys under another master key than the active one. */
    remaining: async () => Object.values(await remainingByKey()).reduce((a, b) => a + b, 0),

    /** Remaining data keys per master key id. */
    remainingByKey,

    /**
     * Re-wraps up to `size` sealed values of each kind each store keeps;
     * returns how many it re-wrapped. A key id the ring does not hold is
     * skipped (and stays counted as remaining).
     */
    async rewrapBatch(size: number): Promise<number> {
      const known = [...keyring.keys.keys()].filter((id) => id !== keyring.activeId);
      let done = 0;
      for (const [i, store] of deps.seals.entries()) {
        const skip = skipped[i]!;
        done += await store.replace(rewrapAll(await store.under(known, size, skip), skip));
      }
      return done;
    },

    /** What rewrapBatch met that its key does not open (which secret, version and key id), so far. */
    unopenable: () => [...unopenable],
    /** The same, once per version (a current version's key is met twice: in its document and in its secret's copy). */
    unopenableVersions: () => [...new Map(unopenable.map((u) => [`${u.secretId}:${u.version}`, u])).values()],
  };
}
