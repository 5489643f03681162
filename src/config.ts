// The service's configuration: parsed once at start-up from the environment,
// frozen, and passed down. This is the only module that reads process.env.
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DEFAULT_PRESETS, presetListSchema, type SecretPreset } from './secrets/presets.ts';

/** The package root (the folder holding package.json), wherever we run from. */
export const projectRoot = fileURLToPath(new URL('..', import.meta.url));

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const ENGINES = ['auto', 'mongod', 'ferretdb'] as const;

const MAKE_MASTER_KEY = 'openssl rand -base64 32';

/** 32 bytes in canonical base64, as `openssl rand -base64 32` prints them. */
export const masterKeySchema = z.string().transform((text, ctx) => {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32 || key.toString('base64') !== text.trim()) {
    ctx.addIssue({
      code: 'custom',
      message: `must be 32 random bytes in base64 (make one with: ${MAKE_MASTER_KEY})`,
    });
    return z.NEVER;
  }
  return key;
});

const port = z
  .string()
  .regex(/^\d{1,5}$/, 'must be a whole number from 0 to 65535')
  .transform(Number)
  .refine((n) => n <= 65535, 'must be a whole number from 0 to 65535');

const positiveInt = z
  .string()
  .regex(/^[1-9]\d*$/, 'must be a positive whole number')
  .transform(Number);

const envSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: port.default(4000),
  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\/\S+$/, 'must be a mongodb:// or mongodb+srv:// connection string')
    .optional(),
  SECRETS_MASTER_KEY: masterKeySchema.optional(),
  SECRETS_MASTER_KEYS: z
    .string()
    .transform((text, ctx) => {
      const entries: [string, Buffer][] = [];
      for (const part of text
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)) {
        const match = part.match(/^([A-Za-z0-9_-]{1,32}):(.+)$/);
        const key = match ? masterKeySchema.safeParse(match[2]) : undefined;
        if (!match || !key?.success) {
          ctx.addIssue({ code: 'custom', message: `must be id:BASE64[,id:BASE64...], ids of 1–32 A-Za-z0-9_- and keys of 32 bytes (${MAKE_MASTER_KEY})` });
          return z.NEVER;
        }
        if (entries.some(([id]) => id === match[1])) {
          ctx.addIssue({ code: 'custom', message: `names the key id "${match[1]}" twice` });
          return z.NEVER;
        }
        entries.push([match[1]!, key.data]);
      }
      if (entries.length === 0) {
        ctx.addIssue({ code: 'custom', message: 'names no key' });
        return z.NEVER;
      }
      return entries;
    })
    .optional(),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters (make one with: openssl rand -hex 32)').optional(),
  DATA_DIR: z.string().default(path.join(projectRoot, '.data')),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  EMBEDDED_ENGINE: z.enum(ENGINES).default('auto'),
  ENGINE_CACHE_DIR: z.string().optional(),
  XDG_CACHE_HOME: z.string().optional(),
  BODY_LIMIT_BYTES: positiveInt.default(1_048_576),
  SECRET_VERSIONS_KEPT: positiveInt.default(10),
  SECRET_RECOVERY_DAYS: z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'must be a number of days (0: purge at once)')
    .transform(Number)
    .default(7),
  PROJECT_SECRET_LIMIT: positiveInt.default(500),
  PROJECT_DELETED_LIMIT: positiveInt.default(1000),
  ENVIRONMENTS_PER_PROJECT_MAX: positiveInt.default(50),
  WEBHOOKS_PER_PROJECT_MAX: positiveInt.default(20),
  REFERENCE_EXPANSION_MAX_CHARS: positiveInt.default(65_536),
  REFERENCES_PER_REQUEST_MAX: positiveInt.default(10_000),
  RATE_LIMIT_PER_MINUTE: z.string().regex(/^\d+$/, 'must be a whole number (0 turns rate limiting off)').transform(Number).default(1200),
  SECRET_PRESETS: presetListSchema.optional(),
  AUTH_FAILURE_LIMIT_PER_MINUTE: z.string().regex(/^\d+$/, 'must be a whole number (0 turns the limit off)').transform(Number).default(300),
  AUDIT_RETENTION_DAYS: z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'must be a number of days')
    .transform(Number)
    .refine((d) => d > 0, 'must be more than 0 days')
    .default(90),
  // At least about a quarter of an hour: far above the 10 s a node trusts what it knows of a project's event numbers.
  EVENT_RETENTION_DAYS: z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'must be a number of days')
    .transform(Number)
    .refine((d) => d >= 0.01, 'must be at least 0.01 days')
    .default(7),
  WEBHOOK_ALLOWED_HOSTS: z.string().optional(),
  OIDC_ALLOWED_ISSUERS: z
    .string()
    .refine(
      (text) => text.split(',').every((part) => part.trim() === '' || URL.canParse(part.trim())),
      'must be issuer URLs separated by commas (http://127.0.0.1:8080, https://kubernetes.default.svc)',
    )
    .optional(),
  SWEEP_INTERVAL_SECONDS: positiveInt.default(60),
  SUBSCRIPTIONS_PER_KEY_MAX: positiveInt.default(20),
  SUBSCRIPTIONS_PER_NODE_MAX: positiveInt.default(2000),
  OVERLOAD_EVENT_LOOP_DELAY_MS: z.string().regex(/^\d+$/, 'must be a whole number of milliseconds (0 turns load shedding off)').transform(Number).default(1000),
});

