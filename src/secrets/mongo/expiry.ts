// Expiry in the MongoDB secret store: an expired secret becomes a deleted one, as of its expiry.
import { Types } from 'mongoose';
import type { SecretLimits } from '../../config.ts';
import type { Models } from '../../db/models/index.ts';
import { type Namespace, type SecretRecord } from '../store.ts';
import { type ExpiredSecret, inNamespace, namespaceOfDoc, plainRecordOf, retiredKeys } from './documents.ts';

export function createExpiry(deps: {
  readonly models: Pick<Models, 'Secret'>;
  readonly limits: SecretLimits;
  readonly forgetRemains: (secretId: Types.ObjectId) => Promise<void>;
  readonly refillFreedSlot: (ns: Namespace, slot: number | null | undefined) => Promise<void>;
  readonly onExpired: (secret: SecretRecord) => Promise<void>;
}) {
  const { Secret } = deps.models;
  const { limits, forgetRemains, refillFreedSlot } = deps;

  /**
   * Makes an expired secret a deleted one, as of its expiry: its name and
   * quota slot are free, it can be restored during the recovery window, and
   * the expiry is reported (audited). Whoever meets an expired secret first
   * does this (a create wanting its name or slot, a restore, the sweep);
   * reads never wait for it, as they leave out whatever is past its expiry.
   * The update matches only the expiry seen, so an expiry extended meanwhile wins.
   */
  async function expire(doc: ExpiredSecret): Promise<void> {
    const expiredAt = doc.expiresAt;
    const marked = { _id: doc._id, deletedAt: null, expiresAt: expiredAt };
    if (limits.recoveryWindowMs === 0) {
      const { deletedCount } = await Secret.deleteOne(marked);
      if (deletedCount === 0) return;
      await forgetRemains(doc._id);
    } else {
      const purgeAt = new Date(expiredAt.getTime() + limits.recoveryWindowMs);
      const { matchedCount } = await Secret.updateOne(marked, { $set: { deletedAt: expiredAt, purgeAt, ...retiredKeys(doc._id) } });
      if (matchedCount === 0) return;
    }
    await refillFreedSlot(namespaceOfDoc(doc), doc.slot);
    await deps.onExpired(plainRecordOf(doc));
  }

  /** Marks up to `batch` expired secrets (of one namespace, or of all) as deleted. */
  async function expireDue(at: Date, ns: Namespace | undefined, batch: number): Promise<void> {
    const filter = { ...(ns ? inNamespace(ns) : {}), deletedAt: null, expiresAt: { $lte: at } };
    const due = await Secret.collection.find<ExpiredSecret>(filter).limit(batch).toArray();
    for (const doc of due) await expire(doc);
  }

  return { expire, expireDue };
}
