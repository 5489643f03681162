// Builds the embedded FerretDB engine into the per-user cache folder
// (ENGINE_CACHE_DIR, default ~/.cache/secrets-service), if it is not there yet.
// `npm start` and the tests do the same on first use; this is for doing it ahead.
import { defaultEngineCacheDir } from '../src/config.ts';
import { ensureEngineBinary } from '../src/db/engine/ferretdb-binary.ts';

const cacheDir = defaultEngineCacheDir(process.env);
try {
  const binary = await ensureEngineBinary(cacheDir, (line) => console.log(line));
  console.log(`engine ready: ${binary}`);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
