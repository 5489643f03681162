// The environment of every process a test starts. Nothing the service or the
// CLI reads comes from the developer's shell (SECRETS_API_KEY, MONGODB_URI,
// LOG_LEVEL, RATE_LIMIT_PER_MINUTE...): what such a process sees, the test
// sets.
//
// Two bases, by what the process needs:
//
// - cleanEnv, for the service (npm start, src/main.ts) and for tools that
//   install or browse (scripts/python-env.sh, Chromium): the shell's
//   environment minus every variable of the config schema (CONFIG_VARIABLES,
//   from src/config.ts), the CLI's and the test runner's own. They need the
//   rest: PATH and HOME, mongodb-memory-server's MONGOMS_*, go's variables to
//   build the embedded engine, CA bundles, proxies. ENGINE_CACHE_DIR is then
//   set to the folder this run's engine is cached in (the global setup's,
//   from ENGINE_CACHE_DIR or XDG_CACHE_HOME as the run started), so that a
//   service finds the engine built rather than building it again.
//
// - bareEnv, for clients (the `secrets` CLI, the rotation script, the Python
//   SDKs): PATH and what the test passes, nothing else. A client passes on
//   what it sees (`secrets run`), and the SDKs read variables of their own
//   (TOGETHER_API_KEY, LANGWATCH_ENDPOINT, proxies...).
import { CONFIG_VARIABLES, defaultEngineCacheDir } from '../../src/config.ts';

/** The `secrets` CLI's own (src/cli/main.ts): the service's URL, the API key, the environment. */
export const CLI_VARIABLES = ['SECRETS_URL', 'SECRETS_API_KEY', 'SECRETS_ENV'] as const;

/** The test runner's own: they change how a child node starts, or what it takes itself for. */
const RUNNER_VARIABLES = ['NODE_OPTIONS', 'NODE_ENV', 'TEST'];

const unset = new Set<string>([...CONFIG_VARIABLES, ...CLI_VARIABLES, ...RUNNER_VARIABLES]);

/** Resolved once, from the environment the run started with, as the global setup resolves it. */
const engineCacheDir = defaultEngineCacheDir(process.env);

/** The shell's environment minus ours, with the run's engine cache, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const inherited = Object.entries(process.env).filter(
    (entry): entry is [string, string] => entry[1] !== undefined && !unset.has(entry[0]) && !entry[0].startsWith('VITEST'),
  );
  return { ...Object.fromEntries(inherited), ENGINE_CACHE_DIR: engineCacheDir, ...extra };
}

/** PATH and `extra`, nothing else. */
export function bareEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '', ...extra };
}
