// The shapes of secrets the service hands to the doors. None has a value
// field, by construction: the value travels only on the reveal path.

/** The environment every project has, and the one an unbound key's doors act on. */
export const DEFAULT_ENVIRONMENT = 'default';

/** The one public shape of a secret. */
export interface PublicSecret {
  readonly id: string;
  readonly projectId: string;
  /** The slug of the environment it lives in. */
  readonly environment: string;
  readonly name: string;
  readonly version: number;
  readonly description: string | null;
  readonly provider: string | null;
  readonly createdBy: string;
  readonly lastUpdatedBy: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** Set while the secret is in its recovery window. */
  readonly deletedAt: Date | null;
  /** When the secret expires: from then on it is gone, as if deleted at that instant. */
  readonly expiresAt: Date | null;
  /** Set when the expiry comes from a lifetime (Together's TTL): each value change restarts it. */
  readonly ttlSeconds: number | null;
}

/** A value version's metadata: never its value. */
export interface SecretVersionInfo {
  readonly version: number;
  readonly createdAt: Date;
  readonly createdBy: string;
}

/** Live: not deleted, and not past its expiry. An expired secret is gone at its expiresAt exactly, swept or not. */
export function isLive(doc: { deletedAt?: Date | null; expiresAt?: Date | null }, at: Date): boolean {
  return doc.deletedAt == null && (doc.expiresAt == null || doc.expiresAt.getTime() > at.getTime());
}
