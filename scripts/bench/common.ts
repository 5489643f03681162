// What the benchmarks share: an engine of their own, a free port, and a
// server process started and probed until it answers.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultEngineCacheDir, projectRoot } from '../../src/config.ts';
import { resolveDatabase } from '../../src/db/engine/resolve.ts';

/** The engine the service would use (MONGODB_URI's, else an embedded one on a fresh folder); `uriOf(db)` names a database on it. */
export async function startBenchEngine(prefix: string) {
  const dataDir = mkdtempSync(path.join(tmpdir(), prefix));
  const engine = await resolveDatabase({
    mongodbUri: process.env.MONGODB_URI || undefined,
    engine: 'auto',
    dataDir,
    cacheDir: defaultEngineCacheDir(process.env),
    log: (line) => console.error(`[engine] ${line}`),
  });
  return {
    kind: engine.kind,
    uri: engine.uri,
    /** The engine's process, when it is ours (embedded): its CPU is part of the server side. */
    pid: engine.pid,
    uriOf: (db: string) => engine.uri.replace(/\/[^/?]*(\?|$)/, `/${db}$1`),
    async stop() {
      await engine.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Runs `script` (through tsx) with `env`, serving on `port`, and resolves once
 * `probe` answers 200. Bounded: a server that exits or never answers stops
 * the benchmark, with its output, instead of hanging it.
 */
export async function startServerProcess(name: string, script: string, env: NodeJS.ProcessEnv, port: number, probe: string) {
  // Compiled JavaScript as is (the service as npm start runs it); TypeScript through tsx.
  const args = script.endsWith('.js') ? [script] : ['--import', 'tsx', script];
  const child: ChildProcess = spawn(process.execPath, args, { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited:\n${output}`);
    if (
      await fetch(`${base}${probe}`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 600) throw new Error(`${name} did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    base,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
