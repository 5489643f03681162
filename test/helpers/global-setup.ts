// One database engine for the whole run, resolved the way the service
// resolves it (MONGODB_URI, else mongodb-memory-server, else the embedded
// FerretDB), with its data in a temporary folder. Each test file then uses a
// database of its own on it.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { defaultEngineCacheDir, projectRoot } from '../../src/config.ts';
import { resolveDatabase } from '../../src/db/engine/resolve.ts';
import { cleanEnv } from './clean-env.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUri: string;
    engineKind: string;
    /** Empty when the project's Python environment (.venv, the SDKs) is ready; else why not. */
    pythonEnvError: string;
  }
}

/** The official Python SDKs, pinned in python/: made once per run, beside the engine. Resolves with why it failed, or ''. */
async function preparePython(): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('bash', ['scripts/python-env.sh'], { cwd: projectRoot, env: cleanEnv(), maxBuffer: 16 * 1024 * 1024 });
    if (stdout.trim()) console.log(`[python] ${stdout.trim().replace(/\n/g, '\n[python] ')}`);
    return '';
  } catch (err) {
    const e = err as { code?: unknown; stderr?: string };
    return `scripts/python-env.sh failed (exit ${String(e.code)}):\n${e.stderr ?? String(err)}`;
  }
}

/**
 * The compiled program that `npm start` and the CLI run must be built from
 * the sources under test: `npm test` builds it; a run without a fresh build
 * fails here, saying so, rather than test yesterday's code.
 */
function requireFreshBuild(): void {
  const stamp = path.join(projectRoot, 'dist/.tsbuildinfo');
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce(
      (max, e) => Math.max(max, e.isDirectory() ? newest(path.join(dir, e.name)) : statSync(path.join(dir, e.name)).mtimeMs),
      0,
    );
  if (!existsSync(stamp) || statSync(stamp).mtimeMs < newest(path.join(projectRoot, 'src'))) {
    throw new Error('dist/ is missing or older than src/: run `npm run build` first (`npm test` does).');
  }
}

export default async function setup(project: TestProject) {
  requireFreshBuild();
  const python = preparePython();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'secrets-test-engine-'));
  const database = await resolveDatabase({
    mongodbUri: process.env.MONGODB_URI || undefined,
    engine: 'auto',
    dataDir,
    cacheDir: defaultEngineCacheDir(process.env),
    log: (line) => console.log(`[engine] ${line}`),
  });
  console.log(`[engine] tests use ${database.kind}`);
  project.provide('mongoUri', database.uri);
  project.provide('engineKind', database.kind);
  // The SDK tests fail (never skip) with this message when the environment could not be made.
  project.provide('pythonEnvError', await python);
  return async () => {
    await database.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
