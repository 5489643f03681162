// One database engine for the whole run, resolved the way the service
// resolves it (MONGODB_URI, else mongodb-memory-server, else the embedded
// FerretDB), with its data in a temporary folder. Each test file then uses a
// database of its own on it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { defaultEngineCacheDir } from '../../src/config.ts';
import { resolveDatabase } from '../../src/db/engine/resolve.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUri: string;
    engineKind: string;
  }
}

export default async function setup(project: TestProject) {
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
  return async () => {
    await database.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
