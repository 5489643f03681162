// Runs `npm run rotate-master-key` (its script) as a process against a test
// app's database, with a key ring of the given [id, key] pairs, active first.
import { spawn } from 'node:child_process';
import { inject } from 'vitest';
import { projectRoot } from '../../src/config.ts';

export function rotateMasterKey(dbName: string, ring: [string, Buffer][]): Promise<{ code: number | null; out: string }> {
  const uri = `${inject('mongoUri').replace(/\/[^/]*$/, '')}/${dbName}`;
  const keys = ring.map(([id, key]) => `${id}:${key.toString('base64')}`).join(',');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/rotate-master-key.ts'], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH!, MONGODB_URI: uri, SECRETS_MASTER_KEYS: keys },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}
