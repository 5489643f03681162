// Turns a presented API key into the actor a request acts as.
import { LRUCache } from 'lru-cache';
import type { Types } from 'mongoose';
import type { Models } from '../db/models/index.ts';
import { hashApiKey, isWellFormedApiKey } from './api-key.ts';
import { UnauthenticatedError } from './errors.ts';

export interface Actor {
  readonly projectId: string;
  readonly keyId: string;
}

export type Door = 'graphql' | 'langwatch' | 'together' | 'user-secrets-v1' | 'openhands' | 'admin';

/** An authenticated caller and where the call came in: what the audit log records. */
export interface Caller extends Actor {
  readonly door: Door;
  readonly requestId: string;
}

/**
 * Keys found valid are remembered briefly, so that most requests cost no
 * lookup: at most AUTH_CACHE_MAX keys, each for AUTH_CACHE_TTL_MS. That is
 * also the longest a key removed from the database keeps working on a node.
 * Unknown keys are not remembered: a flood of random keys cannot fill the cache.
 */
export const AUTH_CACHE_TTL_MS = 2_000;
const AUTH_CACHE_MAX = 10_000;

export function createAuthenticator(deps: { models: Pick<Models, 'ApiKey'> }) {
  const { ApiKey } = deps.models;
  const cache = new LRUCache<string, Actor>({ max: AUTH_CACHE_MAX, ttl: AUTH_CACHE_TTL_MS });

  return {
    async authenticate(presented: string | undefined): Promise<Actor> {
      if (!presented) throw new UnauthenticatedError();
      // A malformed key cannot exist: refuse it without a database round trip.
      if (!isWellFormedApiKey(presented)) throw new UnauthenticatedError('Invalid API key.');
      const hash = hashApiKey(presented);
      const cached = cache.get(hash);
      if (cached) return cached;
      const key = await ApiKey.collection.findOne<{ _id: Types.ObjectId; projectId: Types.ObjectId }>({ hash }, { projection: { projectId: 1 } });
      if (!key) throw new UnauthenticatedError('Invalid API key.');
      const actor = { projectId: key.projectId.toHexString(), keyId: key._id.toHexString() };
      cache.set(hash, actor);
      return actor;
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