/** The name of every environment variable the service reads. */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape) as readonly (keyof typeof envSchema.shape)[];

export type Config = Readonly<{
  host: string;
  port: number;
  mongodbUri: string | undefined;
  /**
   * The master key ring, the active key first: SECRETS_MASTER_KEYS, or
   * SECRETS_MASTER_KEY alone as `default`. Absent only with an embedded
   * engine: then a development key is kept in dataDir.
   */
  masterKeys: readonly (readonly [string, Buffer])[] | undefined;
  adminToken: string | undefined;
  dataDir: string;
  logLevel: (typeof LOG_LEVELS)[number];
  /** `auto`: readable lines on a terminal, JSON lines otherwise. */
  logFormat: 'auto' | 'json' | 'pretty';
  embeddedEngine: (typeof ENGINES)[number];
  engineCacheDir: string;
  bodyLimit: number;
  limits: SecretLimits;
  /** Requests per API key (or address, without one) per minute; 0: no limit. */
  rateLimitPerMinute: number;
  /** The v1 door's provider presets. */
  secretPresets: readonly SecretPreset[];
  /** Refused authentications per client address per minute before 429; 0: no limit. */
  authFailureLimitPerMinute: number;
  /** How long audit events are kept. */
  auditRetentionMs: number;
  /** How long change events are kept (subscriptions and webhooks resume within it). */
  eventRetentionMs: number;
  /** Hosts webhooks may reach although they are loopback, private or link-local. */
  webhookAllowedHosts: readonly string[];
  /** Identities' issuers that may be plain http, or loopback, private or link-local (a test's, a local cluster's). */
  oidcAllowedIssuers: readonly string[];
  /** How often this node sweeps (expiries, purges, idempotency keys, audit retention). */
  sweepIntervalMs: number;
  /** Subscriptions open at once on a node, per API key and in all. */
  subscriptions: { readonly perKey: number; readonly perNode: number };
  /** Past this mean event-loop delay requests are shed (503, Retry-After); 0: never. */
  overload: { readonly maxEventLoopDelayMs: number };
}>;

export interface SecretLimits {
  /** Value versions kept per secret; older ones are pruned. */
  readonly versionsKept: number;
  /** How long a deleted secret can be restored; 0 purges at once. */
  readonly recoveryWindowMs: number;
  /** Live secrets per project. */
  readonly projectSecretLimit: number;
  /** Deleted (restorable) secrets kept per project: past it the oldest deletion is purged. */
  readonly projectDeletedLimit: number;
  /** Environments per project ("default" counted). */
  readonly environmentsPerProject: number;
  /** Webhooks per project. */
  readonly webhooksPerProject: number;
  /** Characters in one value with its references expanded. */
  readonly referenceExpansionMax: number;
  /** References followed in one request (a repeated one is read and expanded once, but counts each time). */
  readonly referencesPerRequestMax: number;
}

