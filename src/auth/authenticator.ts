// Turns a presented API key into the actor a request acts as.
import { LRUCache } from 'lru-cache';
import type { Types } from 'mongoose';
import type { Models } from '../db/models/index.ts';
import { hashApiKey, isWellFormedApiKey } from './api-key.ts';
import type { Actor } from './caller.ts';
import { SCOPES, type Scope } from './scopes.ts';
import { UnauthenticatedError } from './errors.ts';

/**
 * Keys found valid are remembered briefly, so that most requests cost no
 * lookup: at most AUTH_CACHE_MAX keys, each for AUTH_CACHE_TTL_MS. That is
 * also the longest a key removed from the database keeps working on a node.
 * Unknown keys are not remembered: a flood of random keys cannot fill the cache.
 */
export const AUTH_CACHE_TTL_MS = 2_000;
const AUTH_CACHE_MAX = 10_000;

interface KeyRecord {
  _id: Types.ObjectId;
  projectId: Types.ObjectId;
  scopes?: Scope[];
  expiresAt?: Date | null;
  revokedAt?: Date | null;
  environment?: string | null;
  requireRevealReason?: boolean;
  overrides?: boolean;
}

export function createAuthenticator(deps: { models: Pick<Models, 'ApiKey'>; now?: () => Date }) {
  const { ApiKey } = deps.models;
  const now = deps.now ?? (() => new Date());
  const cache = new LRUCache<string, { actor: Actor; expiresAt: number }>({ max: AUTH_CACHE_MAX, ttl: AUTH_CACHE_TTL_MS });

  return {
    /**
     * The actor a presented key acts as. With `cachedOnly`, a key this node
     * does not remember as valid is refused without a lookup (its address is
     * over its limit of refused authentications).
     */
    async authenticate(presented: string | undefined, options: { cachedOnly?: boolean } = {}): Promise<Actor> {
      if (!presented) throw new UnauthenticatedError();
      // A malformed key cannot exist: refuse it without a database round trip.
      if (!isWellFormedApiKey(presented)) throw new UnauthenticatedError('Invalid API key.');
      const hash = hashApiKey(presented);
      const at = now();
      const cached = cache.get(hash);
      // An expiry is exact even from the cache; a revocation shows within the cache's TTL.
      if (cached && cached.expiresAt > at.getTime()) return cached.actor;
      if (options.cachedOnly) throw new UnauthenticatedError('Too many refused authentications from this address.');
      const key = await ApiKey.collection.findOne<KeyRecord>(
        { hash },
        { projection: { projectId: 1, scopes: 1, expiresAt: 1, revokedAt: 1, environment: 1, requireRevealReason: 1, overrides: 1 } },
      );
      if (!key || key.revokedAt) throw new UnauthenticatedError('Invalid API key.');
      if (key.expiresAt && key.expiresAt.getTime() <= at.getTime()) throw new UnauthenticatedError('This API key has expired.');
      const actor: Actor = {
        projectId: key.projectId.toHexString(),
        keyId: key._id.toHexString(),
        scopes: key.scopes ?? [...SCOPES],
        keyExpiresAt: key.expiresAt ?? null,
        boundEnvironment: key.environment ?? null,
        requireRevealReason: key.requireRevealReason ?? false,
        hasOverrides: key.overrides === true,
      };
      cache.set(hash, { actor, expiresAt: key.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY });
      // Noted at most once per TTL per node: a cache miss, not every request.
      void ApiKey.collection.updateOne({ _id: key._id }, { $set: { lastUsedAt: at } }).catch(() => {});
      return actor;
    },

    /** Forgets what this node remembers of a key (its next request reads it again): after a change to it made here. */
    forget(keyId: string): void {
      for (const [hash, entry] of cache.entries()) if (entry.actor.keyId === keyId) cache.delete(hash);
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
