// Idempotency-Key records on MongoDB and FerretDB: one document per key,
// whose insert under its _id decides which of two racing requests takes it.
// Every call is by _id, through the driver (mongoose's casting would only cost CPU).
import type { Collection } from 'mongodb';
import { Types } from 'mongoose';
import { isDuplicateKeyError } from '../../db/errors.ts';
import type { IdempotencyKeyDoc } from '../../db/models/idempotency-key.ts';
import type { Models } from '../../db/models/index.ts';
import { IdempotencyKeyInProgressError } from '../errors.ts';
import { DEFAULT_ENVIRONMENT, type IdempotencyStore } from '../store.ts';
import type { PublicSecret } from '../model.ts';
import { idempotencyIdOf } from './keys.ts';

/** A stored first result, its dates back as dates (records from before environments name none: theirs was "default"). */
function resultOf(stored: PublicSecret): PublicSecret {
  return {
    ...stored,
    environment: stored.environment ?? DEFAULT_ENVIRONMENT,
    createdAt: new Date(stored.createdAt),
    updatedAt: new Date(stored.updatedAt),
    deletedAt: stored.deletedAt ? new Date(stored.deletedAt) : null,
    expiresAt: stored.expiresAt ? new Date(stored.expiresAt) : null,
    ttlSeconds: stored.ttlSeconds ?? null,
  };
}

/** How often a claim tries again when the key is freed under it. */
const ATTEMPTS = 20;

export function createMongoIdempotencyStore(models: Pick<Models, 'IdempotencyKey'>): IdempotencyStore {
  const records = models.IdempotencyKey.collection as unknown as Collection<IdempotencyKeyDoc>;
  return {
    async claim(ns, sent, record) {
      const { _id, key } = idempotencyIdOf(ns, sent);
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        try {
          await records.insertOne({ _id, projectId: new Types.ObjectId(ns.projectId), key, ...record, state: 'pending', status: null, secret: null });
          return null;
        } catch (err) {
          if (!isDuplicateKeyError(err)) throw err;
        }
        const held = await records.findOne({ _id });
        // Freed between the insert and the read: take it again.
        if (!held) continue;
        const result = held.state === 'done' && held.secret ? resultOf(held.secret as PublicSecret) : null;
        return { fingerprint: held.fingerprint, keyId: held.keyId, result, createdAt: held.createdAt, expiresAt: held.expiresAt };
      }
      throw new IdempotencyKeyInProgressError();
    },

    async complete(ns, sent, result) {
      await records.updateOne({ _id: idempotencyIdOf(ns, sent)._id }, { $set: { state: 'done', status: 201, secret: result } });
    },

    async release(ns, sent, pendingOnly = false) {
      const { _id } = idempotencyIdOf(ns, sent);
      await records.deleteOne(pendingOnly ? { _id, state: 'pending' } : { _id });
    },
  };
}
