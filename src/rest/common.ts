// What every REST door shares: reading the API key, accepting JSON bodies, and
// sorting a failed request into one of a few kinds that each door then words
// in its own dialect.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuditLog, AuditSource } from '../audit/service.ts';
import type { Authenticator, Caller, Door } from '../auth/authenticator.ts';
import { type CredentialOptions, readApiKey } from '../auth/credentials.ts';
import { ForbiddenError, UnauthenticatedError } from '../auth/errors.ts';
import type { AuthRefusals } from '../auth/refusals.ts';
import { isDatabaseUnavailable } from '../db/errors.ts';
import {
  ConflictError,
  IdempotencyKeyReusedError,
  InvalidFieldError,
  NotFoundError,
  QuotaExceededError,
  UnreadableValueError,
  VersionMismatchError,
} from '../secrets/errors.ts';
import { idempotencyKeySchema } from '../secrets/rules.ts';
import type { PublicSecret } from '../secrets/service.ts';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
  }
}

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

/** A request's headers as credentials.ts reads them: one value per name (the first, if repeated). */
export function headersOf(request: FastifyRequest) {
  return (name: string): string | undefined => {
    const value = request.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
}

export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new UnauthenticatedError();
  return request.caller;
}

export interface DoorDeps {
  readonly authenticator: Authenticator;
  readonly audit: AuditLog;
  readonly refusals: AuthRefusals;
}

/**
 * Counts a refused authentication against the request's address: an audit
 * record (one per address and minute), or, over the address's limit, a 429
 * in place of the 401, written nowhere.
 */
export async function refuseAuthentication(request: FastifyRequest, deps: Omit<DoorDeps, 'authenticator'>, door: AuditSource, err: Error): Promise<Error> {
  const { overLimit, retryAfterSeconds } = await deps.refusals.count(request);
  if (overLimit) return new RateLimitedError(retryAfterSeconds);
  await deps.audit.recordRefusal({ door, operation: `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`, address: request.ip, requestId: request.id });
  return err;
}

/** The caller a request's key makes it, or the refusal (see refuseAuthentication) to throw. */
export async function authenticateRequest(request: FastifyRequest, deps: DoorDeps, door: Door, options: CredentialOptions = {}): Promise<Caller> {
  const presented = readApiKey(headersOf(request), options);
  try {
    // An address over its limit of refusals has only keys this node knows to be valid looked at.
    const actor = await deps.authenticator.authenticate(presented, { cachedOnly: await deps.refusals.isOverLimit(request) });
    return { ...actor, door, requestId: request.id };
  } catch (err) {
    if (err instanceof UnauthenticatedError) throw await refuseAuthentication(request, deps, door, err);
    throw err;
  }
}

/**
 * Authenticates every request of the plugin it is registered in, before its
 * body is read: an unauthenticated caller costs no parsing and learns nothing
 * about what its body would have done. A refusal is audited and counted.
 */
export function requireApiKey(app: FastifyInstance, deps: DoorDeps, door: Door, options: CredentialOptions = {}) {
  if (!app.hasRequestDecorator('caller')) app.decorateRequest('caller', null);
  app.addHook('onRequest', async (request) => {
    request.caller = await authenticateRequest(request, deps, door, options);
  });
}

/** The version a secret's representation is at, as its entity tag. */
export function etagOf(secret: PublicSecret): string {
  return `"${secret.version}"`;
}

/** If-Match, as the version a write expects: undefined when absent or `*`. */
export function expectedVersionOf(request: FastifyRequest): number | undefined {
  const header = request.headers['if-match'];
  if (header === undefined || header.trim() === '' || header.trim() === '*') return undefined;
  const match = header.trim().match(/^(?:W\/)?"?(\d{1,9})"?$/);
  // A tag we never issued cannot match the current one.
  if (!match) throw new VersionMismatchError(-1, -1);
  return Number(match[1]);
}

export const ifMatchHeader = z
  .string()
  .optional()
  .describe('Write only if the secret is still at this version (its ETag, e.g. "3"); 412 otherwise');

export const idempotencyKeyHeader = idempotencyKeySchema
  .optional()
  .describe('Repeat a create safely: the same key and request within 24 h returns the first result');

