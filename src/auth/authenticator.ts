// Turns a presented API key into the actor a request acts as.
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

export function createAuthenticator(deps: { models: Pick<Models, 'ApiKey'> }) {
  const { ApiKey } = deps.models;

  return {
    async authenticate(presented: string | undefined): Promise<Actor> {
      if (!presented) throw new UnauthenticatedError();
      // A malformed key cannot exist: refuse it without a database round trip.
      if (!isWellFormedApiKey(presented)) throw new UnauthenticatedError('Invalid API key.');
      const key = await ApiKey.findOne({ hash: hashApiKey(presented) }, { projectId: 1 }).lean();
      if (!key) throw new UnauthenticatedError('Invalid API key.');
      return { projectId: key.projectId.toHexString(), keyId: key._id.toHexString() };
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
