// Runs `npm run rotate-master-key` (its script) as a process against a test
// app's database, with a key ring of the given [id, key] pairs, active first.
import { type ChildProcess, spawn } from 'node:child_process';
import { inject } from 'vitest';
import { projectRoot } from '../../src/config.ts';
import { bareEnv } from './clean-env.ts';

export interface RotationRun {
  readonly child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves when the script is gone, however it ended. */
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>;
}

export function startRotation(dbName: string, ring: [string, Buffer][]): RotationRun {
  const uri = `${inject('mongoUri').replace(/\/[^/]*$/, '')}/${dbName}`;
  const keys = ring.map(([id, key]) => `${id}:${key.toString('base64')}`).join(',');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/rotate-master-key.ts'], {
    cwd: projectRoot,
    env: bareEnv({ MONGODB_URI: uri, SECRETS_MASTER_KEYS: keys }),
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, out })),
  );
  return { child, output: () => out, done };
}

export async function rotateMasterKey(dbName: string, ring: [string, Buffer][]): Promise<{ code: number | null; out: string }> {
  const { code, out } = await startRotation(dbName, ring).done;
  return { code, out };
}
