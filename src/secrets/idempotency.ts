// Idempotency-Key: a create served once per (project, key) for 24 hours. The
// unique (projectId, key) index of idempotency_keys decides which of two
// racing requests with one key does the work; the stored result is the
// public secret only, never a value.
import { createHmac, hkdfSync } from 'node:crypto';
import type { Collection } from 'mongodb';
import { Types } from 'mongoose';
import type { MasterKeyring } from '../crypto/envelope.ts';
import { isDuplicateKeyError } from '../db/errors.ts';
import type { IdempotencyKeyDoc } from '../db/models/idempotency-key.ts';
import type { Models } from '../db/models/index.ts';
import { IdempotencyKeyInProgressError, IdempotencyKeyReusedError } from './errors.ts';
import type { PublicSecret } from './model.ts';
import { DEFAULT_ENVIRONMENT, type Namespace } from './store.ts';

const ATTEMPTS = 20;
const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
/** A pending Idempotency-Key record older than this was left by a request that vanished. */
const ABANDONED_IDEMPOTENCY_MS = 60_000;

export function createIdempotency(deps: { models: Pick<Models, 'IdempotencyKey'>; keyring: MasterKeyring; now: () => Date }) {
  // Through the driver: every call is by _id, and mongoose's casting would only cost CPU.
  const records = deps.models.IdempotencyKey.collection as unknown as Collection<IdempotencyKeyDoc>;
  const { now } = deps;
  /** Results served from a record rather than made anew: audited as replays. */
  const replayed = new WeakSet<PublicSecret>();

  /** HMAC of the request under a key derived from a master key: see the IdempotencyKey model. */
  function fingerprint(keyId: string, request: unknown): string | undefined {
    const masterKey = deps.keyring.keys.get(keyId);
    if (!masterKey) return undefined;
    const key = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'secrets-service/idempotency/v1', 32));
    return createHmac('sha256', key).update(JSON.stringify(request)).digest('hex');
  }

  /** The stored first result, with its dates back as dates. */
  function replayOf(stored: PublicSecret): PublicSecret {
    const result: PublicSecret = {
      ...stored,
      // Records from before environments name none: theirs was the default one.
      environment: stored.environment ?? DEFAULT_ENVIRONMENT,
      createdAt: new Date(stored.createdAt),
      updatedAt: new Date(stored.updatedAt),
      deletedAt: stored.deletedAt ? new Date(stored.deletedAt) : null,
      expiresAt: stored.expiresAt ? new Date(stored.expiresAt) : null,
      ttlSeconds: stored.ttlSeconds ?? null,
    };
    replayed.add(result);
    return result;
  }

  return {
    /** Whether this result was served from an earlier request's record. */
    isReplay: (secret: PublicSecret) => replayed.has(secret),

    /**
     * Serves `create` once per (environment, Idempotency-Key) for 24 hours: the
     * same request again gets the first result, another request with the same
     * key an IdempotencyKeyReusedError. A failed first attempt frees the key.
     */
    async once(ns: Namespace, sent: string, request: unknown, create: () => Promise<PublicSecret>): Promise<PublicSecret> {
      const projectId = new Types.ObjectId(ns.projectId);
      // Per environment: the key as sent in "default" (as before environments),
      // "<slug> <key>" in any other (a key has no space, so none can collide).
      const key = ns.environment === DEFAULT_ENVIRONMENT ? sent : `${ns.environment} ${sent}`;
      const keyId = deps.keyring.activeId;
      const mine = fingerprint(keyId, request)!;
      const _id = `${ns.projectId}/${key}`;
      for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
        const at = now();
        let record;
        try {
          record = {
            _id,
            projectId,
            key,
            fingerprint: mine,
            keyId,
            state: 'pending' as const,
            status: null,
            secret: null,
            createdAt: at,
            expiresAt: new Date(at.getTime() + IDEMPOTENCY_TTL_MS),
          };
          await records.insertOne(record);
        } catch (err) {
          if (!isDuplicateKeyError(err)) throw err;
          const first = await records.findOne({ _id });
          if (!first) continue;
          if (first.expiresAt.getTime() <= at.getTime()) {
            await records.deleteOne({ _id: first._id });
            continue;
          }
          if (fingerprint(first.keyId, request) !== first.fingerprint) throw new IdempotencyKeyReusedError();
          if (first.state !== 'done' || !first.secret) {
            // Left pending by a request that vanished (a crash): it no longer blocks the key. Were
            // its request still running, the two could not both create the secret: its name decides.
            if (at.getTime() - first.createdAt.getTime() <= ABANDONED_IDEMPOTENCY_MS) throw new IdempotencyKeyInProgressError();
            await records.deleteOne({ _id: first._id, state: 'pending' });
            continue;
          }
          return replayOf(first.secret as PublicSecret);
        }
        try {
          const secret = await create();
          // The first result, to replay: the public secret only, never a value.
          await records.updateOne({ _id: record._id }, { $set: { state: 'done', status: 201, secret } });
          return secret;
        } catch (err) {
          await records.deleteOne({ _id: record._id });
          throw err;
        }
      }
      throw new IdempotencyKeyInProgressError();
    },
  };
}

export type Idempotency = ReturnType<typeof createIdempotency>;
