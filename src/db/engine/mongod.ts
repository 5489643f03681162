// A real mongod through mongodb-memory-server: on a machine that can download
// MongoDB's binaries (or has MONGOMS_SYSTEM_BINARY pointing at a mongod).
// Where the download site is unreachable, locating the binary fails at once
// (package.json's config keeps its download retries to one), and the caller
// falls through to the next engine.
import type { RunningEngine } from './ferretdb.ts';

export async function startMongod(options: { dataDir: string; port?: number }): Promise<RunningEngine> {
  // Loaded when tried, not at every start: most starts go another way.
  const { MongoBinary, MongoMemoryServer } = await import('mongodb-memory-server-core');
  // Find or download the binary first: its failure is quick and quiet, where
  // MongoMemoryServer.create would print a stack trace before rethrowing.
  await MongoBinary.getPath();
  const server = await MongoMemoryServer.create({
    instance: { dbPath: options.dataDir, storageEngine: 'wiredTiger', ip: '127.0.0.1', port: options.port },
  });
  return {
    uri: server.getUri(),
    pid: server.instanceInfo?.instance.mongodProcess?.pid,
    stop: async () => {
      await server.stop({ doCleanup: false });
    },
  };
}
