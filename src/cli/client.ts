// A thin client of the service's HTTP API (the LangWatch door and the reveal
// path), for the command-line tool. Failures become CliError with a message a
// person can act on.

export class CliError extends Error {
  override name = 'CliError';
}

export interface SecretSummary {
  id: string;
  name: string;
  createdAt: string;
  updatedAt: string;
}

export function createClient(options: { url: string; apiKey: string; environment?: string | undefined; reason?: string | undefined }) {
  const base = options.url.replace(/\/+$/, '');
  // Headers every door reads beside its own: the environment to act in, and why values are revealed.
  const extra: Record<string, string> = {
    ...(options.environment ? { 'x-secrets-environment': options.environment } : {}),
    ...(options.reason ? { 'x-reveal-reason': options.reason } : {}),
  };

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: { 'x-auth-token': options.apiKey, ...extra, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new CliError(`Cannot reach the secrets service at ${base} (is it running? set SECRETS_URL or --url)`);
    }
    const text = await res.text();
    const payload = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (res.ok) return payload as T;
    const detail = typeof payload.message === 'string' ? payload.message : typeof payload.error === 'string' ? payload.error : res.statusText;
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
    /** Every value; fails, naming them, when the service could not open some (run or export without them would mislead). */
    values: async () => {
      const { values, unreadable } = await call<{ values: Record<string, string>; unreadable?: string[] }>('GET', '/api/secrets/values');
      if (unreadable?.length) throw new CliError(`The service cannot open the value of ${unreadable.join(', ')} (a master key problem on the server; see its log)`);
      return values;
    },
    create: (name: string, value: string) => call<SecretSummary>('POST', '/api/secrets', { name, value }),
    update: (id: string, value: string) => call<SecretSummary>('PUT', `/api/secrets/${id}`, { value }),
    remove: (id: string) => call<{ id: string }>('DELETE', `/api/secrets/${id}`),
  };
}
