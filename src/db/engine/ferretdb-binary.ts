// Builds the embedded FerretDB program (engine/, a small Go module of ours)
// with `go build` into a per-user cache folder, once: later starts, clones and
// CI runs on the same machine reuse the binary. The binary's name carries a
// hash of the Go sources, so a change to engine/ builds a new one.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { projectRoot } from '../../config.ts';

export const ENGINE_SOURCE_DIR = path.join(projectRoot, 'engine');
const SOURCES = ['go.mod', 'go.sum', 'main.go'];
// FerretDB's PostgreSQL backend is not needed: we embed SQLite.
const BUILD_TAGS = 'ferretdb_no_postgresql';

export class EngineUnavailableError extends Error {
  override name = 'EngineUnavailableError';
}

export async function engineBinaryPath(cacheDir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const file of SOURCES) hash.update(await readFile(path.join(ENGINE_SOURCE_DIR, file)));
  hash.update(`${process.platform}-${process.arch}-${BUILD_TAGS}`);
  return path.join(cacheDir, `ferretdb-engine-${hash.digest('hex').slice(0, 16)}`);
}

function goAvailable(): boolean {
  const probe = spawnSync('go', ['version'], { stdio: 'ignore' });
  return probe.error === undefined && probe.status === 0;
}

/** Returns the cached binary, building it first when missing. `progress` receives one line per step. */
export async function ensureEngineBinary(cacheDir: string, progress: (line: string) => void): Promise<string> {
  const binary = await engineBinaryPath(cacheDir);
  if (existsSync(binary)) return binary;
  if (!goAvailable()) {
    throw new EngineUnavailableError('`go` was not found on PATH; it is needed once, to build the embedded FerretDB engine');
  }
  await mkdir(cacheDir, { recursive: true });
  // Build beside the target and rename: a concurrent or interrupted build never leaves a half-written binary.
  const partial = `${binary}.${process.pid}.partial`;
  progress(`Building the embedded FerretDB engine into ${cacheDir} (first start only; about a minute)...`);
  const started = Date.now();
  const child = spawn('go', ['build', '-v', '-trimpath', '-tags', BUILD_TAGS, '-o', partial, '.'], {
    cwd: ENGINE_SOURCE_DIR,
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  // `go build -v` names each package as it compiles it: our progress lines.
  const errors: string[] = [];
  let compiled = 0;
  let downloaded = 0;
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (line.startsWith('go: downloading ')) {
      downloaded += 1;
      if (downloaded % 10 === 1) progress(`  downloading Go modules (${downloaded}: ${line.slice(16)})`);
    } else if (/^[\w.-]+(\/[\w.@-]+)*$/.test(line)) {
      compiled += 1;
      if (compiled % 25 === 0) progress(`  compiled ${compiled} packages (latest: ${line})`);
    } else {
      errors.push(line);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) {
    await rm(partial, { force: true });
    throw new EngineUnavailableError(`go build of engine/ failed (exit ${code}):\n${errors.slice(-20).join('\n')}`);
  }
  await rename(partial, binary);
  progress(`Built the engine in ${((Date.now() - started) / 1000).toFixed(1)} s (${compiled} packages): ${binary}`);
  return binary;
}
