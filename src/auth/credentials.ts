// Which request headers carry an API key. Every door accepts `X-Auth-Token`
// and `Authorization: Bearer`; the OpenHands door also `X-Session-API-Key`.

export type HeaderReader = (name: string) => string | undefined;

export interface CredentialOptions {
  /** Also accept the OpenHands header. */
  readonly sessionHeader?: boolean;
}

export function readApiKey(header: HeaderReader, options: CredentialOptions = {}): string | undefined {
  const token = header('x-auth-token')?.trim();
  if (token) return token;
  const authorization = header('authorization')?.trim();
  const bearer = authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
  if (bearer) return bearer;
  if (options.sessionHeader) return header('x-session-api-key')?.trim() || undefined;
  return undefined;
}
