import { Types } from 'mongoose';

/**
 * The server refused a write because a unique index already holds the key:
 * code 11000, or, for an update on FerretDB, an InternalError (code 1) from
 * SQLite's unique constraint, which FerretDB enforces all the same.
 */
export function isDuplicateKeyError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  return code === 11000 || (code === 1 && typeof message === 'string' && message.includes('UNIQUE constraint failed'));
}

/**
 * Our ids are ObjectIds in their canonical form: 24 lowercase hex digits.
 * Anything else names nothing, so callers answer "not found" for it.
 */
export function parseObjectId(id: string): Types.ObjectId | undefined {
  return /^[0-9a-f]{24}$/.test(id) ? new Types.ObjectId(id) : undefined;
}

const UNAVAILABLE = new Set([
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
]);

/**
 * Socket failures the driver can let through unwrapped: a write to the
 * engine's socket as the engine dies surfaces as a bare `write EPIPE`. Only
 * the database's sockets are written from a request's handler, so these are
 * the database going away.
 */
const SOCKET_GONE = new Set(['EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'ENOTCONN']);

/** The database could not be reached (as opposed to refusing a command): callers answer 503. */
export function isDatabaseUnavailable(err: unknown): boolean {
  // A bulk write (an ordered insertMany) that lost its connection wraps the
  // network error as its errorResponse, not as its cause.
  const next = (e: Error) => e.cause ?? (e as { errorResponse?: unknown }).errorResponse;
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = next(e), depth++) {
    if (UNAVAILABLE.has(e.name)) return true;
    const { code, syscall } = e as NodeJS.ErrnoException;
    if (typeof syscall === 'string' && typeof code === 'string' && SOCKET_GONE.has(code)) return true;
  }
  return false;
}
