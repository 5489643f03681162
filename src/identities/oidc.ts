// OpenID Connect tokens, checked against their issuer's published keys: the
// discovery document (<issuer>/.well-known/openid-configuration) names the
// JWKS, both fetched through the destination guard and kept a while. A token
// signed by a key the cache does not know makes one fresh fetch (at most one
// per issuer per cooldown, however many such tokens come); a signature is
// checked by jose, with asymmetric algorithms only. A refusal says which rule
// the token broke, never what the token holds.
import { LRUCache } from 'lru-cache';
import { createLocalJWKSet, decodeProtectedHeader, errors, type JSONWebKeySet, type JWTPayload, jwtVerify } from 'jose';
import { UnauthenticatedError } from '../auth/errors.ts';
import { type DestinationPolicy, hostOf } from '../net/destination.ts';
import { FetchFailedError, getJson } from '../net/get-json.ts';

/** A token the identity does not accept: 401, with the rule it broke. */
export class TokenRefusedError extends UnauthenticatedError {
  override name = 'TokenRefusedError';
}

/** The issuer's keys could not be had (it is down, or answers nothing usable): 503, the caller may retry. */
export class IssuerUnavailableError extends Error {
  override name = 'IssuerUnavailableError';
}

/** Signatures by an issuer's private key; never HMAC (a shared secret) and never none. */
export const SIGNING_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** How far a token's times may be off our clock (issuers' clocks drift). */
const CLOCK_TOLERANCE_SECONDS = 30;
const DOCUMENT_MAX_BYTES = 256 * 1024;
/** How long past their time an issuer's keys still serve while it cannot be read. */
const STALE_KEYS_MS = 3600_000;

export interface IssuerTiming {
  /** How long fetched keys are used before they are fetched again. */
  readonly keysTtlMs: number;
  /** The least time between two fetches for an unknown key id, per issuer. */
  readonly refreshCooldownMs: number;
  readonly timeoutMs: number;
}

export const DEFAULT_ISSUER_TIMING: IssuerTiming = { keysTtlMs: 10 * 60_000, refreshCooldownMs: 10_000, timeoutMs: 5_000 };

/** Which issuers may be plain http or internal: OIDC_ALLOWED_ISSUERS. */
export interface IssuerPolicy {
  readonly allowedIssuers: readonly string[];
}

/** The issuer's URL without a trailing slash: its discovery document is under it. */
const base = (issuer: string) => issuer.replace(/\/+$/, '');

/** Why an issuer URL cannot be one, or null. `https` unless the policy names it; no credentials, query or fragment. */
export function issuerUrlProblem(issuer: string, policy: IssuerPolicy): string | null {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return 'The issuer must be an absolute URL';
  }
  if (url.username || url.password || url.search || url.hash) return 'The issuer URL must have no credentials, query or fragment';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowedIssuers.includes(issuer))) {
    return 'The issuer must be https (an http issuer only where OIDC_ALLOWED_ISSUERS names it)';
  }
  return null;
}

/** The destination policy for issuers: the hosts of the allowed issuers may be internal (a local cluster's, a test's). */
function issuerDestinationPolicy(policy: IssuerPolicy): DestinationPolicy {
  const hosts = policy.allowedIssuers.flatMap((issuer) => {
    try {
      return [hostOf(new URL(issuer))];
    } catch {
      return [];
    }
  });
  return { allowedHosts: new Set(hosts), setting: 'OIDC_ALLOWED_ISSUERS' };
}

interface IssuerKeys {
  readonly keys: ReturnType<typeof createLocalJWKSet>;
  readonly fetchedAt: number;
}

const refused = (message: string) => new TokenRefusedError(message);

/** A jose failure as the rule the token broke. */
function refusalOf(err: unknown): Error {
  if (err instanceof errors.JWTExpired) return refused('The token has expired.');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return refused(`The token has no "${err.claim}" claim, which it must have.`);
    switch (err.claim) {
      case 'nbf':
        return refused('The token is not valid yet (its nbf is in the future).');
      case 'iat':
        return refused('The token was issued in the future (its iat).');
      case 'iss':
        return refused("The token was issued by another issuer than the identity's.");
      case 'aud':
        return refused("The token is meant for another audience than the identity's.");
      default:
        return refused(`The token's "${err.claim}" claim is not valid.`);
    }
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return refused("The token's signature does not verify with its issuer's keys.");
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return refused('The token is signed by a key its issuer does not publish.');
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return refused("The token's signing algorithm is not accepted.");
  return refused('The token is not a well-formed signed JWT.');
}

