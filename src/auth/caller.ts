// Who a request acts as and where it came in: the concepts every other
// module shares, so this file imports nothing of the service's but the name
// of the default environment. The REST door registry (rest/doors.ts) is
// checked against DOOR_NAMES by the compiler.
import { DEFAULT_ENVIRONMENT } from '../secrets/model.ts';
import type { Scope } from './scopes.ts';

/** Every REST door, in the order app.ts registers them (rest/doors.ts must list the same). */
export const REST_DOOR_SLUGS = ['langwatch', 'together', 'user-secrets-v1', 'openhands'] as const;

/** Every door a call can come in by, as audit records name them. */
export const DOOR_NAMES = ['graphql', ...REST_DOOR_SLUGS, 'admin', 'auth'] as const;

/** Where a call came in: GraphQL, a REST door, the admin route or the login route (POST /api/auth/oidc). */
export type Door = (typeof DOOR_NAMES)[number];

/** A REST door's name: its OpenAPI document's file name and its audit records' door. */
export type RestDoorSlug = (typeof REST_DOOR_SLUGS)[number];

export interface Actor {
  readonly projectId: string;
  readonly keyId: string;
  readonly scopes: readonly Scope[];
  /** When the acting key expires (null: never): no key it mints may outlive it. */
  readonly keyExpiresAt: Date | null;
  /** The environment the key is bound to (null: unbound): it can name no other. */
  readonly boundEnvironment: string | null;
  /** Its reveals must carry a reason. */
  readonly requireRevealReason: boolean;
  /** It has set a personal override (once set, always: a key that never did has none to look up). */
  readonly hasOverrides?: boolean;
}

/** An authenticated caller and where the call came in: what the audit log records. */
export interface Caller extends Actor {
  readonly door: Door;
  readonly requestId: string;
  /** The environment the request names (a GraphQL argument, X-Secrets-Environment); absent: the key's, else "default". */
  readonly environment?: string | undefined;
  /** Why the caller reveals (X-Reveal-Reason, GraphQL reason:), for the audit event. */
  readonly revealReason?: string | undefined;
}

/** The environment a caller acts in: the one its request names, else its key's, else "default". */
export function actingEnvironment(caller: Caller): string {
  return caller.environment ?? caller.boundEnvironment ?? DEFAULT_ENVIRONMENT;
}
