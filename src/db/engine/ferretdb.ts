// Runs the embedded FerretDB (SQLite backend) as a child process, serving on
// a Unix socket in a folder of mode 0700, never on a TCP port: FerretDB asks
// for no password, and any local user could otherwise find the port and
// write to the database (an api_keys document, say).
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
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
  readonly log: (line: string) => void;
}

/** Unix socket paths are short (108 bytes on Linux): longer ones go to a folder under the temporary directory. */
const SOCKET_PATH_MAX = 100;
const SOCKET_NAME = 'ferretdb.sock';

/**
 * The socket the engine of `dataDir` serves on: the same on every start, so
 * that a restarted engine is found where the old one was. Its folder is made
 * ours alone (0700); one that exists and is not ours, or is not a folder, is
 * refused, so that nobody can stand in for the engine.
 */
export async function engineSocketPath(dataDir: string): Promise<string> {
  let dir = path.join(path.resolve(dataDir), 'socket');
  if (path.join(dir, SOCKET_NAME).length > SOCKET_PATH_MAX) {
    dir = path.join(tmpdir(), `secrets-engine-${createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16)}`);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const stat = await lstat(dir);
  if (!stat.isDirectory() || (process.getuid && stat.uid !== process.getuid())) {
    throw new EngineUnavailableError(`${dir} is not a folder of this user's: refusing to put the engine's socket there`);
  }
  await chmod(dir, 0o700);
  return path.join(dir, SOCKET_NAME);
}

/** The driver's URI of a Unix socket: its path, percent-encoded, as the host. */
export const socketUri = (socket: string) => `mongodb://${encodeURIComponent(socket)}/`;

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

export async function startFerretDb(options: FerretDbOptions): Promise<RunningEngine> {
  const binary = await ensureEngineBinary(options.cacheDir, options.log);
  const socket = await engineSocketPath(options.dataDir);
  // A socket left by an engine that was killed would stop the new one from binding.
  await rm(socket, { force: true });
  // stdin stays an open pipe that we never write to: when this process dies,
  // even by SIGKILL, the pipe closes and the engine stops itself.
  const args = ['-data', options.dataDir, '-unix', socket, '-log-level', 'error'];
  const child = spawn(binary, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderr.push(line);
    if (stderr.length > 50) stderr.shift();
    options.log(`[ferretdb] ${line}`);
  });

  // The engine prints its URI once it accepts connections: the line says it is ready.
  await new Promise<string>((resolve, reject) => {
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

  return { uri: socketUri(socket), pid: child.pid, stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
