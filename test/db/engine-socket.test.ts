// The embedded engine serves on a Unix socket in a folder that is ours alone
// (0700), and on no TCP port: FerretDB asks for no password, so a port would
// let any local user write to the database.
import { chown, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultEngineCacheDir } from '../../src/config.ts';
import { engineSocketPath, startFerretDb } from '../../src/db/engine/ferretdb.ts';

const cacheDir = defaultEngineCacheDir(process.env);
const made: string[] = [];
const tempDir = async (prefix = 'secrets-socket-') => {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  made.push(dir);
  return dir;
};
afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

/** The inodes of the TCP sockets listening on this machine (Linux /proc). */
async function listeningTcpInodes(): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const lines = (await readFile(table, 'utf8').catch(() => '')).split('\n').slice(1);
    for (const line of lines) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === '0A') inodes.add(fields[9]!); // 0A: LISTEN
    }
  }
  return inodes;
}

/** The inodes of the sockets a process holds open. */
async function socketInodes(pid: number): Promise<string[]> {
  const fds = await readdir(`/proc/${pid}/fd`);
  const links = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  return links.map((link) => link.match(/^socket:\[(\d+)\]$/)?.[1]).filter((inode): inode is string => inode !== undefined);
}

describe('the embedded engine', () => {
  it('listens on a Unix socket in a 0700 folder, and on no TCP port; the URI reaches it', async () => {
    const dataDir = await tempDir();
    const engine = await startFerretDb({ dataDir, cacheDir, log: () => {} });
    try {
      const socket = await engineSocketPath(dataDir);
      expect(engine.uri).toBe(`mongodb://${encodeURIComponent(socket)}/`);
      expect((await stat(socket)).isSocket()).toBe(true);
      expect((await stat(path.dirname(socket))).mode & 0o777).toBe(0o700);
      const listening = await listeningTcpInodes();
      const held = await socketInodes(engine.pid!);
      expect(held.length).toBeGreaterThan(0);
      expect(held.filter((inode) => listening.has(inode))).toEqual([]);
      const client = await MongoClient.connect(engine.uri, { serverSelectionTimeoutMS: 5_000 });
      try {
        expect(await client.db('probe').command({ ping: 1 })).toMatchObject({ ok: 1 });
      } finally {
        await client.close();
      }
    } finally {
      await engine.stop();
    }
  }, 120_000);

  it('makes an existing socket folder 0700 again, and starts over a socket a killed engine left', async () => {
    const dataDir = await tempDir();
    const first = await startFerretDb({ dataDir, cacheDir, log: () => {} });
    process.kill(first.pid!, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const socket = await engineSocketPath(dataDir);
    const { chmod } = await import('node:fs/promises');
    await chmod(path.dirname(socket), 0o755);
    const second = await startFerretDb({ dataDir, cacheDir, log: () => {} });
    try {
      expect((await stat(path.dirname(socket))).mode & 0o777).toBe(0o700);
      const client = await MongoClient.connect(second.uri, { serverSelectionTimeoutMS: 5_000 });
      await client.close();
    } finally {
      await second.stop();
    }
  }, 120_000);

  it('puts the socket of a data folder with a long path under the temporary folder, and refuses a folder there that is not its own', async () => {
    const deep = path.join(await tempDir(), 'a'.repeat(60), 'b'.repeat(60));
    const socket = await engineSocketPath(deep);
    expect(socket.startsWith(tmpdir())).toBe(true);
    expect(socket.length).toBeLessThan(108);
    expect((await stat(path.dirname(socket))).mode & 0o777).toBe(0o700);
    made.push(path.dirname(socket));
    // Somebody else made that folder first: the engine will not use it.
    await chown(path.dirname(socket), 65534, 65534);
    await expect(engineSocketPath(deep)).rejects.toThrow(/is not a folder of this user's/);
  });
});
