// The development master key: generated on the first start with an embedded
// engine and no SECRETS_MASTER_KEY, kept beside the embedded data (mode 0600,
// inside the git-ignored data folder) so that later starts can still open
// every secret stored before.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { masterKeySchema } from '../config.ts';
import { generateKey } from './envelope.ts';

export const DEV_MASTER_KEY_FILE = 'master.key';

export async function loadOrCreateDevMasterKey(dataDir: string): Promise<{ key: Buffer; file: string; created: boolean }> {
  const file = path.join(dataDir, DEV_MASTER_KEY_FILE);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  try {
    const parsed = masterKeySchema.safeParse((await readFile(file, 'utf8')).trim());
    if (!parsed.success) throw new Error(`${file} does not hold a valid master key; move it away to generate a new one`);
    return { key: parsed.data, file, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = generateKey();
  // 'wx': never overwrite a key that appeared meanwhile; losing it loses every secret.
  await writeFile(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  return { key, file, created: true };
}
