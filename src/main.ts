// Start-up: configuration, database (external or embedded), master key,
// services, HTTP. Stops cleanly on SIGINT/SIGTERM, engine included.
import type { Connection } from 'mongoose';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { loadOrCreateDevMasterKey } from './crypto/dev-master-key.ts';
import { createKeyring } from './crypto/envelope.ts';
import { MasterKeyMismatchError } from './crypto/key-check.ts';
import { NoDatabaseError, type ResolvedDatabase, resolveDatabase } from './db/engine/resolve.ts';
import { PrivateFileError } from './fs/private-file.ts';
import { createLogger } from './logger.ts';
import type { ServiceNode } from './node.ts';

const DRAIN_MS = 10_000;

async function main() {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  // The app's modules load while the engine starts (another process): a start waits for the slower, not for both.
  const modules = Promise.all([import('./node.ts'), import('./db/connect.ts')]);
  modules.catch(() => {});

  let database: ResolvedDatabase | undefined;
  let connection: Connection | undefined;
  let node: ServiceNode | undefined;
  let stopping = false;

  async function stop(signal: string) {
    if (stopping) {
      logger.warn(`${signal} again: exiting at once`);
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests');
    // Requests get DRAIN_MS to finish; then the remaining connections are cut.
    const deadline = setTimeout(() => node?.app.server.closeAllConnections(), DRAIN_MS);
    deadline.unref();
    try {
      await node?.close();
      await connection?.close();
      await database?.stop();
      logger.info('stopped');
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'unclean shutdown');
      process.exit(1);
    }
  }
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  try {
    database = await resolveDatabase({
      mongodbUri: config.mongodbUri,
      engine: config.embeddedEngine,
      dataDir: config.dataDir,
      cacheDir: config.engineCacheDir,
      log: (line) => logger.info(line),
    });
  } catch (err) {
    if (err instanceof NoDatabaseError) fail(err.message);
    throw err;
  }
  logger.info({ engine: database.kind, uri: database.embedded ? database.uri : undefined }, 'database resolved');

  let masterKeys = config.masterKeys;
  if (!masterKeys) {
    // loadConfig refused MONGODB_URI without a key: here the engine is embedded.
    const dev = await loadOrCreateDevMasterKey(config.dataDir).catch((err: unknown) => {
      if (err instanceof PrivateFileError) fail(err.message);
      throw err;
    });
    masterKeys = [['default', dev.key]];
    logger.warn(
      `SECRETS_MASTER_KEY is not set: using the development master key ${dev.created ? 'just generated in' : 'kept in'} ${dev.file}. ` +
        'Set SECRETS_MASTER_KEY (openssl rand -base64 32) for anything but local development.',
    );
  }

  const [{ startNode }, { connectDatabase }] = await modules;
  connection = await connectDatabase(database.uri);
  const background = (what: string) => (err: Error) => logger.warn({ err: { type: err.name, message: err.message } }, what);
  node = await startNode({
    connection,
    logger,
    services: {
      keyring: createKeyring(masterKeys[0]![0], masterKeys),
      limits: config.limits,
      warn: (message) => logger.warn(message),
      webhookAllowedHosts: config.webhookAllowedHosts,
      oidcAllowedIssuers: config.oidcAllowedIssuers,
      subscriptions: config.subscriptions,
      onBackgroundError: background('background work failed; it is tried again'),
      onUnreadableValue: (version) => logger.error(version, "a stored value cannot be opened with this node's master keys"),
      eventRetentionMs: config.eventRetentionMs,
    },
    http: config,
    listen: { host: config.host, port: config.port },
    dispatch: true,
    sweep: {
      intervalMs: config.sweepIntervalMs,
      auditRetentionMs: config.auditRetentionMs,
      eventRetentionMs: config.eventRetentionMs,
      onError: background('sweep failed'),
    },
  }).catch((err: unknown) => {
    if (err instanceof MasterKeyMismatchError)
      fail(config.masterKeys ? err.message : `${err.message} (This start used the development master key in ${config.dataDir}; was it regenerated?)`);
    throw err;
  });
  const { services, baseUrl: base } = node;

  if (database.embedded) {
    const dev = await services.projects.ensureDevProject(config.dataDir).catch((err: unknown) => {
      if (err instanceof PrivateFileError) fail(err.message);
      throw err;
    });
    // Printed on stdout for the person who ran `npm start`, never through the logger.
    process.stdout.write(
      [
        '',
        `Secrets service ready on ${base}  (embedded ${database.kind}, data in ${config.dataDir})`,
        `  Console:       ${base}/console/  (sign in with the dev API key below)`,
        `  GraphiQL:      ${base}/graphql`,
        `  Dev project:   "${dev.name}" (${dev.id})`,
        `  Dev API key:   ${dev.apiKey}`,
        '  Try it:',
        `    curl -s -X POST ${base}/api/secrets -H 'X-Auth-Token: ${dev.apiKey}' -H 'Content-Type: application/json' -d '{"name":"MY_API_KEY","value":"s3cr3t"}'`,
        `    curl -s ${base}/api/secrets -H 'X-Auth-Token: ${dev.apiKey}'`,
        '',
      ].join('\n') + '\n',
    );
  } else {
    logger.info(`Secrets service ready on ${base} (console: ${base}/console/)`);
  }
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

main().catch((err: unknown) => {
  // No stack trace for the operator: a message, and the process exits non-zero.
  fail(`Start-up failed: ${err instanceof Error ? err.message : String(err)}`);
});
