// Failures of a request itself rather than of what it asked for: the HTTP
// host throws them, and kinds.ts sorts them with the domain's.

/** Too many requests for one API key (or address) in the current minute. */
export class RateLimitedError extends Error {
  override name = 'RateLimitedError';
  readonly statusCode = 429;
  constructor(readonly retryAfterSeconds: number) {
    super(`Too many requests: retry after ${retryAfterSeconds} s.`);
  }
}

/** A request that arrived while this node drains for a stop: another node, or this one restarted, will serve it. */
export class ShuttingDownError extends Error {
  override name = 'ShuttingDownError';
  constructor() {
    super('The service is shutting down; retry shortly.');
  }
}

/** A route that reads a body got none (or an empty one, which is the same). */
export class MissingBodyError extends Error {
  override name = 'MissingBodyError';
  constructor() {
    super('A JSON body is required');
  }
}

/** This node is overloaded (its event loop lags): shed, not queued; retry here or on another node. */
export class OverloadedError extends Error {
  override name = 'OverloadedError';
  constructor(readonly retryAfterSeconds: number) {
    super(`The service is overloaded; retry after ${retryAfterSeconds} s.`);
  }
}

/** The seconds a refusal tells its client to wait before retrying, if it says. */
export const retryAfterOf = (err: unknown): number | undefined =>
  err instanceof RateLimitedError || err instanceof OverloadedError ? err.retryAfterSeconds : undefined;

/** Past the subscriptions one key (or one node) may hold open at once. */
export class TooManySubscriptionsError extends Error {
  override name = 'TooManySubscriptionsError';
}
