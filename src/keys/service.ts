// A project's API keys, managed by keys with the keys:manage scope: create
// (the key is shown once; only its hash is kept), list, revoke.
import { Types } from 'mongoose';
import { type AuditLog, callerEntry } from '../audit/service.ts';
import { apiKeyPrefix, generateApiKey, hashApiKey } from '../auth/api-key.ts';
import type { Caller } from '../auth/caller.ts';
import { ForbiddenError, UnauthenticatedError } from '../auth/errors.ts';
import { requireScope, requireScopesHeld, SCOPES, type Scope } from '../auth/scopes.ts';
import { parseObjectId } from '../db/errors.ts';
import type { Models } from '../db/models/index.ts';
import { EnvironmentNotFoundError, InvalidFieldError, NotFoundError } from '../secrets/errors.ts';
import type { EnvironmentStore } from '../secrets/store.ts';

export interface ApiKeyInfo {
  readonly id: string;
  readonly name: string;
  readonly prefix: string;
  readonly scopes: readonly Scope[];
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
  /** The environment it is bound to; null: unbound. */
  readonly environment: string | null;
  readonly requireRevealReason: boolean;
  /** The workload identity whose login issued it; null: made by a key or the admin route. */
  readonly identityId: string | null;
}

/** An expiry that has already passed: the key would be dead on arrival. */
export class ExpiryInPastError extends InvalidFieldError {
  override name = 'ExpiryInPastError';
  constructor() {
    super('expiresAt', 'expiresAt must be in the future');
  }
}

export class ApiKeyNotFoundError extends NotFoundError {
  override name = 'ApiKeyNotFoundError';
  constructor() {
    super('API key not found');
  }
}

type KeyDoc = {
  _id: Types.ObjectId;
  name: string;
  prefix: string;
  scopes?: Scope[];
  createdAt: Date;
  lastUsedAt?: Date | null;
  expiresAt?: Date | null;
  revokedAt?: Date | null;
  /** The key that minted this one (absent for admin-made and dev keys): revoking it revokes this. */
  createdByKeyId?: Types.ObjectId | null;
  environment?: string | null;
  requireRevealReason?: boolean;
  identityId?: Types.ObjectId | null;
};

/** What a new key is: everything but its secret, its hash and its bookkeeping. */
export interface KeyGrant {
  readonly projectId: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly expiresAt: Date | null;
  readonly environment: string | null;
  readonly requireRevealReason: boolean;
  /** The key that minted it (revoking that revokes this). */
  readonly createdByKeyId: string | null;
  readonly identityId?: string | null;
}

/** How long a key an identity issued is kept after it expired (the key list shows it meanwhile), before the sweep forgets it. */
const ISSUED_KEYS_KEPT_MS = 24 * 3600_000;

/**
 * A key may mint only keys that can do no more than itself, for no longer:
 * scopes it has, and an expiry no later than its own (required when it has one).
 */
function checkMintable(
  caller: Caller,
  input: { scopes: readonly Scope[]; expiresAt?: Date | null; environment?: string | null; requireRevealReason?: boolean },
): void {
  requireScopesHeld(caller, input.scopes, 'a key it creates');
  const limit = caller.keyExpiresAt;
  if (limit && (!input.expiresAt || input.expiresAt.getTime() > limit.getTime())) {
    throw new ForbiddenError('keys:manage', `This API key expires at ${limit.toISOString()}: a key it creates must expire no later`);
  }
  const bound = caller.boundEnvironment;
  if (bound !== null && input.environment != null && input.environment !== bound) {
    throw new ForbiddenError('environment', `This API key is bound to the environment "${bound}": a key it creates is bound to it too`);
  }
  if (caller.requireRevealReason && input.requireRevealReason === false) {
    throw new ForbiddenError('reveal reason', 'This API key must give a reason for its reveals: a key it creates must too');
  }
}

