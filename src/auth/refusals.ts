// Refused authentications, limited per client address: a client with a
// mistyped key sees its 401s, a flood of random keys gets 429 within a burst
// and, once over the limit, costs no key lookup and no audit write. Counted
// with @fastify/rate-limit (its own store, apart from the per-key limiter's,
// so refusals never push a key's bucket out of that table).
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface AuthRefusals {
  /** The address had more refusals this minute than it may: no more of its keys are looked up. */
  isOverLimit(request: FastifyRequest): Promise<boolean>;
  /** Counts a refusal of the request's address; says whether that put it over the limit, and for how long. */
  count(request: FastifyRequest): Promise<{ overLimit: boolean; retryAfterSeconds: number }>;
}

const WINDOW_MS = 60_000;

/** Needs @fastify/rate-limit registered on `app`. A limit of 0 counts nothing and refuses nothing. */
export function createAuthRefusals(app: FastifyInstance, limitPerMinute: number): AuthRefusals {
  if (limitPerMinute === 0) {
    return { isOverLimit: async () => false, count: async () => ({ overLimit: false, retryAfterSeconds: 0 }) };
  }
  const limiter = app.createRateLimit({ max: limitPerMinute, timeWindow: WINDOW_MS, keyGenerator: (request) => request.ip });
  return {
    async isOverLimit(request) {
      const state = await limiter(request, { increment: false });
      // At the limit already: the next refusal will be a 429, so its key need not be looked up.
      return !state.isAllowed && state.remaining === 0;
    },
    async count(request) {
      const state = await limiter(request);
      return state.isAllowed ? { overLimit: false, retryAfterSeconds: 0 } : { overLimit: state.isExceeded, retryAfterSeconds: state.ttlInSeconds };
    },
  };
}
