// Wires the domain services onto one database connection.
import { type Connection, Types } from 'mongoose';
import { createAuditLog } from './audit/service.ts';
import { createAuthenticator } from './auth/authenticator.ts';
import { DEFAULT_LIMITS, type SecretLimits } from './config.ts';
import type { MasterKeyring } from './crypto/envelope.ts';
import { pingDatabase } from './db/connect.ts';
import { verifyMasterKeys } from './crypto/key-check.ts';
import { createModels, ensureIndexes, type Models } from './db/models/index.ts';
import { createEnvironmentService } from './environments/service.ts';
import { createEventHub, type SubscriptionLimits } from './events/hub.ts';
import { createEventLog } from './events/log.ts';
import { createWebhookDispatcher, type DispatchTiming } from './webhooks/dispatcher.ts';
import { createWebhookService } from './webhooks/service.ts';
import { createKeyService } from './keys/service.ts';
import { createTokenVerifier, type IssuerTiming } from './identities/oidc.ts';
import { createIdentityService } from './identities/service.ts';
import { createProjectService } from './projects/service.ts';
import { openMongoSecretStore } from './secrets/mongo/open.ts';
import { MONGO_STORE_MODELS } from './secrets/mongo/store.ts';
import { createMongoSealStore } from './secrets/mongo/seals.ts';
import type { SealStore } from './secrets/store.ts';
import { createWebhookSealStore } from './webhooks/seals.ts';
import { changeEventOf } from './secrets/audited.ts';
import { createSecretService, expiredEvent, type SecretServiceDeps } from './secrets/service.ts';

/** Everything that keeps sealed values, for master-key rotation: the secret store's and the webhooks' signing secrets. */
export function sealStoresOf(models: Models): SealStore[] {
  return [createMongoSealStore(models), createWebhookSealStore(models)];
}

export async function createServices(deps: {
  connection: Connection;
  keyring: MasterKeyring;
  limits?: SecretLimits;
  now?: () => Date;
  /** Told what a start-up migration had to change by force. */
  warn?: (message: string) => void;
  /** Hosts webhooks may reach although they are internal (WEBHOOK_ALLOWED_HOSTS). */
  webhookAllowedHosts?: readonly string[];
  /** The webhook dispatcher's waits (tests shorten them). */
  webhookTiming?: Partial<DispatchTiming>;
  /** Subscriptions open at once on this node, per key and in all. */
  subscriptions?: SubscriptionLimits;
  /** Told of what fails in the background (event followers, webhook sends). */
  onBackgroundError?: (err: Error) => void;
  /** How long change events are kept (EVENT_RETENTION_DAYS): how far back an environment's past is rebuilt. */
  eventRetentionMs?: number;
  /** Issuers that may be plain http or internal (OIDC_ALLOWED_ISSUERS). */
  oidcAllowedIssuers?: readonly string[];
  /** How long issuers' keys are kept, refreshed and waited for (tests shorten them). */
  oidcTiming?: Partial<IssuerTiming>;
  /** Told of each stored value that no master key of this node opens. */
  onUnreadableValue?: SecretServiceDeps['onUnreadableValue'];
}) {
  const models = createModels(deps.connection);
  const limits = deps.limits ?? DEFAULT_LIMITS;
  // The indexes of what the secret store does not keep; the store makes its own, after its migrations.
  await ensureIndexes(Object.fromEntries(Object.entries(models).filter(([name]) => !(MONGO_STORE_MODELS as readonly string[]).includes(name))));
  // Before any value is sealed: a node with another key under an id than the others refuses to start.
  await verifyMasterKeys(models, deps.keyring);
  const audit = createAuditLog({ models, now: deps.now });
  const now = deps.now ?? (() => new Date());
  const events = createEventLog({ models, now: deps.now });
  await events.migrateHeads();
  const onExpired = async (secret: Parameters<typeof expiredEvent>[0]) => {
    const entry = expiredEvent(secret);
    await Promise.all([audit.record(entry), events.append(changeEventOf(entry, 'expired'))]);
  };
  const store = await openMongoSecretStore({ connection: deps.connection, models, limits, now, onExpired, warn: deps.warn ?? (() => {}) });
  const policy = { allowedHosts: new Set((deps.webhookAllowedHosts ?? []).map((host) => host.toLowerCase())) };
  const webhookDeps = { models, keyring: deps.keyring, log: events, policy, now: deps.now };
  const authenticator = createAuthenticator({ models, now: deps.now });
  /** A key that set a personal override is marked so, and read again here at its next request (elsewhere within the key cache's 2 s). */
  const noteOverrides = async (keyId: string) => {
    await models.ApiKey.collection.updateOne({ _id: new Types.ObjectId(keyId) }, { $set: { overrides: true } });
    authenticator.forget(keyId);
  };
  const keys = createKeyService({ models, environments: store.environments, audit, now: deps.now });
  const issuerPolicy = { allowedIssuers: deps.oidcAllowedIssuers ?? [] };
  return {
    models,
    /** The secret store the service writes through (tests reach stored values through its seam). */
    store,
    audit,
    events,
    hub: createEventHub({ log: events, onError: deps.onBackgroundError, limits: deps.subscriptions }),
    webhooks: createWebhookService({ ...webhookDeps, limit: limits.webhooksPerProject }),
    dispatcher: createWebhookDispatcher({
      ...webhookDeps,
      timing: deps.webhookTiming,
      onError: deps.onBackgroundError,
      lineageOf: (projectId, environment) => store.environments.lineage({ projectId, environment }),
    }),
    authenticator,
    secrets: createSecretService({
      store,
      keyring: deps.keyring,
      audit,
      events,
      now,
      limits,
      noteOverrides,
      onUnreadableValue: deps.onUnreadableValue,
      historyWindowMs: deps.eventRetentionMs,
    }),
    environments: createEnvironmentService({ environments: store.environments, audit, now, limit: limits.environmentsPerProject }),
    projects: createProjectService({ models, now: deps.now }),
    keys,
    identities: createIdentityService({
      models,
      keys,
      environments: store.environments,
      audit,
      authenticator,
      verifier: createTokenVerifier({ policy: issuerPolicy, timing: deps.oidcTiming, now: deps.now }),
      policy: issuerPolicy,
      now: deps.now,
    }),
    pingDatabase: () => pingDatabase(deps.connection),
  };
}
