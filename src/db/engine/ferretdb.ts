// Runs the embedded FerretDB (SQLite backend) as a child process.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { EngineUnavailableError, ensureEngineBinary } from './ferretdb-binary.ts';

export interface RunningEngine {
  readonly uri: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export interface FerretDbOptions {
  readonly dataDir: string;
  readonly cacheDir: string;
  /** 0 (default) lets the engine pick a free port. */
  readonly port?: number;
  readonly log: (line: string) => void;
}

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

export async function startFerretDb(options: FerretDbOptions): Promise<RunningEngine> {
  const binary = await ensureEngineBinary(options.cacheDir, options.log);
  // stdin stays an open pipe that we never write to: when this process dies,
  // even by SIGKILL, the pipe closes and the engine stops itself.
  const args = ['-data', options.dataDir, '-listen', `127.0.0.1:${options.port ?? 0}`, '-log-level', 'error'];
  const child = spawn(binary, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderr.push(line);
    if (stderr.length > 50) stderr.shift();
    options.log(`[ferretdb] ${line}`);
  });

  const uri = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new EngineUnavailableError(`the embedded FerretDB did not start within ${START_TIMEOUT_MS / 1000} s`));
    }, START_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line.trim());
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new EngineUnavailableError(`the embedded FerretDB could not be started: ${err.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new EngineUnavailableError(`the embedded FerretDB exited (code ${code}) before serving:\n${stderr.join('\n')}`));
    });
  });

  return { uri, pid: child.pid, stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
