// Runs a driver of test/sdk/ (an official Python SDK, unchanged) in the
// project's .venv and returns what each of its calls returned or raised.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { projectRoot } from '../../src/config.ts';
import { bareEnv } from './clean-env.ts';

export type SdkStep =
  { call: string; ok: true; result: any } | { call: string; ok: false; error: string; module: string; message: string; status: number | null };

export interface SdkRun {
  readonly steps: SdkStep[];
  /** The step of this call; fails the test if the driver made no such call. */
  step(call: string): SdkStep;
  /** What the call returned; fails the test with the SDK's error if it raised. */
  result(call: string): any;
  /** What the call raised; fails the test if it returned. */
  error(call: string): Extract<SdkStep, { ok: false }>;
}

export const PYTHON = path.join(projectRoot, '.venv', 'bin', 'python');

/** Throws (the test fails, never skips) when the Python environment is missing, saying how to make it. */
export function requirePython(): void {
  const error = inject('pythonEnvError');
  if (error) throw new Error(`The official Python SDKs are not installed, so this test cannot run.\n${error}\nRun: bash scripts/python-env.sh`);
}

export async function runSdk(driver: string, env: Record<string, string>, options: { together2?: boolean; cwd?: string } = {}): Promise<SdkRun> {
  requirePython();
  const pythonPath = [path.join(projectRoot, 'test', 'sdk')];
  // Together 2.x lives in a folder of its own, put before the 3.x of .venv itself.
  if (options.together2) pythonPath.unshift(path.join(projectRoot, '.venv', 'together-2'));
  const { stdout } = await promisify(execFile)(PYTHON, [path.join(projectRoot, 'test', 'sdk', driver)], {
    cwd: options.cwd ?? projectRoot,
    env: bareEnv({ HOME: process.env.HOME ?? '', PYTHONPATH: pythonPath.join(':'), PYTHONDONTWRITEBYTECODE: '1', ...env }),
    maxBuffer: 16 * 1024 * 1024,
    timeout: 120_000,
  });
  const steps = JSON.parse(stdout.trim().split('\n').at(-1)!) as SdkStep[];
  const step = (call: string) => {
    const found = steps.find((s) => s.call === call);
    if (!found) throw new Error(`the driver made no call "${call}"; it made: ${steps.map((s) => s.call).join(', ')}`);
    return found;
  };
  return {
    steps,
    step,
    result(call) {
      const s = step(call);
      if (!s.ok) throw new Error(`${call} raised ${s.module}.${s.error}: ${s.message}`);
      return s.result;
    },
    error(call) {
      const s = step(call);
      if (s.ok) throw new Error(`${call} returned ${JSON.stringify(s.result)} where an error was expected`);
      return s;
    },
  };
}
