import mongoose, { type Connection } from 'mongoose';

export interface ConnectOptions {
  /** Database name; defaults to the one in the URI, else `secrets`. */
  readonly dbName?: string;
  /** How long a command may wait for its answer on an open connection (default 30 s). */
  readonly socketTimeoutMs?: number;
}

/**
 * Opens a dedicated mongoose connection (not the global default one, so that
 * tests can run several apps in one process). Commands are not buffered while
 * the database is away: a request then fails fast instead of hanging.
 */
export async function connectDatabase(uri: string, options: ConnectOptions = {}): Promise<Connection> {
  const hasDbInUri = /^mongodb(\+srv)?:\/\/[^/]+\/[^?]+/.test(uri);
  const connection = mongoose.createConnection(uri, {
    dbName: options.dbName ?? (hasDbInUri ? undefined : 'secrets'),
    bufferCommands: false,
    autoIndex: false,
    autoCreate: true,
    // While the database is away, a request fails after this long (503)
    // instead of waiting for it.
    serverSelectionTimeoutMS: 3_000,
    // A command whose connection goes silent without the socket closing (a
    // network that drops packets) fails after this long (503) instead of
    // holding its request forever. Our longest command, a list of a large
    // project on FerretDB, takes a few seconds.
    socketTimeoutMS: options.socketTimeoutMs ?? 30_000,
    // Command events feed the db_commands_total metric.
    monitorCommands: true,
  });
  await connection.asPromise();
  failWritesToClosedConnections(connection);
  return connection;
}

const CLOSED_CONNECTION_CHECK_MS = 1_000;

/**
 * A workaround for the MongoDB driver (7.8): a command whose connection
 * closes while the command is being encoded (the engine going away at that
 * moment) is then written to a destroyed socket, whose write() returns false
 * and which never emits 'drain' or 'error': the driver waits for 'drain'
 * forever, past any socket timeout, and so does the request. Every second,
 * each checked-out connection that is closed gets an 'error' on its socket,
 * which ends that wait with a socket error (the database unavailable: 503).
 * Reached through the driver's topology, defensively: if its shape changes,
 * this does nothing (and the outage test, which caught the hang, says so).
 */
function failWritesToClosedConnections(connection: Connection): void {
  const client = connection.getClient() as unknown as {
    topology?: {
      s?: {
        servers?: Map<string, { pool?: { checkedOut?: Set<{ closed?: boolean; socket?: import('node:events').EventEmitter & { destroyed?: boolean } }> } }>;
      };
    };
  };
  const timer = setInterval(() => {
    for (const server of client.topology?.s?.servers?.values() ?? []) {
      for (const held of server.pool?.checkedOut ?? []) {
        // The driver's own listener is always there (and ignores it: the connection is closed already).
        if (!held.closed || !held.socket?.destroyed || held.socket.listenerCount('error') === 0) continue;
        held.socket.emit(
          'error',
          Object.assign(new Error('write EPIPE (the connection closed before the command was sent)'), { code: 'EPIPE', syscall: 'write' }),
        );
      }
    }
  }, CLOSED_CONNECTION_CHECK_MS);
  timer.unref();
  connection.once('close', () => clearInterval(timer));
}

/**
 * Resolves when the server answers a ping within the timeout; rejects
 * otherwise. The driver's answer decides, not mongoose's readyState, which
 * can stay "disconnected" after the driver has reconnected to a restarted
 * server.
 */
export async function pingDatabase(connection: Connection, timeoutMs = 2_000): Promise<void> {
  const db = connection.db;
  if (!db) throw new Error('database not connected');
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      db.command({ ping: 1 }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('database ping timed out')), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