/**
 * Reads any body as JSON whatever its Content-Type (curl's `-d` says
 * form-urlencoded): the doors speak only JSON, and a body that is not JSON
 * then gets the door's own 400 instead of a bare 415.
 */
export function acceptJsonOfAnyType(app: FastifyInstance) {
  app.removeAllContentTypeParsers();
  // A "__proto__" key is dropped, not refused: the body is valid JSON, and
  // dropping it is what protects us from prototype poisoning.
  const parseJson = app.getDefaultJsonParser('remove', 'remove');
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    // An empty body is no body, whatever its Content-Type says: Together's
    // Python SDK sends `Content-Type: application/json` with an empty DELETE.
    if (typeof body === 'string' && body.trim() === '') return done(null, undefined);
    return parseJson(request, body as string, done);
  });
}

/** Where in the request a broken field is, in FastAPI's words (its `loc` starts with these). */
export type FieldLocation = 'body' | 'query' | 'path' | 'header';

export interface FieldIssue {
  readonly location: FieldLocation;
  readonly path: string[];
  readonly message: string;
  /** zod's issue code: too_small, invalid_type, invalid_format, ... */
  readonly code: string;
}

export type RequestFailure =
  | { kind: 'validation'; status: 422; message: string; issues: FieldIssue[] }
  | { kind: 'malformed'; status: 400; message: string }
  | { kind: 'too_large'; status: 413; message: string }
  | { kind: 'unauthenticated'; status: 401; message: string }
  | { kind: 'not_found'; status: 404; message: string }
  | { kind: 'conflict'; status: 409; message: string; error: ConflictError }
  | { kind: 'forbidden'; status: 403; message: string }
  | { kind: 'precondition'; status: 412; message: string }
  | { kind: 'rate_limited'; status: 429; message: string }
  | { kind: 'unavailable'; status: 503; message: string }
  | { kind: 'idempotency_mismatch'; status: 422; message: string }
  | { kind: 'bad_request'; status: number; message: string }
  | { kind: 'unreadable'; status: 500; message: string }
  | { kind: 'internal'; status: 500; message: string };

/**
 * Sorts an error thrown while serving a request. Messages of framework errors
 * are replaced by fixed ones: a JSON parser's message can quote the body, and
 * the body can hold a value.
 */
export function classifyFailure(err: unknown): RequestFailure {
  if (hasZodFastifySchemaValidationErrors(err)) {
    const context = (err as { validationContext?: string }).validationContext;
    const location: FieldLocation = context === 'querystring' ? 'query' : context === 'params' ? 'path' : context === 'headers' ? 'header' : 'body';
    const issues = err.validation.map((v) => ({
      location,
      path: v.instancePath.split('/').filter(Boolean),
      message: v.message ?? 'Invalid value',
      code: v.keyword,
    }));
    const message = issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
    return { kind: 'validation', status: 422, message, issues };
  }
  if (err instanceof UnauthenticatedError) return { kind: 'unauthenticated', status: 401, message: err.message };
  if (err instanceof ForbiddenError) return { kind: 'forbidden', status: 403, message: err.message };
  if (err instanceof RateLimitedError) return { kind: 'rate_limited', status: 429, message: err.message };
  if (err instanceof ShuttingDownError) return { kind: 'unavailable', status: 503, message: err.message };
  if (isDatabaseUnavailable(err)) {
    return { kind: 'unavailable', status: 503, message: 'The database is not reachable; retry shortly.' };
  }
  if (err instanceof VersionMismatchError) {
    return { kind: 'precondition', status: 412, message: 'The secret has changed: its version does not match If-Match.' };
  }
  if (err instanceof QuotaExceededError) {
    return { kind: 'validation', status: 422, message: err.message, issues: [{ location: 'body', path: [], message: err.message, code: 'quota_exceeded' }] };
  }
  if (err instanceof MissingBodyError) {
    return { kind: 'validation', status: 422, message: err.message, issues: [{ location: 'body', path: [], message: err.message, code: 'missing' }] };
  }
  if (err instanceof InvalidFieldError) {
    return { kind: 'validation', status: 422, message: `${err.field}: ${err.message}`, issues: [{ location: 'body', path: [err.field], message: err.message, code: 'invalid_value' }] };
  }
  if (err instanceof IdempotencyKeyReusedError) return { kind: 'idempotency_mismatch', status: 422, message: err.message };
  if (err instanceof UnreadableValueError) return { kind: 'unreadable', status: 500, message: err.message };
  if (err instanceof NotFoundError) return { kind: 'not_found', status: 404, message: err.message };
  if (err instanceof ConflictError) return { kind: 'conflict', status: 409, message: err.message, error: err };
  const code = (err as FastifyError).code;
  const status = (err as FastifyError).statusCode;
  if (code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return { kind: 'malformed', status: 400, message: 'The request body is not valid JSON.' };
  }
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
    return { kind: 'too_large', status: 413, message: 'The request body is too large.' };
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { kind: 'bad_request', status, message: 'The request could not be read.' };
  }
  return { kind: 'internal', status: 500, message: 'An unexpected error occurred.' };
}

