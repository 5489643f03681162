// How the embedded engine is found and run fast: its lookups by _id use an
// index (FerretDB's own indexes spell the path another way, which SQLite does
// not match), and a failed download of mongod is not tried by every start.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultEngineCacheDir } from '../../src/config.ts';
import { startFerretDb } from '../../src/db/engine/ferretdb.ts';
import { resolveDatabase } from '../../src/db/engine/resolve.ts';

const cacheDir = defaultEngineCacheDir(process.env);
const made: string[] = [];
afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});
const tempDir = async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'secrets-lookups-'));
  made.push(dir);
  return dir;
};

/** SQLite's plan for the query FerretDB runs for {_id: "a"} on `collection` (read with Python's sqlite3). */
function planOfIdLookup(file: string, collection: string): string {
  const script = [
    'import sqlite3, sys',
    'db = sqlite3.connect(sys.argv[1])',
    'table = db.execute("SELECT table_name FROM _ferretdb_collections WHERE name = ?", (sys.argv[2],)).fetchone()[0]',
    "print(db.execute(f'EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM \"{table}\" WHERE _ferretdb_sjson->\\'$._id\\' = ?', ('\"a\"',)).fetchall())",
  ].join('\n');
  return execFileSync('python3', ['-c', script, file, collection]).toString();
}

describe('the embedded engine', () => {
  it('indexes the expression of its lookups by _id, in every collection, new ones too', async () => {
    const dataDir = await tempDir();
    const engine = await startFerretDb({ dataDir, cacheDir, log: () => {} });
    const client = await MongoClient.connect(engine.uri);
    try {
      await client
        .db('lookups')
        .collection('first')
        .insertOne({ _id: 'a' as never, v: 1 });
      await client
        .db('lookups')
        .collection('second')
        .insertOne({ _id: 'a' as never, v: 2 });
      const file = path.join(dataDir, 'lookups.sqlite');
      let plans = '';
      for (let polls = 0; polls < 100; polls++) {
        plans = planOfIdLookup(file, 'first') + planOfIdLookup(file, 'second');
        if ((plans.match(/_ferretdb_id_lookup/g) ?? []).length === 2) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(plans).toMatch(/SEARCH .*USING INDEX \S+_ferretdb_id_lookup/);
      expect((plans.match(/_ferretdb_id_lookup/g) ?? []).length).toBe(2);
      expect(
        await client
          .db('lookups')
          .collection('second')
          .findOne({ _id: 'a' as never }),
      ).toMatchObject({ v: 2 });
    } finally {
      await client.close();
      await engine.stop();
    }
  }, 120_000);
});

describe('resolving the engine', () => {
  it('skips mongodb-memory-server for an hour after its download failed, then tries it again', async () => {
    const marker = path.join(cacheDir, 'mongod-download-failed');
    const lines: string[] = [];
    const resolve = async () => {
      const database = await resolveDatabase({
        mongodbUri: undefined,
        engine: 'auto',
        dataDir: await tempDir(),
        cacheDir,
        log: (line) => void lines.push(line),
      });
      await database.stop();
      return database.kind;
    };
    await writeFile(marker, 'test\n');
    expect(await resolve()).toBe('ferretdb');
    expect(lines.join('\n')).toMatch(/mongodb-memory-server: skipped \(downloading mongod failed at .*deleting .*mongod-download-failed/);

    // An hour later it is tried: here its download fails again and the mark is renewed
    // (with internet it would succeed, and the mark would go).
    const hourAgo = new Date(Date.now() - 3_601_000);
    await utimes(marker, hourAgo, hourAgo);
    lines.length = 0;
    const kind = await resolve();
    expect(lines.join('\n')).not.toMatch(/skipped/);
    if (kind === 'mongod') await expect(stat(marker)).rejects.toThrow();
    else expect((await stat(marker)).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
  }, 120_000);
});
