// What a caller reaches: the namespace it acts in, and the public copies of
// the store's records that the service hands to the doors (each remembers
// the record it was made from, which may carry its sealed value).
import { actingEnvironment, type Caller } from '../auth/caller.ts';
import { ForbiddenError } from '../auth/errors.ts';
import type { PublicSecret } from './model.ts';
import type { Namespace, SecretRecord } from './store.ts';

/**
 * The namespace a caller acts in: its key's project, and the environment its
 * request names, else its key's, else "default". A key bound to an
 * environment can name no other.
 */
export function callerNamespace(caller: Caller): Namespace {
  const environment = actingEnvironment(caller);
  const bound = caller.boundEnvironment;
  if (bound !== null && environment !== bound) {
    throw new ForbiddenError('environment', `This API key is bound to the environment "${bound}" and cannot act in "${environment}"`);
  }
  return { projectId: caller.projectId, environment };
}

/** The store record each public copy was made from: it may carry its sealed value, read with it. */
const recordOfPublic = new WeakMap<PublicSecret, SecretRecord>();

/** A store record as the doors see it: the public fields only. */
export function publicOf(record: SecretRecord): PublicSecret {
  const { purgeAt: _, ...secret } = record;
  recordOfPublic.set(secret, record);
  return secret;
}

/** When a deleted secret's recovery window ends (null for a live one, or a copy made elsewhere). */
export const restorableUntil = (secret: PublicSecret): Date | null => recordOfPublic.get(secret)?.purgeAt ?? null;

/** The records the public copies were made from (a copy made elsewhere stands for itself). */
export const recordsOf = (secrets: readonly PublicSecret[]) => secrets.map((s) => recordOfPublic.get(s) ?? s);
