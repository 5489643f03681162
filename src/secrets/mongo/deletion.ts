// Deleted secrets in the MongoDB secret store: purges, what a purge leaves, and
// the fate of each deletion (restored or purged, decided by an insert).
import { randomUUID } from 'node:crypto';
import type { Collection } from 'mongodb';
import { Types } from 'mongoose';
import type { SecretLimits } from '../../config.ts';
import { isDuplicateKeyError } from '../../db/errors.ts';
import type { Models } from '../../db/models/index.ts';
import { fateIdOf, keyPrefixOf } from './keys.ts';
import { type Namespace } from '../store.ts';
import { type DeletedSecret, type FateDoc, inNamespace } from './documents.ts';

/** Sealed versions with no secret, this old, were left by a crash (a create is over in seconds). */
const ORPHAN_VERSION_AGE_MS = 24 * 3600 * 1000;
/** How often the sweep looks for them: it reads every secret id, so not every minute. */
const ORPHAN_SWEEP_INTERVAL_MS = 3600 * 1000;
/**
 * How long the fate of a deleted secret, taken by a request that then
 * vanished (a crash), holds before another request may take it over. Only
 * liveness depends on it: a holder that lost its fate never reports success.
 */
const ABANDONED_FATE_MS = 60_000;

/** How long a node goes by its own count of a namespace's deleted secrets before it counts them again. */
const DELETED_RECOUNT_MS = 60_000;

export function createDeletion(deps: {
  readonly models: Pick<Models, 'Secret' | 'SecretVersion' | 'SecretFate' | 'SecretName'>;
  readonly limits: SecretLimits;
  readonly now: () => Date;
}) {
  const { Secret, SecretVersion, SecretFate, SecretName } = deps.models;
  const fates = SecretFate.collection as unknown as Collection<FateDoc>;
  const { limits, now } = deps;
  /** Deleted secrets per namespace as last counted, plus this node's deletes since. */
  const deletedCounts = new Map<string, { count: number; at: number }>();

  /** Removes a secret for good: the secret first, so nothing half-purged is visible. */
  async function purge(secretId: Types.ObjectId): Promise<void> {
    await Secret.deleteOne({ _id: secretId });
    await forgetRemains(secretId);
  }

  /** What is left of a secret whose document is gone: its sealed versions and its fates. */
  async function forgetRemains(secretId: Types.ObjectId): Promise<void> {
    await SecretVersion.deleteMany({ secretId });
    await SecretFate.deleteMany({ secretId });
    await SecretName.deleteMany({ secretId });
  }

  /**
   * Sealed versions whose secret does not exist, left by a crash between a
   * create's two writes or a purge's: old enough that no create still in
   * progress can be theirs (a day; clocks an hour apart change nothing).
   */
  let lastOrphanSweep = 0;
  async function collectOrphanVersions(at: Date): Promise<void> {
    if (at.getTime() - lastOrphanSweep < ORPHAN_SWEEP_INTERVAL_MS) return;
    lastOrphanSweep = at.getTime();
    const cutoff = new Date(at.getTime() - ORPHAN_VERSION_AGE_MS);
    const ids = (await SecretVersion.collection.distinct('secretId', { createdAt: { $lt: cutoff } })) as Types.ObjectId[];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const existing = new Set((await Secret.collection.find({ _id: { $in: chunk } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id.toHexString()));
      const orphans = chunk.filter((id) => !existing.has(id.toHexString()));
      if (orphans.length > 0) await SecretVersion.deleteMany({ secretId: { $in: orphans }, createdAt: { $lt: cutoff } });
    }
  }

  // The fate of a deleted secret: restored or purged, never both.

  const fateOf = (doc: DeletedSecret) => fateIdOf(doc._id.toHexString(), doc.deletedAt);

  /**
   * Takes the fate of this deletion of the secret for `action`: the insert
   * under the fate's _id decides between a restore and a purge (and between
   * two of either). When another request holds it, what that one does,
   * unless it has held it so long that it was abandoned.
   */
  async function takeFate(doc: DeletedSecret, action: FateDoc['action'], owner: string, at: Date): Promise<true | FateDoc['action']> {
    const _id = fateOf(doc);
    let held: FateDoc | null = null;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fates.insertOne({ _id, secretId: doc._id, action, owner, at });
        return true;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      held = await fates.findOne({ _id });
      if (held && at.getTime() - held.at.getTime() < ABANDONED_FATE_MS) return held.action;
      if (held) await fates.deleteOne({ _id, owner: held.owner });
    }
    return held?.action ?? action;
  }

  const holdsFate = async (doc: DeletedSecret, owner: string) => (await fates.findOne({ _id: fateOf(doc) }))?.owner === owner;

  /**
   * An environment keeps at most PROJECT_DELETED_LIMIT deleted secrets: past it,
   * the oldest deletions are purged, as the sweep would (a restore that got
   * one's fate first keeps it). Deletes racing past the limit purge the same
   * oldest ones, so none purges more than needed.
   */
  async function keepDeletedWithinLimit(ns: Namespace): Promise<void> {
    const deleted = { ...inNamespace(ns), deletedAt: { $ne: null } };
    // Counted once in a while (and whenever the count known comes near the
    // limit), not on every delete: between counts, this node adds its own.
    const key = keyPrefixOf(ns);
    const known = deletedCounts.get(key);
    const at = Date.now();
    if (known && at - known.at < DELETED_RECOUNT_MS && known.count + 1 < limits.projectDeletedLimit) {
      known.count++;
      return;
    }
    const count = await Secret.collection.countDocuments(deleted);
    deletedCounts.set(key, { count, at });
    const over = count - limits.projectDeletedLimit;
    if (over <= 0) return;
    const oldest = await Secret.collection
      .find<DeletedSecret>(deleted, { projection: { _id: 1, deletedAt: 1 } })
      .sort({ deletedAt: 1, _id: 1 })
      .limit(over)
      .toArray();
    for (const doc of oldest) await purgeDeleted(doc);
  }

  /**
   * Purges a deleted secret whose window has passed, unless a restore got
   * its fate first, or restored it meanwhile: only what is still deleted
   * (by this same deletion) is purged.
   */
  async function purgeDeleted(doc: DeletedSecret): Promise<boolean> {
    if ((await takeFate(doc, 'purge', randomUUID(), now())) !== true) return false;
    const current = await Secret.collection.findOne<{ deletedAt: Date | null }>({ _id: doc._id }, { projection: { deletedAt: 1 } });
    if (current?.deletedAt?.getTime() !== doc.deletedAt.getTime()) {
      // Purged already by another sweep: the fate this one just took is all that is left of it.
      if (!current) await SecretFate.deleteMany({ secretId: doc._id });
      return false;
    }
    await purge(doc._id);
    return true;
  }

  return { purge, forgetRemains, collectOrphanVersions, fateOf, takeFate, holdsFate, keepDeletedWithinLimit, purgeDeleted };
}
