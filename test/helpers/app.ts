// Starts a real node (startNode, as `npm start` does) on a database of its own
// on the shared engine, listening on a free loopback port, and captures its logs.
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { DEFAULT_LIMITS, type SecretLimits } from '../../src/config.ts';
import { createKeyring, generateKey, sealValue } from '../../src/crypto/envelope.ts';
import { connectDatabase } from '../../src/db/connect.ts';
import { createLogger } from '../../src/logger.ts';
import { startNode } from '../../src/node.ts';
import { DEFAULT_PRESETS, type SecretPreset } from '../../src/secrets/presets.ts';
import type { DispatchTiming } from '../../src/webhooks/dispatcher.ts';
import type { IssuerTiming } from '../../src/identities/oidc.ts';
import { waitUntil } from './service-process.ts';

export interface TestAppOptions {
  readonly logLevel?: string;
  readonly masterKey?: Buffer;
  readonly bodyLimit?: number;
  readonly now?: () => Date;
  readonly limits?: Partial<SecretLimits>;
  readonly rateLimitPerMinute?: number;
  /** Another engine than the run's shared one. */
  readonly mongoUri?: string;
  /** The master key ring, active key first (default: one fresh key). */
  readonly masterKeys?: [string, Buffer][];
  /** An existing database (another app's) instead of a fresh one. */
  readonly dbName?: string;
  /** Refused authentications per address and minute (default 300, the service's). */
  readonly authFailureLimitPerMinute?: number;
  /** The v1 door's provider presets (default: the shipped list). */
  readonly secretPresets?: readonly SecretPreset[];
  /** Subscriptions open at once, per key and per node (default: the service's). */
  readonly subscriptions?: { readonly perKey: number; readonly perNode: number };
  /** Shed requests past this event-loop delay (default: never), sampled this often. */
  readonly overload?: { readonly maxEventLoopDelayMs: number; readonly sampleIntervalMs?: number };
  /** Run the webhook dispatcher (with these waits), as a node does; off by default, so that tests can count commands. */
  readonly webhooks?: { readonly allowedHosts?: readonly string[]; readonly timing?: Partial<DispatchTiming> };
  /** Identities' issuers that may be http or loopback (OIDC_ALLOWED_ISSUERS), and the issuer key cache's waits. */
  readonly oidc?: { readonly allowedIssuers?: readonly string[]; readonly timing?: Partial<IssuerTiming> };
}

