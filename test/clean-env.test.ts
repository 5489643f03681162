// What a developer's shell sets never reaches a process a test starts
// (test/helpers/clean-env.ts): every variable of the config schema and of the
// CLI is set here, in the test process, and a child shows what it got.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, defaultEngineCacheDir } from '../src/config.ts';
import { bareEnv, CLI_VARIABLES, cleanEnv } from './helpers/clean-env.ts';

const original = { ...process.env };
const PLANTED: Record<string, string> = {
  ...Object.fromEntries([...CONFIG_VARIABLES, ...CLI_VARIABLES].map((name) => [name, `from-the-shell-${name}`])),
  RATE_LIMIT_PER_MINUTE: '1',
  SECRETS_API_KEY: 'junk',
  NODE_OPTIONS: '--title=from-the-shell',
  // Not ours: cleanEnv keeps it, bareEnv does not.
  CLEAN_ENV_OTHER: 'kept',
};

beforeEach(() => {
  Object.assign(process.env, PLANTED);
});
afterEach(() => {
  for (const name of Object.keys(PLANTED)) {
    if (original[name] === undefined) delete process.env[name];
    else process.env[name] = original[name];
  }
});

async function childEnv(env: Record<string, string>): Promise<Record<string, string>> {
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', 'process.stdout.write(JSON.stringify(process.env))'], { env });
  return JSON.parse(stdout) as Record<string, string>;
}

describe('the environment of a test process', () => {
  it("cleanEnv: the shell minus every config and CLI variable, the run's engine cache, and what the test passes", async () => {
    expect(CONFIG_VARIABLES).toEqual(expect.arrayContaining(['MONGODB_URI', 'SECRETS_MASTER_KEY', 'LOG_LEVEL', 'RATE_LIMIT_PER_MINUTE', 'ENGINE_CACHE_DIR']));
    const env = await childEnv(cleanEnv({ LOG_LEVEL: 'debug' }));
    const leaked = Object.keys(PLANTED).filter((name) => name in env && !['LOG_LEVEL', 'ENGINE_CACHE_DIR', 'CLEAN_ENV_OTHER'].includes(name));
    expect(leaked).toEqual([]);
    expect(env.LOG_LEVEL).toBe('debug');
    // The folder the global setup cached the engine in, not the one set since.
    expect(env.ENGINE_CACHE_DIR).toBe(defaultEngineCacheDir(original));
    expect(env.CLEAN_ENV_OTHER).toBe('kept');
    expect(env.PATH).toBe(process.env.PATH);
  });

  it('bareEnv: PATH and what the test passes, nothing else', async () => {
    const env = await childEnv(bareEnv({ SECRETS_URL: 'http://127.0.0.1:9' }));
    expect(env).toEqual({ PATH: process.env.PATH, SECRETS_URL: 'http://127.0.0.1:9' });
  });
});
