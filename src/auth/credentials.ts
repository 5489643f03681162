// Which request headers carry an API key. Every door accepts `X-Auth-Token`
// and `Authorization: Bearer`; some doors also their API's own header:
// OpenHands `X-Session-API-Key`, the v1 user-secrets door (Dreadnode's SDK)
// `X-API-Key`.

export type HeaderReader = (name: string) => string | undefined;

/** The door-specific headers that may carry a key, beside the two every door accepts. */
export const EXTRA_KEY_HEADERS = ['x-session-api-key', 'x-api-key'] as const;
export type ExtraKeyHeader = (typeof EXTRA_KEY_HEADERS)[number];

export interface CredentialOptions {
  /** Also accept these headers, in this order, after the two common ones. */
  readonly extraHeaders?: readonly ExtraKeyHeader[];
}

export function readApiKey(header: HeaderReader, options: CredentialOptions = {}): string | undefined {
  const token = header('x-auth-token')?.trim();
  if (token) return token;
  const authorization = header('authorization')?.trim();
  const bearer = authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
  if (bearer) return bearer;
  for (const name of options.extraHeaders ?? []) {
    const value = header(name)?.trim();
    if (value) return value;
  }
  return undefined;
}
