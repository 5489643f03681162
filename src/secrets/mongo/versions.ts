// Value versions of the MongoDB secret store: one document per version, keyed
// "<secretId>:<version>", so the insert of a number decides who writes it.
import type { Collection } from 'mongodb';
import { Types } from 'mongoose';
import type { SecretLimits } from '../../config.ts';
import type { SealedValue } from '../../crypto/envelope.ts';
import { isDuplicateKeyError } from '../../db/errors.ts';
import type { Models } from '../../db/models/index.ts';
import { type StoredSecretVersion } from '../../db/models/secret-version.ts';
import { VersionMismatchError } from '../errors.ts';
import { settleVersionPointer } from './version-pointer.ts';
import { versionIdOf } from './keys.ts';
import { type SecretRecord, type Sealer } from '../store.ts';
import { ATTEMPTS, oid } from './documents.ts';

/** A version appendVersion wrote, with the sealed value applyChange makes current. */
export interface Appended {
  readonly version: number;
  readonly sealed: SealedValue;
}

export function createVersions(deps: { readonly models: Pick<Models, 'Secret' | 'SecretVersion' | 'SecretName'>; readonly limits: SecretLimits }) {
  const { SecretVersion } = deps.models;
  const versions = SecretVersion.collection as unknown as Collection<StoredSecretVersion & { createdAt: Date; createdBy: string }>;
  const { limits } = deps;

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
      // The first number after `expected` that is not void: a number given
      // up (a refused change, a released reservation) is passed, so that it
      // does not refuse every later writer expecting the version still current.
      for (let version = expected + 1, attempt = 1; ; version++, attempt++) {
        try {
          return await insert(version);
        } catch (err) {
          if (!isDuplicateKeyError(err)) throw err;
          const taken = await versions.findOne({ _id: versionIdOf(ids._id, version) }, { projection: { void: 1 } });
          if (!(taken as { void?: boolean } | null)?.void || attempt >= ATTEMPTS) throw new VersionMismatchError(expected, version);
        }
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

  return { insertVersion, appendVersion, versionAt, voidVersion, settleVersions, pruneVersions, prunedFrom };
}
