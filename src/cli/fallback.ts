// The offline fallback of `run` and `export` (--fallback PATH): the last
// values fetched, sealed with AES-256-GCM under a key derived (HKDF-SHA256)
// from the API key, in a file of mode 0600. Read only when the service
// cannot be reached, never after it refused the key, and only while younger
// than --fallback-max-age. What was saved (when, from where, for which
// environment) is inside the seal: a changed file does not open.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { readPrivateFile, writePrivateFile } from '../fs/private-file.ts';
import { CliError } from './client.ts';

const INFO = 'secrets-cli/fallback/v1';

interface Saved {
  readonly savedAt: string;
  readonly url: string;
  readonly environment: string | null;
  readonly values: Record<string, string>;
}

const keyOf = (apiKey: string, salt: Buffer) => Buffer.from(hkdfSync('sha256', apiKey, salt, INFO, 32));

export async function saveFallback(file: string, apiKey: string, saved: Omit<Saved, 'savedAt'>, at = new Date()): Promise<void> {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(apiKey, salt), iv);
  cipher.setAAD(Buffer.from(INFO));
  const body = Buffer.concat([cipher.update(JSON.stringify({ ...saved, savedAt: at.toISOString() }), 'utf8'), cipher.final()]);
  const sealed = { v: 1, salt: salt.toString('base64'), iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), body: body.toString('base64') };
  await writePrivateFile(file, `${JSON.stringify(sealed)}\n`);
}

/** The values saved for this URL and environment, if the file opens with this key and is young enough; else a CliError saying why not. */
export async function loadFallback(
  file: string,
  apiKey: string,
  expect: { url: string; environment: string | null; maxAgeMs: number },
  at = new Date(),
): Promise<Saved> {
  const text = await readPrivateFile(file);
  if (text === undefined) throw new CliError(`no fallback at ${file} yet`);
  let saved: Saved;
  try {
    const sealed = JSON.parse(text) as { v: number; salt: string; iv: string; tag: string; body: string };
    const decipher = createDecipheriv('aes-256-gcm', keyOf(apiKey, Buffer.from(sealed.salt, 'base64')), Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(Buffer.from(INFO));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    saved = JSON.parse(Buffer.concat([decipher.update(Buffer.from(sealed.body, 'base64')), decipher.final()]).toString('utf8')) as Saved;
  } catch {
    throw new CliError(`the fallback at ${file} does not open with this API key (changed, or saved with another key)`);
  }
  if (saved.url !== expect.url || saved.environment !== expect.environment) {
    throw new CliError(`the fallback at ${file} holds the values of ${saved.url} (${saved.environment ?? "the key's environment"}), not of this one`);
  }
  const age = at.getTime() - new Date(saved.savedAt).getTime();
  if (!(age <= expect.maxAgeMs)) throw new CliError(`the fallback at ${file} is from ${saved.savedAt}, older than --fallback-max-age`);
  return saved;
}
