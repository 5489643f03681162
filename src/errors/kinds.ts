// Every failure a request can meet, sorted in one table: for each error class,
// the kind every door words in its own dialect, its HTTP status, the audit
// outcome of a mutation it ends, and the GraphQL type it is returned as. The
// REST doors, the GraphQL layer and the audit log all read it from here, so a
// new error class is one row.
import type { FastifyError } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ForbiddenError, UnauthenticatedError } from '../auth/errors.ts';
import { isDatabaseUnavailable } from '../db/errors.ts';
import { IssuerUnavailableError, TokenRefusedError } from '../identities/oidc.ts';
import {
  ConflictError,
  IdempotencyKeyReusedError,
  InvalidFieldError,
  NotFoundError,
  PastRetentionError,
  QuotaExceededError,
  UnreadableValueError,
  VersionMismatchError,
} from '../secrets/errors.ts';
import { MissingBodyError, OverloadedError, RateLimitedError, ShuttingDownError, TooManySubscriptionsError } from './request.ts';

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

export type FailureKind = RequestFailure['kind'];

/** A kind and its status, paired as RequestFailure pairs them. */
type KindAndStatus = { [K in FailureKind]: { readonly kind: K; readonly status: Extract<RequestFailure, { kind: K }>['status'] } }[FailureKind];

// any[], not never[]: Pothos takes only such a class as an object type (types/errors.ts).
type ErrorClass = new (...args: any[]) => Error;

export type ErrorKind = (
  | Exclude<KindAndStatus, { kind: 'validation' }>
  | {
      readonly kind: 'validation';
      readonly status: 422;
      /** The one rule it breaks: its code, and its path (the body's root if unset). */
      readonly issue: { readonly code: string; path?(err: Error): string[] };
    }
) &
  /** Known by its class (the first row that matches wins: a subclass stands before its parent), or by a test. */
  ({ readonly error: ErrorClass; readonly test?: undefined } | { readonly test: (err: unknown) => boolean; readonly error?: undefined }) & {
    /** Fixed words for the client in place of the error's own message. */
    readonly message?: string;
    /** The outcome an audit record gives a mutation it fails ('error' if unset). */
    readonly outcome?: string;
    /** The GraphQL object type it is returned as by a field that lists its class, and that type's ErrorCode. */
    readonly graphql?: { readonly typename: string; readonly code: string; readonly description: string };
  };

export const ERROR_KINDS: readonly ErrorKind[] = [
  {
    error: TokenRefusedError,
    kind: 'unauthenticated',
    status: 401,
    outcome: 'unauthenticated',
    graphql: {
      typename: 'TokenRefusedError',
      code: 'TOKEN_REFUSED',
      description:
        'The identity does not accept the token: no such identity, another issuer or audience, expired or not yet valid, unsigned, HMAC-signed, or a signature that does not verify. The message says which; it never quotes the token.',
    },
  },
  { error: UnauthenticatedError, kind: 'unauthenticated', status: 401 },
  {
    error: ForbiddenError,
    kind: 'forbidden',
    status: 403,
    outcome: 'forbidden',
    graphql: {
      typename: 'ForbiddenError',
      code: 'FORBIDDEN',
      description: "The API key lacks the scope this call needs (another project's secret is NotFoundError, never this).",
    },
  },
  { error: RateLimitedError, kind: 'rate_limited', status: 429 },
  { error: TooManySubscriptionsError, kind: 'rate_limited', status: 429 },
  { error: ShuttingDownError, kind: 'unavailable', status: 503 },
  { error: OverloadedError, kind: 'unavailable', status: 503 },
  { error: IssuerUnavailableError, kind: 'unavailable', status: 503 },
  // Driver errors, which can quote a query: fixed words.
  { test: isDatabaseUnavailable, kind: 'unavailable', status: 503, message: 'The database is not reachable; retry shortly.' },
  {
    error: VersionMismatchError,
    kind: 'precondition',
    status: 412,
    outcome: 'version_mismatch',
    message: 'The secret has changed: its version does not match If-Match.',
  },
  { error: QuotaExceededError, kind: 'validation', status: 422, issue: { code: 'quota_exceeded' }, outcome: 'quota_exceeded' },
  { error: MissingBodyError, kind: 'validation', status: 422, issue: { code: 'missing' } },
  { error: InvalidFieldError, kind: 'validation', status: 422, issue: { code: 'invalid_value', path: (err: InvalidFieldError) => [err.field] } },
  { error: IdempotencyKeyReusedError, kind: 'idempotency_mismatch', status: 422, outcome: 'idempotency_key_reused' },
  {
    error: UnreadableValueError,
    kind: 'unreadable',
    status: 500,
    outcome: 'unreadable',
    graphql: {
      typename: 'UnreadableValueError',
      code: 'VALUE_UNREADABLE',
      description:
        "The secret's stored value cannot be opened with this node's master keys (written under another key, or damaged). Its name is in the server's log.",
    },
  },
  {
    error: PastRetentionError,
    kind: 'not_found',
    status: 404,
    outcome: 'past_retention',
    graphql: {
      typename: 'PastRetentionError',
      code: 'PAST_RETENTION',
      description:
        'The moment is further back than what is kept (SECRET_VERSIONS_KEPT versions per secret, EVENT_RETENTION_DAYS of change events, the recovery window of deleted secrets): it is not answered with a guess.',
    },
  },
  {
    error: NotFoundError,
    kind: 'not_found',
    status: 404,
    outcome: 'not_found',
    graphql: { typename: 'NotFoundError', code: 'NOT_FOUND', description: "No such secret in the caller's project." },
  },
  {
    error: ConflictError,
    kind: 'conflict',
    status: 409,
    outcome: 'conflict',
    graphql: { typename: 'ConflictError', code: 'CONFLICT', description: 'The change collides with existing state, such as a taken name.' },
  },
];