export function createTokenVerifier(deps: { policy: IssuerPolicy; timing?: Partial<IssuerTiming>; now?: () => Date }) {
  const timing = { ...DEFAULT_ISSUER_TIMING, ...deps.timing };
  const now = deps.now ?? (() => new Date());
  const destination = issuerDestinationPolicy(deps.policy);
  // Bounded: at most this many issuers' keys are kept, each no longer than keysTtlMs.
  const cache = new LRUCache<string, IssuerKeys>({ max: 500 });
  /** A fetch under way per issuer: concurrent logins share it. */
  const inflight = new Map<string, Promise<IssuerKeys>>();
  /** When each issuer was last fetched for an unknown key (bounded as the cache is). */
  const refreshedAt = new LRUCache<string, number>({ max: 500 });

  const get = (url: string) => getJson(new URL(url), { policy: destination, timeoutMs: timing.timeoutMs, maxBytes: DOCUMENT_MAX_BYTES });

  async function fetchKeys(issuer: string): Promise<IssuerKeys> {
    try {
      const discovery = (await get(`${base(issuer)}/.well-known/openid-configuration`)) as { issuer?: unknown; jwks_uri?: unknown } | null;
      if (discovery?.issuer !== issuer) throw new IssuerUnavailableError("The issuer's discovery document names another issuer.");
      if (typeof discovery.jwks_uri !== 'string') throw new IssuerUnavailableError("The issuer's discovery document names no jwks_uri.");
      const jwksUri = new URL(discovery.jwks_uri);
      // Its keys come from https, or from the allowed issuer's own origin.
      if (jwksUri.protocol !== 'https:' && jwksUri.origin !== new URL(issuer).origin) {
        throw new IssuerUnavailableError("The issuer's jwks_uri must be https (or on the allowed issuer's own origin).");
      }
      const jwks = (await get(jwksUri.href)) as JSONWebKeySet;
      // createLocalJWKSet checks the set's shape; a key it cannot use is skipped when it is chosen.
      const keys = createLocalJWKSet(jwks);
      const entry = { keys, fetchedAt: now().getTime() };
      cache.set(issuer, entry);
      return entry;
    } catch (err) {
      if (err instanceof IssuerUnavailableError) throw err;
      if (err instanceof FetchFailedError) throw new IssuerUnavailableError(`The identity's issuer could not be read: ${err.message}.`);
      throw new IssuerUnavailableError("The issuer's keys are not a JSON Web Key Set.");
    }
  }

  function load(issuer: string): Promise<IssuerKeys> {
    const running = inflight.get(issuer);
    if (running) return running;
    const started = fetchKeys(issuer).finally(() => inflight.delete(issuer));
    inflight.set(issuer, started);
    return started;
  }

  async function keysOf(issuer: string): Promise<IssuerKeys> {
    const cached = cache.get(issuer);
    const age = cached ? now().getTime() - cached.fetchedAt : Number.POSITIVE_INFINITY;
    if (cached && age < timing.keysTtlMs) return cached;
    // An issuer down for a while does not stop every login: its keys are used for up to STALE_KEYS_MS more.
    return load(issuer).catch((err: unknown) => {
      if (cached && age < timing.keysTtlMs + STALE_KEYS_MS) return cached;
      throw err;
    });
  }

  /** Fresh keys for a key id the cached ones lack, unless the issuer was refreshed within the cooldown (then none: the token is refused). */
  async function refreshed(issuer: string, had: IssuerKeys): Promise<IssuerKeys | null> {
    const at = now().getTime();
    const last = refreshedAt.get(issuer);
    // Fetched since (by a concurrent refresh): use that.
    const current = cache.get(issuer);
    if (current && current !== had) return current;
    if (last !== undefined && at - last < timing.refreshCooldownMs) return null;
    refreshedAt.set(issuer, at);
    return load(issuer);
  }

  return {
    /**
     * The claims of a token the issuer signed for one of the audiences, valid
     * now. Throws TokenRefusedError (the rule it broke) or IssuerUnavailableError.
     */
    async verify(token: string, expected: { issuer: string; audiences: readonly string[] }): Promise<JWTPayload & { exp: number; sub: string }> {
      let alg: unknown;
      try {
        if (token.split('.').length !== 3) throw new Error('not a JWS');
        alg = decodeProtectedHeader(token).alg;
      } catch {
        throw refused('The token is not a well-formed signed JWT.');
      }
      if (alg === 'none' || alg === undefined)
        throw refused('The token is unsigned (alg "none"): only tokens signed with the issuer\'s published keys are accepted.');
      if (typeof alg === 'string' && alg.startsWith('HS')) {
        throw refused("The token is signed with a shared secret (HMAC): only tokens signed with the issuer's published keys are accepted.");
      }
      if (typeof alg !== 'string' || !SIGNING_ALGORITHMS.includes(alg)) throw refused("The token's signing algorithm is not accepted.");
      const options = {
        issuer: expected.issuer,
        audience: [...expected.audiences],
        algorithms: SIGNING_ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: now(),
      };
      let keys = await keysOf(expected.issuer);
      for (let attempt = 0; ; attempt++) {
        try {
          const { payload } = await jwtVerify(token, keys.keys, options);
          if (typeof payload.sub !== 'string') throw refused('The token has no "sub" claim, which it must have.');
          return payload as JWTPayload & { exp: number; sub: string };
        } catch (err) {
          if (err instanceof TokenRefusedError) throw err;
          if (attempt === 0 && err instanceof errors.JWKSNoMatchingKey) {
            const fresh = await refreshed(expected.issuer, keys);
            if (fresh) {
              keys = fresh;
              continue;
            }
          }
          throw refusalOf(err);
        }
      }
    },
  };
}

export type TokenVerifier = ReturnType<typeof createTokenVerifier>;
