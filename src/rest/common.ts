// What every REST door shares: what a door is, reading the API key, accepting
// JSON bodies, and answering a failure, sorted by errors/kinds.ts, in the
// door's own dialect.
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuditLog, AuditSource } from '../audit/service.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Caller, Door, RestDoorSlug } from '../auth/caller.ts';
import { type CredentialOptions, readApiKey } from '../auth/credentials.ts';
import { UnauthenticatedError } from '../auth/errors.ts';
import type { AuthRefusals } from '../auth/refusals.ts';
import { classifyFailure, type RequestFailure } from '../errors/kinds.ts';
import { MissingBodyError, RateLimitedError, retryAfterOf } from '../errors/request.ts';
import type { SecretPreset } from '../secrets/presets.ts';
import { InvalidFieldError, VersionMismatchError } from '../secrets/errors.ts';
import { environmentSlugSchema, idempotencyKeySchema, revealReasonSchema } from '../secrets/rules.ts';
import type { PublicSecret, SecretService } from '../secrets/service.ts';
import type { DoorDocument } from './openapi.ts';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
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

/** What a door's routes are built from. */
export interface RestDoorDeps extends DoorDeps {
  readonly secrets: SecretService;
  /** The v1 door's provider presets. */
  readonly presets: readonly SecretPreset[];
}

/**
 * A REST door, whole: what doors.ts lists, and app.ts registers and
 * documents. Its slug is also its name in audit records.
 */
export interface RestDoor extends Omit<DoorDocument, 'register' | 'slug'> {
  readonly slug: RestDoorSlug;
  /** The headers, beyond the two every door reads, that carry its callers' keys. */
  readonly credentials: CredentialOptions;
  readonly register: (deps: RestDoorDeps) => FastifyPluginAsync;
}

/**
 * Counts a refused authentication against the request's address: an audit
 * record (one per address and minute), or, over the address's limit, a 429
 * in place of the 401, written nowhere.
 */
export async function refuseAuthentication(request: FastifyRequest, deps: Omit<DoorDeps, 'authenticator'>, door: AuditSource, err: Error): Promise<Error> {
  const { overLimit, retryAfterSeconds } = await deps.refusals.count(request);
  if (overLimit) return new RateLimitedError(retryAfterSeconds);
  await deps.audit.recordRefusal({
    door,
    operation: `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`,
    address: request.ip,
    requestId: request.id,
  });
  return err;
}

/** The caller a request's key makes it, or the refusal (see refuseAuthentication) to throw. */
/**
 * What every door reads beside its own headers: the environment to act in
 * (X-Secrets-Environment; absent: the key's own, else "default") and why
 * values are revealed (X-Reveal-Reason). Real clients of the seed APIs send
 * neither, and act on their key's environment.
 */
function requestScope(header: (name: string) => string | undefined): Pick<Caller, 'environment' | 'revealReason'> {
  const read = (name: string, schema: z.ZodType<string>) => {
    const value = header(name);
    if (value === undefined) return undefined;
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new InvalidFieldError(name, `${name}: ${parsed.error.issues[0]!.message}`);
    return parsed.data;
  };
  return { environment: read('x-secrets-environment', environmentSlugSchema), revealReason: read('x-reveal-reason', revealReasonSchema) };
}

export async function authenticateRequest(request: FastifyRequest, deps: DoorDeps, door: Door, options: CredentialOptions = {}): Promise<Caller> {
  const presented = readApiKey(headersOf(request), options);
  try {
    // An address over its limit of refusals has only keys this node knows to be valid looked at.
    const actor = await deps.authenticator.authenticate(presented, { cachedOnly: await deps.refusals.isOverLimit(request) });
    return { ...actor, door, requestId: request.id, ...requestScope(headersOf(request)) };
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

export const ifMatchHeader = z.string().optional().describe('Write only if the secret is still at this version (its ETag, e.g. "3"); 412 otherwise');

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
    const retryAfter = retryAfterOf(err);
    if (retryAfter !== undefined && !reply.hasHeader('retry-after')) reply.header('retry-after', String(retryAfter));
    return reply.status(status).headers(headers).send(body);
  };
}

/**
 * What every door's plugin starts with: zod-typed routes, JSON bodies of any
 * content type, the API key checked before the body is read, and the door's
 * own error bodies.
 */
export function setUpDoor(
  parent: FastifyInstance,
  deps: DoorDeps,
  door: { readonly slug: Door; readonly credentials: CredentialOptions },
  errorHandler: ReturnType<typeof doorErrorHandler>,
) {
  const app = parent.withTypeProvider<ZodTypeProvider>();
  acceptJsonOfAnyType(app);
  requireApiKey(app, deps, door.slug, door.credentials);
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
