// A connection that goes silent while it holds a command (packets dropped,
// the socket never closed) fails the command after the socket timeout, as
// "database unavailable" (a 503 at the doors), instead of holding its request
// forever. Seen for real: the embedded engine exiting while it held a command
// left the command unanswered and its request hanging (the outage test).
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { connectDatabase } from '../../src/db/connect.ts';
import { isDatabaseUnavailable } from '../../src/db/errors.ts';

/** Where the suite's engine listens, for net.connect: a Unix socket path or host and port. */
function engineAddress(uri: string): net.NetConnectOpts {
  const host = decodeURIComponent(uri.match(/^mongodb:\/\/(?:[^@/]*@)?([^/?]+)/)?.[1] ?? '');
  if (host.startsWith('/')) return { path: host };
  const [name, port] = host.split(':');
  return { host: name!, port: Number(port ?? 27017) };
}

/**
 * A TCP relay to the engine. `silence()` makes the connections open at that
 * moment pass nothing on, either way, and close nothing; later ones work.
 */
async function relay(target: net.NetConnectOpts) {
  const silenced = new Set<net.Socket>();
  const sockets: net.Socket[] = [];
  const server = net.createServer((client) => {
    const engine = net.connect(target);
    sockets.push(client, engine);
    client.on('data', (chunk) => void (silenced.has(client) || engine.write(chunk)));
    engine.on('data', (chunk) => void (silenced.has(client) || client.write(chunk)));
    client.on('error', () => {});
    engine.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    uri: `mongodb://127.0.0.1:${port}/?directConnection=true`,
    silence: () => sockets.forEach((socket) => silenced.add(socket)),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('a connection that goes silent', () => {
  let cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => {});
    cleanup = [];
  });

  it('fails the write it holds after the socket timeout, as the database being unavailable; later commands work', async () => {
    const uri = inject('mongoUri');
    if (/^mongodb\+srv:/.test(uri) || uri.includes(',')) {
      throw new Error('this test relays to one engine address; set MONGODB_URI to a single host (or unset it for the embedded engine)');
    }
    const proxy = await relay(engineAddress(uri));
    cleanup.push(proxy.close);
    const connection = await connectDatabase(proxy.uri, { dbName: `t_${randomBytes(6).toString('hex')}`, socketTimeoutMs: 1_500 });
    cleanup.push(() => connection.close(true));
    const things = connection.db!.collection('things');
    await things.insertOne({ n: 1 });

    proxy.silence();
    // Bounded here only so that a regression fails the test instead of hanging it.
    const outcome = await Promise.race([
      things.insertOne({ n: 2 }).then(
        () => 'answered',
        (err: unknown) => err,
      ),
      new Promise((resolve) => setTimeout(() => resolve('still waiting after 20 s'), 20_000)),
    ]);
    expect(outcome).toBeInstanceOf(Error);
    expect(isDatabaseUnavailable(outcome)).toBe(true);
    // The socket timeout ended the wait, not an answer or a closed socket.
    expect((outcome as Error).name).toBe('MongoNetworkTimeoutError');
    expect(await things.countDocuments({ n: 1 }), 'later commands use a new connection').toBe(1);
  });
});
