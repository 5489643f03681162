// A key check per master key id (master_key_checks): sealed under the key
// the first time a node uses the id, opened by every node at every start. A
// node started with another key under an id (a wrong SECRETS_MASTER_KEY, a
// regenerated development master.key) would otherwise accept writes that no
// other node can open; it refuses to start instead, and says why.
import type { Collection } from 'mongodb';
import { isDuplicateKeyError } from '../db/errors.ts';
import type { Models } from '../db/models/index.ts';
import { sealedBytesOf, type StoredBytes } from '../db/models/secret-version.ts';
import { createKeyring, DecryptionError, type MasterKeyring, openValue, sealValue } from './envelope.ts';

const CHECK_TEXT = 'secrets-service master key check';
const context = (keyId: string) => ({ projectId: 'master-key-check', secretId: keyId, version: 0 });

interface KeyCheckDoc {
  _id: string;
  wrappedKey: StoredBytes;
  ciphertext: StoredBytes;
  createdAt: Date;
}

export class MasterKeyMismatchError extends Error {
  override name = 'MasterKeyMismatchError';
  constructor(readonly keyId: string) {
    super(
      `The master key "${keyId}" of this node is not the one this database's data was written with: ` +
        `it does not open the key check stored for "${keyId}". Start it with the same SECRETS_MASTER_KEYS ` +
        '(or SECRETS_MASTER_KEY, or development master.key) as the other nodes.',
    );
  }
}

/** Checks every key of the ring against its stored check, storing the checks of ids seen for the first time. */
export async function verifyMasterKeys(models: Pick<Models, 'MasterKeyCheck'>, keyring: MasterKeyring, now = new Date()): Promise<void> {
  // Keyed by the master key id, a string, where mongoose's typing expects an ObjectId.
  const checks = models.MasterKeyCheck.collection as unknown as Collection<KeyCheckDoc>;
  for (const [keyId, key] of keyring.keys) {
    const ring = createKeyring(keyId, [[keyId, key]]);
    const sealed = sealValue(ring, CHECK_TEXT, context(keyId));
    try {
      // The first node to use an id decides its check, by the insert under its _id.
      await checks.insertOne({ _id: keyId, wrappedKey: sealed.wrappedKey, ciphertext: sealed.ciphertext, createdAt: now });
      continue;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
    const stored = await checks.findOne({ _id: keyId });
    if (!stored) throw new MasterKeyMismatchError(keyId);
    try {
      const text = openValue(ring, sealedBytesOf({ keyId, ...stored }), context(keyId));
      if (text !== CHECK_TEXT) throw new MasterKeyMismatchError(keyId);
    } catch (err) {
      if (err instanceof DecryptionError) throw new MasterKeyMismatchError(keyId);
      throw err;
    }
  }
}
