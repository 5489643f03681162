// The development master key: generated on the first start with an embedded
// engine and no SECRETS_MASTER_KEY, kept beside the embedded data (mode 0600,
// inside the git-ignored data folder) so that later starts can still open
// every secret stored before.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { masterKeySchema } from '../config.ts';
import { readPrivateFile, writePrivateFile } from '../fs/private-file.ts';
import { generateKey } from './envelope.ts';

export const DEV_MASTER_KEY_FILE = 'master.key';

export async function loadOrCreateDevMasterKey(dataDir: string): Promise<{ key: Buffer; file: string; created: boolean }> {
  const file = path.join(dataDir, DEV_MASTER_KEY_FILE);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const text = await readPrivateFile(file);
  if (text !== undefined) {
    const parsed = masterKeySchema.safeParse(text.trim());
    if (!parsed.success) throw new Error(`${file} does not hold a valid master key; move it away to generate a new one`);
    return { key: parsed.data, file, created: false };
  }
  const key = generateKey();
  // Exclusive: never overwrite a key that appeared meanwhile; losing it loses every secret.
  await writePrivateFile(file, `${key.toString('base64')}\n`, { exclusive: true });
  return { key, file, created: true };
}
