// Unit tests of configuration parsing: defaults, rules, and messages that never echo a value.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

const key = Buffer.alloc(32, 7).toString('base64');

describe('loadConfig', () => {
  it('has working defaults for a local start', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ host: '127.0.0.1', port: 4000, logLevel: 'info', embeddedEngine: 'auto', bodyLimit: 1_048_576 });
    expect(config.masterKeys).toBeUndefined();
    expect(config.dataDir).toMatch(/\.data$/);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('parses every variable it knows', () => {
    const config = loadConfig({
      HOST: '0.0.0.0', PORT: '8080', MONGODB_URI: 'mongodb://db:27017/prod', SECRETS_MASTER_KEY: key,
      ADMIN_TOKEN: 'a'.repeat(32), DATA_DIR: '/tmp/x', LOG_LEVEL: 'warn', EMBEDDED_ENGINE: 'ferretdb', ENGINE_CACHE_DIR: '/tmp/c',
    });
    expect(config).toMatchObject({ host: '0.0.0.0', port: 8080, mongodbUri: 'mongodb://db:27017/prod', adminToken: 'a'.repeat(32), dataDir: '/tmp/x', logLevel: 'warn', embeddedEngine: 'ferretdb', engineCacheDir: '/tmp/c' });
    expect(config.masterKeys).toEqual([['default', Buffer.alloc(32, 7)]]);
  });

  it('reads a key ring from SECRETS_MASTER_KEYS, the first key active', () => {
    const other = Buffer.alloc(32, 9).toString('base64');
    const config = loadConfig({ SECRETS_MASTER_KEYS: `new-2027:${other}, old_1:${key}`, MONGODB_URI: 'mongodb://db/x' });
    expect(config.masterKeys).toEqual([['new-2027', Buffer.alloc(32, 9)], ['old_1', Buffer.alloc(32, 7)]]);
    for (const bad of [`x:${key},x:${other}`, 'nokey', `:${key}`, `${'i'.repeat(33)}:${key}`, `a:${Buffer.alloc(8).toString('base64')}`, ',']) {
      expect(() => loadConfig({ SECRETS_MASTER_KEYS: bad })).toThrow(/SECRETS_MASTER_KEYS/);
    }
    expect(() => loadConfig({ SECRETS_MASTER_KEYS: `a:${key}`, SECRETS_MASTER_KEY: key })).toThrow(/not both/);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', MONGODB_URI: '' }).port).toBe(4000);
  });

  it.each([
    ['PORT', { PORT: 'abc' }, /PORT: must be a whole number/],
    ['PORT', { PORT: '70000' }, /PORT: must be a whole number/],
    ['SECRETS_MASTER_KEY', { SECRETS_MASTER_KEY: Buffer.alloc(16).toString('base64') }, /SECRETS_MASTER_KEY: must be 32 random bytes.*openssl rand -base64 32/],
    ['SECRETS_MASTER_KEY', { SECRETS_MASTER_KEY: 'not base64 at all!' }, /SECRETS_MASTER_KEY: must be 32/],
    ['MONGODB_URI', { MONGODB_URI: 'postgres://x' }, /MONGODB_URI: must be a mongodb/],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    ['ADMIN_TOKEN', { ADMIN_TOKEN: 'short' }, /ADMIN_TOKEN: must be at least 16/],
  ])('refuses a bad %s with a readable ConfigError', (_name, env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('lists every bad variable at once and never echoes a value', () => {
    const secretish = 'c2VjcmV0LXNlY3JldC1zZWNyZXQ=';
    try {
      loadConfig({ PORT: 'x', SECRETS_MASTER_KEY: secretish, ADMIN_TOKEN: 'tiny-token' });
      expect.unreachable();
    } catch (err) {
      const message = (err as Error).message;
      expect(message).toMatch(/PORT/);
      expect(message).toMatch(/SECRETS_MASTER_KEY/);
      expect(message).toMatch(/ADMIN_TOKEN/);
      expect(message).not.toContain(secretish);
      expect(message).not.toContain('tiny-token');
    }
  });

  it('refuses MONGODB_URI without SECRETS_MASTER_KEY, saying how to make one', () => {
    expect(() => loadConfig({ MONGODB_URI: 'mongodb://localhost:27017' })).toThrow(
      /SECRETS_MASTER_KEY is required when MONGODB_URI is set[\s\S]*openssl rand -base64 32/,
    );
    expect(loadConfig({ MONGODB_URI: 'mongodb://localhost:27017', SECRETS_MASTER_KEY: key }).mongodbUri).toBe('mongodb://localhost:27017');
  });
});