function toInfo(doc: KeyDoc): ApiKeyInfo {
  return {
    id: doc._id.toHexString(),
    name: doc.name,
    prefix: doc.prefix,
    // Keys made before scopes existed have every scope (as the authenticator grants).
    scopes: doc.scopes ?? [...SCOPES],
    createdAt: doc.createdAt,
    lastUsedAt: doc.lastUsedAt ?? null,
    expiresAt: doc.expiresAt ?? null,
    revokedAt: doc.revokedAt ?? null,
    environment: doc.environment ?? null,
    requireRevealReason: doc.requireRevealReason ?? false,
    identityId: doc.identityId?.toHexString() ?? null,
  };
}

/**
 * What of its project a caller may see and manage (keys, identities): its
 * project's, and, for a key bound to an environment, only what is bound to the same one.
 */
export function managedBy(caller: Caller) {
  return { projectId: new Types.ObjectId(caller.projectId), ...(caller.boundEnvironment === null ? {} : { environment: caller.boundEnvironment }) };
}

export function createKeyService(deps: { models: Pick<Models, 'ApiKey'>; environments: EnvironmentStore; audit: AuditLog; now?: () => Date }) {
  const { ApiKey } = deps.models;
  const now = deps.now ?? (() => new Date());
  const record = (caller: Caller, operation: string, outcome: string) => deps.audit.record({ ...callerEntry(caller, operation), outcome });

  /** Revokes every key minted by these keys, and by those, down the chain. */
  async function revokeMinted(creators: Types.ObjectId[], revokedAt: Date): Promise<void> {
    for (let generation = creators; generation.length > 0;) {
      const minted = await ApiKey.collection.find<{ _id: Types.ObjectId }>({ createdByKeyId: { $in: generation } }, { projection: { _id: 1 } }).toArray();
      generation = minted.map((k) => k._id);
      if (generation.length > 0) {
        await ApiKey.collection.updateMany({ _id: { $in: generation }, revokedAt: null }, { $set: { revokedAt } });
      }
    }
  }

  /** Stores a new key (only its hash) and answers it, once. */
  async function issue(grant: KeyGrant) {
    const key = generateApiKey();
    const doc = {
      _id: new Types.ObjectId(),
      projectId: new Types.ObjectId(grant.projectId),
      name: grant.name,
      hash: hashApiKey(key),
      prefix: apiKeyPrefix(key),
      scopes: [...grant.scopes],
      createdAt: now(),
      expiresAt: grant.expiresAt,
      revokedAt: null,
      lastUsedAt: null,
      createdByKeyId: grant.createdByKeyId === null ? null : new Types.ObjectId(grant.createdByKeyId),
      environment: grant.environment,
      requireRevealReason: grant.requireRevealReason,
      identityId: grant.identityId ? new Types.ObjectId(grant.identityId) : null,
    };
    await ApiKey.collection.insertOne(doc);
    return { doc, key };
  }

  /** Revokes the keys these filters select that are not revoked yet; answers their ids. */
  async function revokeWhere(filter: Record<string, unknown>, revokedAt: Date): Promise<string[]> {
    const live = await ApiKey.collection.find<{ _id: Types.ObjectId }>({ ...filter, revokedAt: null }, { projection: { _id: 1 } }).toArray();
    if (live.length === 0) return [];
    const ids = live.map((k) => k._id);
    await ApiKey.collection.updateMany({ _id: { $in: ids }, revokedAt: null }, { $set: { revokedAt } });
    await revokeMinted(ids, revokedAt);
    return ids.map((id) => id.toHexString());
  }

  return {
    /** A key for a workload identity's login (the identity service has checked the token and the grant). */
    async issueForIdentity(grant: KeyGrant & { identityId: string }): Promise<{ apiKey: ApiKeyInfo; key: string }> {
      const { doc, key } = await issue(grant);
      return { apiKey: toInfo(doc), key };
    },

    /** Whether a key is gone or revoked: what it made (an identity) acts no more. */
    async isRevoked(keyId: Types.ObjectId): Promise<boolean> {
      const key = await ApiKey.collection.findOne<{ revokedAt: Date | null }>({ _id: keyId }, { projection: { revokedAt: 1 } });
      return !key || key.revokedAt !== null;
    },

    /** Revokes every key an identity issued (at once here; elsewhere within the key cache's bound); answers their ids. */
    revokeIssuedBy(identityId: string, revokedAt: Date): Promise<string[]> {
      return revokeWhere({ identityId: new Types.ObjectId(identityId) }, revokedAt);
    },

    /** Forgets keys identities issued that expired more than a day ago: a CI job a day would otherwise leave hundreds a year. */
    async sweep(): Promise<void> {
      await ApiKey.collection.deleteMany({ identityId: { $ne: null }, expiresAt: { $lt: new Date(now().getTime() - ISSUED_KEYS_KEPT_MS) } });
    },

    async create(
      caller: Caller,
      input: { name: string; scopes: Scope[]; expiresAt?: Date | null; environment?: string | null; requireRevealReason?: boolean },
    ): Promise<{ apiKey: ApiKeyInfo; key: string }> {
      requireScope(caller, 'keys:manage');
      try {
        checkMintable(caller, input);
      } catch (err) {
        await record(caller, 'create_api_key', 'forbidden');
        throw err;
      }
      if (input.expiresAt && input.expiresAt.getTime() <= now().getTime()) throw new ExpiryInPastError();
      // A bound creator's keys are bound to its environment; a reason it must give, they must too.
      const environment = input.environment ?? caller.boundEnvironment;
      const requireRevealReason = caller.requireRevealReason || (input.requireRevealReason ?? false);
      if (environment !== null && !(await deps.environments.exists({ projectId: caller.projectId, environment }))) {
        throw new EnvironmentNotFoundError(environment);
      }
      const { doc, key } = await issue({
        projectId: caller.projectId,
        name: input.name,
        scopes: input.scopes,
        expiresAt: input.expiresAt ?? null,
        environment,
        requireRevealReason,
        createdByKeyId: caller.keyId,
      });
      // The creator may have been revoked while it was still in a node's key
      // cache: then its new key goes with it, and the caller hears of it.
      const creator = await ApiKey.collection.findOne<KeyDoc>({ _id: new Types.ObjectId(caller.keyId) }, { projection: { revokedAt: 1 } });
      if (creator?.revokedAt) {
        await ApiKey.collection.updateOne({ _id: doc._id }, { $set: { revokedAt: creator.revokedAt } });
        await record(caller, 'create_api_key', 'unauthenticated');
        throw new UnauthenticatedError('This API key has been revoked.');
      }
      await record(caller, 'create_api_key', 'success');
      return { apiKey: toInfo(doc), key };
    },

    async list(caller: Caller, page: { first: number; after?: string | undefined }) {
      requireScope(caller, 'keys:manage');
      const filter: Record<string, unknown> = managedBy(caller);
      if (page.after !== undefined) filter._id = { $gt: parseObjectId(page.after) ?? new Types.ObjectId('ffffffffffffffffffffffff') };
      const docs = await ApiKey.collection
        .find<KeyDoc>(filter, { projection: { hash: 0 } })
        .sort({ _id: 1 })
        .limit(page.first + 1)
        .toArray();
      return { keys: docs.slice(0, page.first).map(toInfo), hasNextPage: docs.length > page.first };
    },

    /** Revokes a key of the caller's project; every node refuses it within the auth cache's TTL. */
    async revoke(caller: Caller, id: string): Promise<ApiKeyInfo> {
      requireScope(caller, 'keys:manage');
      const _id = parseObjectId(id);
      const filter = { _id, ...managedBy(caller) };
      const doc = _id ? await ApiKey.collection.findOne<KeyDoc>(filter, { projection: { hash: 0 } }) : null;
      if (!doc) {
        await record(caller, 'revoke_api_key', 'not_found');
        throw new ApiKeyNotFoundError();
      }
      const revokedAt = doc.revokedAt ?? now();
      if (!doc.revokedAt) await ApiKey.collection.updateOne(filter, { $set: { revokedAt } });
      // Keys it minted (and theirs) go with it: none outlives its creator's revocation.
      await revokeMinted([doc._id], revokedAt);
      await record(caller, 'revoke_api_key', 'success');
      return toInfo({ ...doc, revokedAt });
    },
  };
}

export type KeyService = ReturnType<typeof createKeyService>;