/** Logs what a failure needs for diagnosis: never a message that could quote a body. */
export function logFailure(request: FastifyRequest, failure: RequestFailure, err: unknown) {
  if (failure.kind === 'internal' || failure.kind === 'unreadable') {
    const e = err as Error;
    request.log.error({ err: { type: e?.name, message: e?.message, stack: e?.stack } }, 'request failed');
  } else {
    request.log.info({ failure: failure.kind, status: failure.status }, 'request refused');
  }
}

/** What a door answers for a failure: its status (default: the failure's), body and extra headers. */
export interface RenderedFailure {
  readonly status?: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

/** A Fastify error handler for a door: one classification, the door's own wording. */
export function doorErrorHandler(render: (failure: RequestFailure, request: FastifyRequest) => RenderedFailure) {
  return function handle(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    const failure = classifyFailure(err);
    logFailure(request, failure, err);
    const { status = failure.status, body, headers = {} } = render(failure, request);
    // The per-key limiter sets its own; a refused authentication's 429 says when to come back here.
    if (err instanceof RateLimitedError && !reply.hasHeader('retry-after')) reply.header('retry-after', String(err.retryAfterSeconds));
    return reply.status(status).headers(headers).send(body);
  };
}

/**
 * Routes that share a path with another door's are told apart by the
 * credential header the caller sends: OpenHands callers send
 * X-Session-API-Key (and neither X-Auth-Token nor Authorization). A route
 * declares `constraints: { dialect: 'openhands' }`; requests without that
 * dialect fall through to the route without the constraint.
 */
export const dialectConstraint = {
  name: 'dialect',
  storage() {
    const handlers = new Map<string, unknown>();
    return {
      get: (dialect: string) => (handlers.get(dialect) ?? null) as never,
      set: (dialect: string, store: unknown) => void handlers.set(dialect, store),
    };
  },
  deriveConstraint(req: { headers: Record<string, string | string[] | undefined> }) {
    const h = req.headers;
    return h['x-session-api-key'] && !h['x-auth-token'] && !h.authorization ? 'openhands' : 'default';
  },
  mustMatchWhenDerived: false,
  validate() {},
};

/**
 * What every door's plugin starts with: zod-typed routes, JSON bodies of any
 * content type, the API key checked before the body is read, and the door's
 * own error bodies.
 */
export function setUpDoor(
  parent: FastifyInstance,
  deps: DoorDeps,
  door: Door,
  errorHandler: ReturnType<typeof doorErrorHandler>,
  options: CredentialOptions = {},
) {
  const app = parent.withTypeProvider<ZodTypeProvider>();
  acceptJsonOfAnyType(app);
  requireApiKey(app, deps, door, options);
  app.addHook('preValidation', async (request) => {
    if (request.routeOptions.schema?.body && request.body == null) throw new MissingBodyError();
  });
  app.setErrorHandler(errorHandler);
  return app;
}

/** The same error body schema for each of `statuses`, for a route's `response`. */
export function errorResponses<S extends z.ZodType>(schema: S, statuses: readonly number[]): Record<number, S> {
  return Object.fromEntries(statuses.map((status) => [status, schema]));
}
