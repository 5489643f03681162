// Unit tests of configuration parsing: defaults, rules, and messages that never echo a value.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, projectRoot } from '../src/config.ts';

const key = Buffer.alloc(32, 7).toString('base64');

describe('loadConfig', () => {
  it('has working defaults for a local start', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ host: '127.0.0.1', port: 4000, logLevel: 'info', embeddedEngine: 'auto', bodyLimit: 1_048_576 });
    expect(config.masterKeys).toBeUndefined();
    expect(config.dataDir).toMatch(/\.data$/);
    expect(Object.isFrozen(config)).toBe(true);
  });

  // Every variable of the README's configuration table, each set to a value
  // other than its default, and what the service is configured with then.
  const EVERY: Record<string, string> = {
    HOST: '0.0.0.0',
    PORT: '8080',
    MONGODB_URI: 'mongodb://db:27017/prod',
    SECRETS_MASTER_KEY: key,
    ADMIN_TOKEN: 'a'.repeat(32),
    DATA_DIR: '/tmp/x',
    EMBEDDED_ENGINE: 'ferretdb',
    ENGINE_CACHE_DIR: '/tmp/c',
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    BODY_LIMIT_BYTES: '2048',
    SECRET_VERSIONS_KEPT: '3',
    SECRET_RECOVERY_DAYS: '0.5',
    PROJECT_SECRET_LIMIT: '20',
    PROJECT_DELETED_LIMIT: '30',
    RATE_LIMIT_PER_MINUTE: '0',
    AUTH_FAILURE_LIMIT_PER_MINUTE: '7',
    AUDIT_RETENTION_DAYS: '2',
    SECRET_PRESETS: 'acme=ACME_TOKEN,openai=OPENAI_KEY',
    SWEEP_INTERVAL_SECONDS: '5',
    EVENT_RETENTION_DAYS: '3',
    WEBHOOK_ALLOWED_HOSTS: ' 127.0.0.1 , Hooks.Internal ',
    OIDC_ALLOWED_ISSUERS: 'http://127.0.0.1:8080, https://kubernetes.default.svc',
    ENVIRONMENTS_PER_PROJECT_MAX: '4',
    WEBHOOKS_PER_PROJECT_MAX: '5',
    REFERENCE_EXPANSION_MAX_CHARS: '5000',
    REFERENCES_PER_REQUEST_MAX: '40',
    OVERLOAD_EVENT_LOOP_DELAY_MS: '250',
    SUBSCRIPTIONS_PER_KEY_MAX: '3',
    SUBSCRIPTIONS_PER_NODE_MAX: '9',
  };

  it("parses every variable of the README's table", () => {
    const config = loadConfig(EVERY);
    expect({ ...config, masterKeys: undefined }).toEqual({
      host: '0.0.0.0',
      port: 8080,
      mongodbUri: 'mongodb://db:27017/prod',
      masterKeys: undefined,
      adminToken: 'a'.repeat(32),
      dataDir: '/tmp/x',
      embeddedEngine: 'ferretdb',
      engineCacheDir: '/tmp/c',
      logLevel: 'warn',
      logFormat: 'json',
      bodyLimit: 2048,
      rateLimitPerMinute: 0,
      authFailureLimitPerMinute: 7,
      auditRetentionMs: 2 * 86_400_000,
      sweepIntervalMs: 5_000,
      eventRetentionMs: 3 * 86_400_000,
      webhookAllowedHosts: ['127.0.0.1', 'Hooks.Internal'],
      oidcAllowedIssuers: ['http://127.0.0.1:8080', 'https://kubernetes.default.svc'],
      overload: { maxEventLoopDelayMs: 250 },
      subscriptions: { perKey: 3, perNode: 9 },
      secretPresets: [
        { provider: 'acme', envVarName: 'ACME_TOKEN' },
        { provider: 'openai', envVarName: 'OPENAI_KEY' },
      ],
      limits: {
        versionsKept: 3,
        recoveryWindowMs: 43_200_000,
        projectSecretLimit: 20,
        projectDeletedLimit: 30,
        environmentsPerProject: 4,
        webhooksPerProject: 5,
        referenceExpansionMax: 5000,
        referencesPerRequestMax: 40,
      },
    });
    expect(config.masterKeys).toEqual([['default', Buffer.alloc(32, 7)]]);
  });

  it("the README's table and this test name the same variables", async () => {
    const readme = await readFile(path.join(projectRoot, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('| variable | default | meaning |'));
    const documented = [...table.slice(0, table.indexOf('\n\n')).matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    // SECRETS_MASTER_KEYS is the alternative to SECRETS_MASTER_KEY: tested below.
    expect(documented.filter((name) => name !== 'SECRETS_MASTER_KEYS').sort()).toEqual(Object.keys(EVERY).sort());
  });

  it('reads a key ring from SECRETS_MASTER_KEYS, the first key active', () => {
    const other = Buffer.alloc(32, 9).toString('base64');
    const config = loadConfig({ SECRETS_MASTER_KEYS: `new-2027:${other}, old_1:${key}`, MONGODB_URI: 'mongodb://db/x' });
    expect(config.masterKeys).toEqual([
      ['new-2027', Buffer.alloc(32, 9)],
      ['old_1', Buffer.alloc(32, 7)],
    ]);
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
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }, /LOG_LEVEL: Invalid option: expected one of "fatal"\|"error"/],
    ['LOG_FORMAT', { LOG_FORMAT: 'xml' }, /LOG_FORMAT: Invalid option: expected one of "auto"\|"json"\|"pretty"/],
    ['EMBEDDED_ENGINE', { EMBEDDED_ENGINE: 'sqlite' }, /EMBEDDED_ENGINE: Invalid option: expected one of "auto"\|"mongod"\|"ferretdb"/],
    ['ADMIN_TOKEN', { ADMIN_TOKEN: 'short' }, /ADMIN_TOKEN: must be at least 16/],
    ['BODY_LIMIT_BYTES', { BODY_LIMIT_BYTES: '0' }, /BODY_LIMIT_BYTES: must be a positive whole number/],
    ['BODY_LIMIT_BYTES', { BODY_LIMIT_BYTES: '1e6' }, /BODY_LIMIT_BYTES: must be a positive whole number/],
    ['SECRET_VERSIONS_KEPT', { SECRET_VERSIONS_KEPT: '-1' }, /SECRET_VERSIONS_KEPT: must be a positive whole number/],
    ['SECRET_RECOVERY_DAYS', { SECRET_RECOVERY_DAYS: 'a week' }, /SECRET_RECOVERY_DAYS: must be a number of days/],
    ['PROJECT_SECRET_LIMIT', { PROJECT_SECRET_LIMIT: '0' }, /PROJECT_SECRET_LIMIT: must be a positive whole number/],
    ['PROJECT_DELETED_LIMIT', { PROJECT_DELETED_LIMIT: '2.5' }, /PROJECT_DELETED_LIMIT: must be a positive whole number/],
    ['RATE_LIMIT_PER_MINUTE', { RATE_LIMIT_PER_MINUTE: 'off' }, /RATE_LIMIT_PER_MINUTE: must be a whole number \(0 turns rate limiting off\)/],
    ['AUTH_FAILURE_LIMIT_PER_MINUTE', { AUTH_FAILURE_LIMIT_PER_MINUTE: '-5' }, /AUTH_FAILURE_LIMIT_PER_MINUTE: must be a whole number/],
    ['AUDIT_RETENTION_DAYS', { AUDIT_RETENTION_DAYS: '0' }, /AUDIT_RETENTION_DAYS: must be more than 0 days/],
    ['EVENT_RETENTION_DAYS', { EVENT_RETENTION_DAYS: 'a week' }, /EVENT_RETENTION_DAYS: must be a number of days/],
    ['EVENT_RETENTION_DAYS', { EVENT_RETENTION_DAYS: '0.001' }, /EVENT_RETENTION_DAYS: must be at least 0.01 days/],
    ['SWEEP_INTERVAL_SECONDS', { SWEEP_INTERVAL_SECONDS: '0' }, /SWEEP_INTERVAL_SECONDS: must be a positive whole number/],
    ['SECRET_PRESETS', { SECRET_PRESETS: 'openai' }, /SECRET_PRESETS: must be provider=ENV_VAR_NAME/],
    ['SECRET_PRESETS', { SECRET_PRESETS: 'a=A_KEY,a=B_KEY' }, /SECRET_PRESETS: names the provider "a" twice/],
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
