// Clients for the doors: `request` and `graphql` (./http.ts) with the base
// URL filled in and the API key sent the way that door's callers send it.
// They add nothing else: a request is on the wire what the same `request`
// call with those headers would be.
import { graphql, type JsonResponse, request, type RequestOptions } from './http.ts';

/**
 * How the key travels: X-Auth-Token (LangWatch; through `request`'s apiKey),
 * Authorization: Bearer (Together, v1, admin), X-API-Key (v1's SDK),
 * X-Session-API-Key (OpenHands).
 */
export type DoorAuth = 'x-auth-token' | 'bearer' | 'x-api-key' | 'x-session-api-key';

/** `request` with the base URL, the key and a path prefix given. */
export type DoorClient = (method: string, path: string, options?: RequestOptions) => Promise<JsonResponse>;

/**
 * Requests to `${baseUrl}${base}${path}` carrying `apiKey` (none when it is
 * undefined). The caller's options come after the key: an `apiKey` or a
 * header of theirs replaces it.
 */
export function doorClient(baseUrl: string, apiKey: string | undefined, auth: DoorAuth = 'x-auth-token', base = ''): DoorClient {
  if (auth === 'x-auth-token') return (method, path, options = {}) => request(baseUrl, method, `${base}${path}`, { apiKey, ...options });
  const credentials: Record<string, string> = !apiKey ? {} : auth === 'bearer' ? { authorization: `Bearer ${apiKey}` } : { [auth]: apiKey };
  return (method, path, options = {}) => request(baseUrl, method, `${base}${path}`, { ...options, headers: { ...credentials, ...options.headers } });
}

/** `graphql` with the base URL and the key (as Bearer) given; options may name another key. */
export function graphqlClient(baseUrl: string, apiKey: string | undefined) {
  return (query: string, variables: Record<string, unknown> = {}, options: Parameters<typeof graphql>[3] = {}) =>
    graphql(baseUrl, query, variables, { apiKey, ...options });
}
export type GraphqlClient = ReturnType<typeof graphqlClient>;
