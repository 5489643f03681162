// Workload identities: a project trusts an OpenID issuer's tokens whose
// subject and claims it names, and a login with such a token answers a
// short-lived API key of the identity's scopes and environment. Made, listed
// and deleted by keys with keys:manage; a login needs no key at all, only the
// token. Deleting an identity stops its logins at once and revokes its keys.
import { Types } from 'mongoose';
import { type AuditLog, callerEntry } from '../audit/service.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Caller, Door } from '../auth/caller.ts';
import { ForbiddenError } from '../auth/errors.ts';
import { requireScope, requireScopesHeld, type Scope } from '../auth/scopes.ts';
import { isDuplicateKeyError, parseObjectId } from '../db/errors.ts';
import type { IdentityDoc } from '../db/models/identity.ts';
import type { Models } from '../db/models/index.ts';
import { type KeyService, managedBy } from '../keys/service.ts';
import { checkDestination, type DestinationPolicy, DestinationRefusedError } from '../net/destination.ts';
import { ConflictError, EnvironmentNotFoundError, InvalidFieldError, NotFoundError, QuotaExceededError } from '../secrets/errors.ts';
import type { EnvironmentStore } from '../secrets/store.ts';
import { claimOf, matchingValue, globMatches } from './match.ts';
import { type IssuerPolicy, issuerUrlProblem, TokenRefusedError, type TokenVerifier } from './oidc.ts';

export interface ClaimPattern {
  readonly claim: string;
  readonly pattern: string;
}

export interface IdentityInput {
  readonly name: string;
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly subject: string;
  readonly claims: readonly ClaimPattern[];
  readonly environment: string | null;
  readonly scopes: readonly Scope[];
  readonly maxTtlSeconds: number;
}

export interface IdentityInfo extends IdentityInput {
  readonly id: string;
  readonly requireRevealReason: boolean;
  readonly createdAt: Date;
}

/** What a login answers: the key (shown this once) and when it stops working. */
export interface OidcLogin {
  readonly apiKey: string;
  readonly expiresAt: Date;
  readonly keyId: string;
  readonly scopes: readonly Scope[];
  readonly environment: string | null;
}

export class IdentityNotFoundError extends NotFoundError {
  override name = 'IdentityNotFoundError';
  constructor() {
    super('Identity not found');
  }
}

export class IdentityNameTakenError extends ConflictError {
  override name = 'IdentityNameTakenError';
  constructor(readonly identityName: string) {
    super(`An identity named "${identityName}" already exists`);
  }
}

/** Identities a project may have. */
export const IDENTITIES_PER_PROJECT_MAX = 100;

const toInfo = (doc: IdentityDoc): IdentityInfo => ({
  id: doc._id.toHexString(),
  name: doc.name,
  issuer: doc.issuer,
  audiences: doc.audiences,
  subject: doc.subject,
  claims: doc.claims.map(({ claim, pattern }) => ({ claim, pattern })),
  environment: doc.environment,
  scopes: doc.scopes as Scope[],
  maxTtlSeconds: doc.maxTtlSeconds,
  requireRevealReason: doc.requireRevealReason,
  createdAt: doc.createdAt,
});

/** A login no identity answers (unknown, deleted, or its maker revoked): one refusal for all, so none is told apart. */
const noSuchIdentity = () => new TokenRefusedError('No such identity, or it no longer takes logins.');

