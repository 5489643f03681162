// A thin client of the service's HTTP API (the LangWatch door and the reveal
// path), for the command-line tool. Failures become CliError with a message a
// person can act on. Requests go through node:http(s), not fetch: fetch loads
// undici on first use, which is most of a short command's start here.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export class CliError extends Error {
  override name = 'CliError';
}

/** The service could not be reached, or could not answer (5xx): a fallback may stand in. Never a 401 or 403. */
export class UnreachableError extends CliError {
  override name = 'UnreachableError';
}

/** One GraphQL mutation's result: its __typename, and the message of an error result. */
interface MutationResult {
  __typename: string;
  message?: string;
  fields?: { path: string[]; message: string }[];
}

export interface SecretSummary {
  id: string;
  name: string;
  createdAt: string;
  updatedAt: string;
}

/** One request through node:http(s); resolves with the status and the body's text. */
function sendRequest(url: URL, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; statusText: string; text: string }> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A JSON document from another service (GitHub Actions' token service). */
export async function getJson<T>(url: URL, headers: Record<string, string>): Promise<T> {
  const res = await sendRequest(url, 'GET', { accept: 'application/json', ...headers });
  if (res.status !== 200) throw new Error(`${url.host} answered ${res.status}`);
  return JSON.parse(res.text) as T;
}

const LOGIN_PATH = '/api/auth/oidc';

export function createClient(options: { url: string; apiKey: string; environment?: string | undefined; reason?: string | undefined }) {
  const base = options.url.replace(/\/+$/, '');
  // Headers every door reads beside its own: the environment to act in, and why values are revealed.
  const extra: Record<string, string> = {
    ...(options.environment ? { 'x-secrets-environment': options.environment } : {}),
    ...(options.reason ? { 'x-reveal-reason': options.reason } : {}),
  };

  /** One request; resolves with the status and the body's text. */
  function send(method: string, path: string, body?: string) {
    // /graphql reads the key from Authorization, the LangWatch door from X-Auth-Token; a login sends none.
    const auth: Record<string, string> = !options.apiKey
      ? {}
      : path === '/graphql'
        ? { authorization: `Bearer ${options.apiKey}` }
        : { 'x-auth-token': options.apiKey };
    return sendRequest(new URL(`${base}${path}`), method, { ...auth, ...extra }, body);
  }

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: { status: number; statusText: string; text: string };
    try {
      res = await send(method, path, body === undefined ? undefined : JSON.stringify(body));
    } catch {
      throw new UnreachableError(`Cannot reach the secrets service at ${base} (is it running? set SECRETS_URL or --url)`);
    }
    if (res.status >= 500) throw new UnreachableError(`The secrets service at ${base} answered ${res.status}: ${res.statusText}`);
    const payload = res.text ? (JSON.parse(res.text) as Record<string, unknown>) : {};
    if (res.status >= 200 && res.status < 300) return payload as T;
    const detail = typeof payload.message === 'string' ? payload.message : typeof payload.error === 'string' ? payload.error : res.statusText;
    if (res.status === 401 && path === LOGIN_PATH) throw new CliError(`The token was refused: ${detail}`);
    if (res.status === 401) throw new CliError(`The API key was refused: ${detail} (set SECRETS_API_KEY or --api-key)`);
    if (res.status === 403) throw new CliError(`Not allowed: ${detail}`);
    throw new CliError(`${method} ${path} failed with ${res.status}: ${detail}`);
  }

  async function findByName(name: string): Promise<SecretSummary | undefined> {
    const all = await call<SecretSummary[]>('GET', '/api/secrets');
    return all.find((s) => s.name === name);
  }

  return {
    list: () => call<SecretSummary[]>('GET', '/api/secrets'),
    findByName,
    async require(name: string): Promise<SecretSummary> {
      const found = await findByName(name);
      if (!found) throw new CliError(`No secret named ${name}`);
      return found;
    },
    reveal: (id: string) => call<{ id: string; name: string; version: number; value: string }>('GET', `/api/secrets/${id}/value`),
    /**
     * Every value, references expanded (or as stored, with `resolve: false`);
     * fails, naming them, when the service could not open some (run or export without them would mislead).
     */
    values: async (options: { resolve?: boolean; at?: Date } = {}) => {
      const query = new URLSearchParams();
      if (options.resolve === false) query.set('resolve', 'false');
      if (options.at) query.set('at', options.at.toISOString());
      const { values, unreadable } = await call<{ values: Record<string, string>; unreadable?: string[] }>(
        'GET',
        `/api/secrets/values${query.size ? `?${query}` : ''}`,
      );
      if (unreadable?.length)
        throw new CliError(`The service cannot open the value of ${unreadable.join(', ')} (a master key problem on the server; see its log)`);
      return values;
    },
    create: (name: string, value: string) => call<SecretSummary>('POST', '/api/secrets', { name, value }),
    update: (id: string, value: string) => call<SecretSummary>('PUT', `/api/secrets/${id}`, { value }),
    remove: (id: string) => call<{ id: string }>('DELETE', `/api/secrets/${id}`),
    /** Trades a workload's OIDC token for a short-lived key (needs no key). */
    loginWithOidc: (identity: string, token: string) => call<{ apiKey: string; expiresAt: string }>('POST', LOGIN_PATH, { identity, token }),
    /**
     * Creates or updates a secret through GraphQL, which keeps empty values;
     * resolves with null when it was stored, else with why it was refused
     * (the service's words, which never quote a value).
     */
    async put(name: string, value: string, existingId: string | undefined): Promise<string | null> {
      const query = existingId
        ? 'mutation($id: ID!, $v: String!) { result: updateSecret(id: $id, input: {value: $v}) { __typename ... on Error { message } ... on ValidationError { fields { path message } } } }'
        : 'mutation($n: String!, $v: String!) { result: createSecret(input: {name: $n, value: $v}) { __typename ... on Error { message } ... on ValidationError { fields { path message } } } }';
      const variables = existingId ? { id: existingId, v: value } : { n: name, v: value };
      const { data, errors } = await call<{ data?: { result: MutationResult }; errors?: { message: string }[] }>('POST', '/graphql', { query, variables });
      const result = data?.result;
      if (!result) return errors?.[0]?.message ?? 'refused';
      if (result.__typename.endsWith('Success')) return null;
      if (result.fields?.length) return result.fields.map((f) => `${f.path.at(-1)}: ${f.message}`).join('; ');
      return result.message ?? result.__typename;
    },
  };
}
