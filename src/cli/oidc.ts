// Signing in as a workload identity: the platform's token, from a file (a
// Kubernetes projected token, re-read at each sign-in since the kubelet
// rotates it), from an environment variable, or from a GitHub Actions job's
// token service (ACTIONS_ID_TOKEN_REQUEST_URL, as the job's `id-token: write`
// permission gives it), traded for a short-lived API key.
import { readFile } from 'node:fs/promises';
import { CliError, createClient, getJson } from './client.ts';

export interface TokenSource {
  readonly tokenFile?: string | undefined;
  readonly tokenEnv?: string | undefined;
  /** The audience to ask GitHub Actions' token service for. */
  readonly audience?: string | undefined;
}

export interface SignedIn {
  readonly apiKey: string;
  readonly expiresAt: Date;
}

/** The token, from the one source given (or GitHub Actions' token service when the job has one). */
export async function readToken(source: TokenSource, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (source.tokenFile && source.tokenEnv) throw new CliError('Give the token by --token-file or by --token-env, not both');
  if (source.tokenFile) {
    const text = await readFile(source.tokenFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new CliError(`Cannot read the token file ${source.tokenFile}: ${err.code ?? err.message}`);
    });
    if (!text.trim()) throw new CliError(`The token file ${source.tokenFile} is empty`);
    return text.trim();
  }
  if (source.tokenEnv) {
    const token = env[source.tokenEnv]?.trim();
    if (!token) throw new CliError(`The variable ${source.tokenEnv} (--token-env) is not set`);
    return token;
  }
  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (requestUrl && requestToken) {
    const url = new URL(requestUrl);
    if (source.audience) url.searchParams.set('audience', source.audience);
    const answer = await getJson<{ value?: unknown }>(url, { authorization: `Bearer ${requestToken}` }).catch((err: Error) => {
      throw new CliError(`GitHub Actions gave no token (${err.message}); does the job have the permission id-token: write?`);
    });
    if (typeof answer.value !== 'string') throw new CliError('GitHub Actions gave no token (its answer has no value)');
    return answer.value;
  }
  throw new CliError('No token: pass --token-file PATH or --token-env VAR (in GitHub Actions, grant the job id-token: write)');
}

/** Trades the token for a key of the identity. */
export async function signIn(url: string, identity: string, source: TokenSource): Promise<SignedIn> {
  const token = await readToken(source);
  const answer = await createClient({ url, apiKey: '' }).loginWithOidc(identity, token);
  return { apiKey: answer.apiKey, expiresAt: new Date(answer.expiresAt) };
}

/**
 * Keeps a long-running command (run --watch) signed in: signs in again when
 * four fifths of the key's life have passed, reading the token afresh; tells
 * `renewed` of each new key. A failed renewal is retried every 30 s while
 * the old key lives. The timers never keep the process alive.
 */
export function keepSignedIn(first: SignedIn, renew: () => Promise<SignedIn>, renewed: (next: SignedIn) => void): void {
  const schedule = (current: SignedIn, inMs: number) => {
    setTimeout(
      async () => {
        try {
          const next = await renew();
          renewed(next);
          schedule(next, ((next.expiresAt.getTime() - Date.now()) * 4) / 5);
        } catch (err) {
          process.stderr.write(`secrets: could not sign in again: ${(err as Error).message}\n`);
          if (current.expiresAt.getTime() - Date.now() > 30_000) schedule(current, 30_000);
        }
      },
      Math.max(inMs, 1_000),
    ).unref();
  };
  schedule(first, ((first.expiresAt.getTime() - Date.now()) * 4) / 5);
}
