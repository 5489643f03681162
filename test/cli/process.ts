// Runs the `secrets` CLI (bin/secrets.mjs) as a real process, in an
// environment of our choosing only (bareEnv): nothing of the test runner's leaks in.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../src/config.ts';
import { bareEnv } from '../helpers/clean-env.ts';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** Resolves once stdout matches `pattern`; rejects if the CLI ends first. */
  stdoutMatches(pattern: RegExp): Promise<void>;
  /** Resolves when the CLI and every holder of its pipes (the command it runs) are gone. */
  readonly done: Promise<CliResult>;
}

export function startCli(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}): CliProcess {
  const child = spawn(process.execPath, [path.join(projectRoot, 'bin/secrets.mjs'), ...args], {
    env: bareEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout.on('data', (d) => {
    stdout += d;
    for (const listener of listeners) listener();
  });
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(options.stdin ?? '');
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return {
    child,
    done,
    stdoutMatches: (pattern) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (!pattern.test(stdout)) return;
          listeners.delete(check);
          resolve();
        };
        listeners.add(check);
        check();
        void done.then((r) => reject(new Error(`the CLI ended (code ${r.code}, signal ${r.signal}) before stdout matched ${pattern}: ${JSON.stringify(r)}`)));
      }),
  };
}

export function runCli(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return startCli(args, options).done;
}
