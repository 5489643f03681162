// A GET of a JSON document from a URL the service was configured with (an
// identity's issuer), under the destination policy: the connection's own DNS
// lookup is the checked one, an address in the URL is checked first, no
// redirect is followed, the answer must come within a time and a size.
import http from 'node:http';
import https from 'node:https';
import { checkAddressHost, type DestinationPolicy, DestinationRefusedError, guardedLookup } from './destination.ts';

/** Why a document could not be had, in words fit for a log and a caller (they name the URL's host, never a body). */
export class FetchFailedError extends Error {
  override readonly name = 'FetchFailedError';
}

/**
 * Why a request the service made of its own (a webhook's send, an issuer's
 * fetch) failed, in a few words: no answer in time, a refused destination
 * (its message, which names the host), or the socket's error code.
 */
export function requestErrorOf(err: NodeJS.ErrnoException, timeoutMs: number): string {
  if (err.name === 'AbortError' || err.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  if (err instanceof DestinationRefusedError) return err.message;
  return err.code ?? err.name;
}

export interface GetJsonOptions {
  readonly policy: DestinationPolicy;
  readonly timeoutMs: number;
  /** Bytes of body read at most: a larger answer is refused. */
  readonly maxBytes: number;
}

export function getJson(url: URL, options: GetJsonOptions): Promise<unknown> {
  try {
    checkAddressHost(url, options.policy);
  } catch (err) {
    return Promise.reject(new FetchFailedError((err as Error).message));
  }
  const client = url.protocol === 'https:' ? https : http;
  const where = `${url.protocol}//${url.host}`;
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: 'GET',
        headers: { accept: 'application/json', 'user-agent': 'secrets-service-oidc/1' },
        lookup: guardedLookup(options.policy) as never,
        signal: AbortSignal.timeout(options.timeoutMs),
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new FetchFailedError(`${where} answered ${res.statusCode}`));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxBytes) {
            req.destroy();
            reject(new FetchFailedError(`${where} answered more than ${options.maxBytes} bytes`));
          } else chunks.push(chunk);
        });
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch {
            reject(new FetchFailedError(`${where} answered something that is not JSON`));
          }
        });
        res.on('error', () => reject(new FetchFailedError(`${where} broke off its answer`)));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      const why = requestErrorOf(err, options.timeoutMs);
      reject(new FetchFailedError(err instanceof DestinationRefusedError ? why : `${where}: ${why}`));
    });
    req.end();
  });
}
