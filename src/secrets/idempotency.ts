// Idempotency-Key: a create served once per (environment, key) for 24 hours.
// The store's claim decides which of two racing requests with one key does
// the work; the kept result is the public secret only, never a value.
import { createHmac, hkdfSync } from 'node:crypto';
import type { MasterKeyring } from '../crypto/envelope.ts';
import { IdempotencyKeyInProgressError, IdempotencyKeyReusedError } from './errors.ts';
import type { PublicSecret } from './model.ts';
import type { IdempotencyStore, Namespace } from './store.ts';

const ATTEMPTS = 20;
const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
/** A pending Idempotency-Key record older than this was left by a request that vanished. */
const ABANDONED_IDEMPOTENCY_MS = 60_000;

export function createIdempotency(deps: { records: IdempotencyStore; keyring: MasterKeyring; now: () => Date }) {
  const { records, now } = deps;
  /** Results served from a record rather than made anew: audited as replays. */
  const replayed = new WeakSet<PublicSecret>();

  /** HMAC of the request under a key derived from a master key: see the IdempotencyKey model. */
  function fingerprint(keyId: string, request: unknown): string | undefined {
    const masterKey = deps.keyring.keys.get(keyId);
    if (!masterKey) return undefined;
    const key = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'secrets-service/idempotency/v1', 32));
    return createHmac('sha256', key).update(JSON.stringify(request)).digest('hex');
  }

  /** The first result, served again: a copy, marked as a replay. */
  function replayOf(first: PublicSecret): PublicSecret {
    const result = { ...first };
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
    async once(ns: Namespace, key: string, request: unknown, create: () => Promise<PublicSecret>): Promise<PublicSecret> {
      const keyId = deps.keyring.activeId;
      const mine = fingerprint(keyId, request)!;
      for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
        const at = now();
        const first = await records.claim(ns, key, { fingerprint: mine, keyId, createdAt: at, expiresAt: new Date(at.getTime() + IDEMPOTENCY_TTL_MS) });
        if (first) {
          if (first.expiresAt.getTime() <= at.getTime()) {
            await records.release(ns, key);
            continue;
          }
          if (fingerprint(first.keyId, request) !== first.fingerprint) throw new IdempotencyKeyReusedError();
          if (first.result) return replayOf(first.result);
          // Left pending by a request that vanished (a crash): it no longer blocks the key. Were
          // its request still running, the two could not both create the secret: its name decides.
          if (at.getTime() - first.createdAt.getTime() <= ABANDONED_IDEMPOTENCY_MS) throw new IdempotencyKeyInProgressError();
          await records.release(ns, key, true);
          continue;
        }
        try {
          const secret = await create();
          // The first result, to replay: the public secret only, never a value.
          await records.complete(ns, key, secret);
          return secret;
        } catch (err) {
          await records.release(ns, key);
          throw err;
        }
      }
      throw new IdempotencyKeyInProgressError();
    },
  };
}

export type Idempotency = ReturnType<typeof createIdempotency>;