/**
 * The extensions.code of a top-level GraphQL error of each kind. A failure of
 * a kind without one is BAD_REQUEST before yoga runs; within yoga it is
 * masked, as an internal one is (yoga gives that the same code).
 */
export const GRAPHQL_CODES: Partial<Record<FailureKind, string>> = {
  unauthenticated: 'UNAUTHENTICATED',
  forbidden: 'FORBIDDEN',
  // Where no result union can say it: a query of an environment that does not exist.
  not_found: 'NOT_FOUND',
  rate_limited: 'RATE_LIMITED',
  unavailable: 'SERVICE_UNAVAILABLE',
  internal: 'INTERNAL_SERVER_ERROR',
};

const matches = (row: ErrorKind, err: unknown) => (row.test ? row.test(err) : err instanceof row.error);

/** A validation failure: its issues, and one sentence naming each. */
function invalid(issues: FieldIssue[]): RequestFailure {
  const message = issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
  return { kind: 'validation', status: 422, message, issues };
}

/**
 * Sorts an error thrown while serving a request. Messages of framework errors
 * are replaced by fixed ones: a JSON parser's message can quote the body, and
 * the body can hold a value.
 */
export function classifyFailure(err: unknown): RequestFailure {
  if (hasZodFastifySchemaValidationErrors(err)) {
    const context = (err as { validationContext?: string }).validationContext;
    const location: FieldLocation = context === 'querystring' ? 'query' : context === 'params' ? 'path' : context === 'headers' ? 'header' : 'body';
    return invalid(
      err.validation.map((v) => ({
        location,
        path: v.instancePath.split('/').filter(Boolean),
        message: v.message ?? 'Invalid value',
        code: v.keyword,
      })),
    );
  }
  const row = ERROR_KINDS.find((r) => matches(r, err));
  if (row) {
    const error = err as Error;
    const message = row.message ?? error.message;
    if (row.kind === 'validation') return invalid([{ location: 'body', path: row.issue.path?.(error) ?? [], message, code: row.issue.code }]);
    if (row.kind === 'conflict') return { kind: 'conflict', status: 409, message, error: error as ConflictError };
    return { kind: row.kind, status: row.status, message } as RequestFailure;
  }
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

/** The outcome an audit record gives a mutation that failed with `err`. */
export function auditOutcomeOf(err: unknown): string {
  return ERROR_KINDS.find((row) => row.outcome !== undefined && matches(row, err))?.outcome ?? 'error';
}