export const DEFAULT_LIMITS: SecretLimits = Object.freeze({
  versionsKept: 10,
  recoveryWindowMs: 7 * 24 * 3600 * 1000,
  projectSecretLimit: 500,
  projectDeletedLimit: 1000,
  environmentsPerProject: 50,
  webhooksPerProject: 20,
  referenceExpansionMax: 65_536,
  referencesPerRequestMax: 10_000,
});

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The folder where the embedded engine's binary is cached between runs and clones. */
export function defaultEngineCacheDir(env: { ENGINE_CACHE_DIR?: string; XDG_CACHE_HOME?: string }): string {
  if (env.ENGINE_CACHE_DIR) return path.resolve(env.ENGINE_CACHE_DIR);
  return path.join(env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'secrets-service');
}

/**
 * Parses the environment. Throws a ConfigError whose message lists every bad
 * variable by name and rule; it never echoes a value (some are secrets).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable (`PORT=`) means "not set", as in most shells' habits.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.SECRETS_MASTER_KEY && e.SECRETS_MASTER_KEYS) {
    throw new ConfigError('Set SECRETS_MASTER_KEYS or SECRETS_MASTER_KEY, not both (SECRETS_MASTER_KEY=K means SECRETS_MASTER_KEYS=default:K).');
  }
  const masterKeys = e.SECRETS_MASTER_KEYS ?? (e.SECRETS_MASTER_KEY ? [['default', e.SECRETS_MASTER_KEY] as const] : undefined);
  if (e.MONGODB_URI && !masterKeys) {
    throw new ConfigError(
      'SECRETS_MASTER_KEY is required when MONGODB_URI is set: it encrypts every stored secret, ' +
        'so it must be yours and kept safe.\n' +
        `  Make one with:  ${MAKE_MASTER_KEY}\n` +
        '  then start with: SECRETS_MASTER_KEY=<that output> npm start',
    );
  }
  return Object.freeze({
    host: e.HOST,
    port: e.PORT,
    mongodbUri: e.MONGODB_URI,
    masterKeys,
    adminToken: e.ADMIN_TOKEN,
    dataDir: path.resolve(e.DATA_DIR),
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    embeddedEngine: e.EMBEDDED_ENGINE,
    engineCacheDir: defaultEngineCacheDir(e),
    bodyLimit: e.BODY_LIMIT_BYTES,
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    secretPresets: Object.freeze(e.SECRET_PRESETS ?? DEFAULT_PRESETS),
    authFailureLimitPerMinute: e.AUTH_FAILURE_LIMIT_PER_MINUTE,
    auditRetentionMs: Math.round(e.AUDIT_RETENTION_DAYS * 24 * 3600 * 1000),
    eventRetentionMs: Math.round(e.EVENT_RETENTION_DAYS * 24 * 3600 * 1000),
    webhookAllowedHosts: (e.WEBHOOK_ALLOWED_HOSTS ?? '')
      .split(',')
      .map((host) => host.trim())
      .filter(Boolean),
    oidcAllowedIssuers: (e.OIDC_ALLOWED_ISSUERS ?? '')
      .split(',')
      .map((issuer) => issuer.trim())
      .filter(Boolean),
    sweepIntervalMs: e.SWEEP_INTERVAL_SECONDS * 1000,
    subscriptions: Object.freeze({ perKey: e.SUBSCRIPTIONS_PER_KEY_MAX, perNode: e.SUBSCRIPTIONS_PER_NODE_MAX }),
    overload: Object.freeze({ maxEventLoopDelayMs: e.OVERLOAD_EVENT_LOOP_DELAY_MS }),
    limits: Object.freeze({
      versionsKept: e.SECRET_VERSIONS_KEPT,
      recoveryWindowMs: Math.round(e.SECRET_RECOVERY_DAYS * 24 * 3600 * 1000),
      projectSecretLimit: e.PROJECT_SECRET_LIMIT,
      projectDeletedLimit: e.PROJECT_DELETED_LIMIT,
      environmentsPerProject: e.ENVIRONMENTS_PER_PROJECT_MAX,
      webhooksPerProject: e.WEBHOOKS_PER_PROJECT_MAX,
      referenceExpansionMax: e.REFERENCE_EXPANSION_MAX_CHARS,
      referencesPerRequestMax: e.REFERENCES_PER_REQUEST_MAX,
    }),
  });
}