export async function startTestApp(options: TestAppOptions = {}) {
  const dbName = options.dbName ?? `t_${randomBytes(6).toString('hex')}`;
  const connection = await connectDatabase(options.mongoUri ?? inject('mongoUri'), { dbName });
  const masterKey = options.masterKey ?? generateKey();
  const keyring = options.masterKeys ? createKeyring(options.masterKeys[0]![0], options.masterKeys) : createKeyring('default', [['default', masterKey]]);
  const logs: string[] = [];
  const logger = createLogger({
    level: options.logLevel ?? 'trace',
    destination: { write: (line: string) => void logs.push(line) },
  });
  const adminToken = randomBytes(24).toString('hex');
  const routes: import('fastify').RouteOptions[] = [];
  const node = await startNode({
    connection,
    logger,
    services: {
      keyring,
      now: options.now,
      limits: { ...DEFAULT_LIMITS, ...options.limits },
      onUnreadableValue: (version) => logger.error(version, "a stored value cannot be opened with this node's master keys"),
      webhookAllowedHosts: options.webhooks?.allowedHosts ?? ['127.0.0.1'],
      webhookTiming: options.webhooks?.timing,
      oidcAllowedIssuers: options.oidc?.allowedIssuers,
      oidcTiming: options.oidc?.timing,
      subscriptions: options.subscriptions,
      onBackgroundError: (err) => logger.warn({ err: { type: err.name, message: err.message } }, 'background work failed'),
    },
    http: {
      bodyLimit: options.bodyLimit ?? 1_048_576,
      adminToken,
      rateLimitPerMinute: options.rateLimitPerMinute ?? 0,
      secretPresets: options.secretPresets ?? DEFAULT_PRESETS,
      authFailureLimitPerMinute: options.authFailureLimitPerMinute ?? 300,
      overload: options.overload,
    },
    listen: { host: '127.0.0.1', port: 0 },
    dispatch: options.webhooks !== undefined,
    onRoute: (route) => void routes.push(route),
  });
  const { services, metrics, baseUrl } = node;

  return {
    baseUrl,
    logs,
    adminToken,
    masterKey,
    keyring,
    connection,
    models: services.models,
    /** The secret store the node's service writes through. */
    store: services.store,
    secrets: services.secrets,
    /** The key service (its sweep forgets identities' long-expired keys). */
    keys: services.keys,
    dispatcher: services.dispatcher,
    eventLog: services.events,
    audit: services.audit,
    /**
     * Resolves once exactly `count` subscriptions on this node have their
     * cursor (those ended have left): events made after it reach each one.
     */
    async subscribed(count: number): Promise<void> {
      if (!(await waitUntil(() => services.hub.following() === count, 10_000)))
        throw new Error(`subscribed: ${services.hub.following()} subscriptions have their cursor after 10 s, not ${count}`);
    },
    metrics,
    /** Database commands sent so far (from the driver's command monitoring). */
    async dbCommands(): Promise<number> {
      const metric = await metrics.dbCommands.get();
      return metric.values.reduce((sum, v) => sum + v.value, 0);
    },
    /** Every route the app registered. */
    routes,

    /** Creates a project through the real admin endpoint. */
    async createProject(name = 'test project'): Promise<{ id: string; name: string; apiKey: string }> {
      const res = await fetch(`${baseUrl}/admin/projects`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name }),
      });
      if (res.status !== 201) throw new Error(`createProject: ${res.status} ${await res.text()}`);
      return (await res.json()) as { id: string; name: string; apiKey: string };
    },

    /**
     * Makes the live secret `name` (of the "default" environment of any
     * project, at version 1) unreadable here: its value sealed again under
     * another key with the id `keyId`, wherever the store keeps it, as a node
     * with another key under that id would write it. Returns the secret's id.
     * Through the store's seam for rotation: the store keeps what it keeps.
     */
    async sealUnderForeignKey(name: string, keyId: string): Promise<string> {
      const { seals } = services.store;
      const all = await seals.under([...keyring.keys.keys()], 100_000, []);
      const projects = [...new Set(all.map((seal) => seal.value.context.projectId))];
      const found = await Promise.all(projects.map((projectId) => services.store.findLive({ projectId, environment: 'default' }, { name }, new Date())));
      const secret = found.find((s) => s !== null);
      if (!secret) throw new Error(`sealUnderForeignKey: no live secret ${name}`);
      const foreign = createKeyring(keyId, [[keyId, randomBytes(32)]]);
      const mine = all.filter((seal) => seal.value.context.secretId === secret.id && seal.value.context.version === 1);
      await seals.replace(mine.map((seal) => ({ seal, sealed: sealValue(foreign, 'foreign-MARKER', seal.value.context) })));
      return secret.id;
    },

    /** How many documents each secrets collection holds: to check that a failed call stored nothing. */
    async storedCounts() {
      const { Secret, SecretVersion, SecretName, SecretFate, IdempotencyKey } = services.models;
      return {
        secrets: await Secret.countDocuments({}),
        // A quota slot is held by a live secret's document; a leaked one shows here.
        slots: await Secret.countDocuments({ slot: { $ne: null } }),
        versions: await SecretVersion.countDocuments({}),
        names: await SecretName.countDocuments({}),
        fates: await SecretFate.countDocuments({}),
        idempotencyKeys: await IdempotencyKey.countDocuments({}),
      };
    },

    async close(closeOptions: { keepDatabase?: boolean } = {}) {
      await node.close();
      if (!closeOptions.keepDatabase) await connection.dropDatabase().catch(() => {});
      await connection.close();
    },
  };
}

export type TestApp = Awaited<ReturnType<typeof startTestApp>>;