export function createIdentityService(deps: {
  models: Pick<Models, 'Identity'>;
  keys: KeyService;
  environments: EnvironmentStore;
  audit: AuditLog;
  authenticator: Pick<Authenticator, 'forget'>;
  verifier: TokenVerifier;
  policy: IssuerPolicy;
  now?: () => Date;
}) {
  const { Identity } = deps.models;
  const identities = Identity.collection;
  const now = deps.now ?? (() => new Date());
  /** An issuer not named in OIDC_ALLOWED_ISSUERS must be public. */
  const publicOnly: DestinationPolicy = { allowedHosts: new Set(), setting: 'OIDC_ALLOWED_ISSUERS' };
  const record = (caller: Caller, operation: string, outcome: string) => deps.audit.record({ ...callerEntry(caller, operation), outcome });

  /** An identity grants no more than its maker has: its scopes, its environment, no expiry past its own. */
  function checkGrantable(caller: Caller, input: IdentityInput): void {
    requireScopesHeld(caller, input.scopes, 'an identity');
    if (caller.keyExpiresAt) {
      throw new ForbiddenError('keys:manage', 'This API key expires: an identity it made would issue keys after it, so it may not make one');
    }
    const bound = caller.boundEnvironment;
    if (bound !== null && input.environment !== bound) {
      throw new ForbiddenError('environment', `This API key is bound to the environment "${bound}": an identity it makes is bound to it too`);
    }
  }

  /** An issuer is https and public, or named in OIDC_ALLOWED_ISSUERS (then it may be http, and internal). */
  async function checkIssuer(issuer: string): Promise<void> {
    const problem = issuerUrlProblem(issuer, deps.policy);
    if (problem) throw new InvalidFieldError('issuer', problem);
    if (deps.policy.allowedIssuers.includes(issuer)) return;
    try {
      await checkDestination(new URL(issuer), publicOnly);
    } catch (err) {
      if (err instanceof DestinationRefusedError) throw new InvalidFieldError('issuer', err.message);
      throw err;
    }
  }

  return {
    async create(caller: Caller, input: IdentityInput): Promise<IdentityInfo> {
      requireScope(caller, 'keys:manage');
      try {
        checkGrantable(caller, input);
      } catch (err) {
        await record(caller, 'create_identity', 'forbidden');
        throw err;
      }
      await checkIssuer(input.issuer);
      // A bound maker named its own environment (checkGrantable).
      const { environment } = input;
      if (environment !== null && !(await deps.environments.exists({ projectId: caller.projectId, environment }))) {
        throw new EnvironmentNotFoundError(environment);
      }
      const projectId = new Types.ObjectId(caller.projectId);
      if ((await identities.countDocuments({ projectId }, { limit: IDENTITIES_PER_PROJECT_MAX })) >= IDENTITIES_PER_PROJECT_MAX) {
        throw new QuotaExceededError(IDENTITIES_PER_PROJECT_MAX);
      }
      const doc: IdentityDoc = {
        _id: new Types.ObjectId(),
        projectId,
        name: input.name,
        issuer: input.issuer,
        audiences: [...input.audiences],
        subject: input.subject,
        claims: input.claims.map(({ claim, pattern }) => ({ claim, pattern })),
        environment,
        scopes: [...input.scopes],
        maxTtlSeconds: input.maxTtlSeconds,
        requireRevealReason: caller.requireRevealReason,
        createdAt: now(),
        createdByKeyId: new Types.ObjectId(caller.keyId),
      };
      try {
        await identities.insertOne(doc);
      } catch (err) {
        if (isDuplicateKeyError(err)) {
          await record(caller, 'create_identity', 'conflict');
          throw new IdentityNameTakenError(input.name);
        }
        throw err;
      }
      await record(caller, 'create_identity', 'success');
      return toInfo(doc);
    },

    async list(caller: Caller): Promise<IdentityInfo[]> {
      requireScope(caller, 'keys:manage');
      const docs = await identities.find<IdentityDoc>(managedBy(caller)).sort({ _id: 1 }).limit(IDENTITIES_PER_PROJECT_MAX).toArray();
      return docs.map(toInfo);
    },

    /** Deletes an identity: no login after this answers, and every key it issued is revoked (elsewhere within the key cache's bound). */
    async delete(caller: Caller, id: string): Promise<{ identity: IdentityInfo; revokedKeys: number }> {
      requireScope(caller, 'keys:manage');
      const _id = parseObjectId(id);
      const doc = _id ? await identities.findOne<IdentityDoc>({ _id, ...managedBy(caller) }) : null;
      if (!doc || (await identities.deleteOne({ _id: doc._id })).deletedCount === 0) {
        await record(caller, 'delete_identity', 'not_found');
        throw new IdentityNotFoundError();
      }
      const revoked = await deps.keys.revokeIssuedBy(doc._id.toHexString(), now());
      for (const keyId of revoked) deps.authenticator.forget(keyId);
      await record(caller, 'delete_identity', 'success');
      return { identity: toInfo(doc), revokedKeys: revoked.length };
    },

    /**
     * Exchanges a token of the identity's issuer for a key. TokenRefusedError
     * (401) for a token it does not accept, ForbiddenError (403) for one
     * whose subject or claims are not the identity's.
     */
    async login(input: { identity: string; token: string }, request: { door: Door; requestId: string }): Promise<OidcLogin> {
      const _id = parseObjectId(input.identity);
      const identity = _id ? await identities.findOne<IdentityDoc>({ _id }) : null;
      if (!identity) throw noSuchIdentity();
      const claims = await deps.verifier.verify(input.token, identity);
      const entry = {
        projectId: identity.projectId.toHexString(),
        door: request.door,
        environment: identity.environment,
        operation: 'login_oidc',
        requestId: request.requestId,
        subject: claims.sub,
      };
      if (!globMatches(identity.subject, claims.sub)) {
        await deps.audit.record({ ...entry, outcome: 'forbidden' });
        throw new ForbiddenError('subject', "The token's subject is not the identity's.");
      }
      const matched: { claim: string; value: string }[] = [];
      for (const { claim, pattern } of identity.claims) {
        const value = matchingValue(claimOf(claims, claim), pattern);
        if (value === undefined) {
          await deps.audit.record({ ...entry, claims: matched, outcome: 'forbidden' });
          throw new ForbiddenError('claims', `The token's "${claim}" claim is not the identity's.`);
        }
        matched.push({ claim, value });
      }
      // The maker revoked: its identities take no logins (the keys they issued went with it).
      if (identity.createdByKeyId && (await deps.keys.isRevoked(identity.createdByKeyId))) throw noSuchIdentity();
      const at = now().getTime();
      // Never past the token's own expiry: the key dies when the token would be refused.
      const expiresAt = new Date(Math.min(at + identity.maxTtlSeconds * 1000, claims.exp * 1000));
      if (expiresAt.getTime() <= at) throw new TokenRefusedError('The token has expired.');
      const { apiKey, key } = await deps.keys.issueForIdentity({
        projectId: identity.projectId.toHexString(),
        name: `${identity.name}: ${claims.sub}`.slice(0, 200),
        scopes: identity.scopes as Scope[],
        expiresAt,
        environment: identity.environment,
        requireRevealReason: identity.requireRevealReason,
        createdByKeyId: identity.createdByKeyId?.toHexString() ?? null,
        identityId: identity._id.toHexString(),
      });
      // Deleted meanwhile (its deletion revoked the keys it found before this one): this one goes too.
      if (!(await identities.findOne({ _id: identity._id }, { projection: { _id: 1 } }))) {
        await deps.keys.revokeIssuedBy(identity._id.toHexString(), now());
        throw noSuchIdentity();
      }
      await deps.audit.record({ ...entry, keyId: apiKey.id, claims: matched, outcome: 'success' });
      return { apiKey: key, expiresAt, keyId: apiKey.id, scopes: apiKey.scopes, environment: apiKey.environment };
    },
  };
}

export type IdentityService = ReturnType<typeof createIdentityService>;
