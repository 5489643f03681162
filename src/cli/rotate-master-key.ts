// npm run rotate-master-key: re-wraps every data key under the active master
// key (the first of SECRETS_MASTER_KEYS), in batches, while services keep
// serving. Same environment as the service. Prints how many it re-wrapped and
// how many remain under other keys; exits 0 when none remain, so that the old
// key can then be removed from SECRETS_MASTER_KEYS. Safe to interrupt and run
// again. With an embedded engine (no MONGODB_URI) the service must be stopped:
// this script then runs the engine on DATA_DIR itself.
import { SingleBar, Presets } from 'cli-progress';
import { ConfigError, loadConfig } from '../config.ts';
import { createKeyring } from '../crypto/envelope.ts';
import { verifyMasterKeys } from '../crypto/key-check.ts';
import { createRotation } from '../crypto/rotation.ts';
import { connectDatabase } from '../db/connect.ts';
import { resolveDatabase } from '../db/engine/resolve.ts';
import { createModels } from '../db/models/index.ts';
import { sealStoresOf } from '../services.ts';

const BATCH = 200;

try {
  const config = loadConfig();
  if (!config.masterKeys) throw new ConfigError('Set SECRETS_MASTER_KEYS="new:BASE64,old:BASE64" (the new, active key first).');
  const keyring = createKeyring(config.masterKeys[0]![0], config.masterKeys);
  const database = await resolveDatabase({
    mongodbUri: config.mongodbUri,
    engine: config.embeddedEngine,
    dataDir: config.dataDir,
    cacheDir: config.engineCacheDir,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const connection = await connectDatabase(database.uri);
  try {
    const models = createModels(connection);
    // A ring whose key for an id is not the one the data was written with would re-wrap nothing and mislead.
    await verifyMasterKeys(models, keyring);
    const rotation = createRotation({ seals: sealStoresOf(models), keyring });
    const total = await rotation.remaining();
    process.stdout.write(`${total} data keys to re-wrap under "${keyring.activeId}"\n`);
    const bar = process.stdout.isTTY ? new SingleBar({ format: ' {bar} {value}/{total} data keys | {eta}s left' }, Presets.shades_classic) : undefined;
    bar?.start(total, 0);
    let rewrapped = 0;
    for (let skipped = 0; ;) {
      const done = await rotation.rewrapBatch(BATCH);
      // A batch of versions no key opens re-wraps nothing: go on while the skipped ones grow.
      if (done === 0 && rotation.unopenable().length === skipped) break;
      skipped = rotation.unopenable().length;
      rewrapped += done;
      bar?.update(Math.min(rewrapped + skipped, total));
    }
    bar?.stop();
    const unopenable = rotation.unopenableVersions();
    for (const v of unopenable) {
      process.stderr.write(
        `skipped: secret ${v.secretId} version ${v.version}: its data key is under "${v.keyId}", and this ring's "${v.keyId}" does not open it\n`,
      );
    }
    const left = await rotation.remainingByKey();
    const remaining = Object.values(left).reduce((a, b) => a + b, 0);
    process.stdout.write(
      `re-wrapped ${rewrapped}; skipped (no key opens them) ${unopenable.length}; remaining under other keys: ${remaining}${remaining ? ` ${JSON.stringify(left)}` : ''}\n`,
    );
    if (remaining === 0) {
      process.stdout.write(`Every data key is under "${keyring.activeId}": the other keys can now be removed from SECRETS_MASTER_KEYS.\n`);
    }
    process.exitCode = remaining === 0 ? 0 : 1;
  } finally {
    await connection.close();
    await database.stop();
  }
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
