// Where the database comes from, in this order:
//   1. MONGODB_URI, when set;
//   2. a real mongod through mongodb-memory-server;
//   3. the embedded FerretDB, built with `go` on first use;
//   4. otherwise one error that names these three ways.
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startFerretDb } from './ferretdb.ts';
import { startMongod } from './mongod.ts';

export type EngineKind = 'external' | 'mongod' | 'ferretdb';

export interface ResolvedDatabase {
  readonly uri: string;
  readonly kind: EngineKind;
  /** True when this process runs the engine (and so owns its data folder). */
  readonly embedded: boolean;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export interface ResolveOptions {
  readonly mongodbUri: string | undefined;
  /** Which embedded engines may be tried. */
  readonly engine: 'auto' | 'mongod' | 'ferretdb';
  /** Data of the embedded engines goes to `<dataDir>/mongod` or `<dataDir>/ferretdb`. */
  readonly dataDir: string;
  readonly cacheDir: string;
  readonly log: (line: string) => void;
}

/** How long a failed download of mongod is remembered (see resolveDatabase). */
const DOWNLOAD_RETRY_MS = 3600_000;

export class NoDatabaseError extends Error {
  override name = 'NoDatabaseError';
}

function reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n').slice(0, 3).join(' ').slice(0, 300);
}

export async function resolveDatabase(options: ResolveOptions): Promise<ResolvedDatabase> {
  if (options.mongodbUri) {
    return { uri: options.mongodbUri, kind: 'external', embedded: false, pid: undefined, stop: async () => {} };
  }
  const failures: string[] = ['  1. MONGODB_URI: not set (set it to use your own MongoDB).'];

  // A download of mongod that failed (no internet, say) is not tried again
  // by every start for an hour: it costs a second or more each time. Asked
  // for by name (EMBEDDED_ENGINE=mongod), it is always tried.
  const downloadFailed = path.join(options.cacheDir, 'mongod-download-failed');
  const failedAt = options.engine === 'auto' ? await stat(downloadFailed).then((s) => s.mtimeMs, () => null) : null;
  if (failedAt !== null && Date.now() - failedAt < DOWNLOAD_RETRY_MS) {
    const line = `mongodb-memory-server: skipped (downloading mongod failed at ${new Date(failedAt).toISOString()}; tried again an hour later, or now after deleting ${downloadFailed})`;
    failures.push(`  2. ${line}.`);
    options.log(line);
  } else if (options.engine === 'auto' || options.engine === 'mongod') {
    try {
      const dataDir = path.join(options.dataDir, 'mongod');
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      const engine = await startMongod({ dataDir });
      await rm(downloadFailed, { force: true });
      return { ...engine, kind: 'mongod', embedded: true };
    } catch (err) {
      failures.push(
        `  2. mongodb-memory-server (a real mongod): ${reason(err)} ` +
          '(it downloads mongod from MongoDB\'s site, or uses MONGOMS_SYSTEM_BINARY=/path/to/mongod).',
      );
      options.log(`mongodb-memory-server unavailable: ${reason(err)}`);
      if (/download/i.test(reason(err))) {
        await mkdir(options.cacheDir, { recursive: true }).then(() => writeFile(downloadFailed, `${new Date().toISOString()}\n`)).catch(() => {});
      }
    }
  } else {
    failures.push('  2. mongodb-memory-server: skipped (EMBEDDED_ENGINE=ferretdb).');
  }

  if (options.engine === 'auto' || options.engine === 'ferretdb') {
    try {
      const engine = await startFerretDb({
        dataDir: path.join(options.dataDir, 'ferretdb'),
        cacheDir: options.cacheDir,
        log: options.log,
      });
      return { ...engine, kind: 'ferretdb', embedded: true };
    } catch (err) {
      failures.push(`  3. embedded FerretDB: ${reason(err)} (install Go 1.24 or newer to build it once).`);
    }
  } else {
    failures.push('  3. embedded FerretDB: skipped (EMBEDDED_ENGINE=mongod).');
  }

  throw new NoDatabaseError(`No database is available. Tried, in order:\n${failures.join('\n')}`);
}
