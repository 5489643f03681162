import type { Connection } from 'mongoose';
import { apiKeyModel } from './api-key.ts';
import { auditEventModel } from './audit-event.ts';
import { environmentModel } from './environment.ts';
import { idempotencyKeyModel } from './idempotency-key.ts';
import { identityModel } from './identity.ts';
import { projectModel } from './project.ts';
import { secretModel } from './secret.ts';
import { masterKeyCheckModel } from './master-key-check.ts';
import { secretEventHeadModel, secretEventModel } from './secret-event.ts';
import { secretFateModel } from './secret-fate.ts';
import { secretLayerModels } from './secret-layer.ts';
import { secretNameModel } from './secret-name.ts';
import { secretSnapshotModel } from './secret-snapshot.ts';
import { secretVersionModel } from './secret-version.ts';
import { webhookModels } from './webhook.ts';

export function createModels(connection: Connection) {
  return {
    Project: projectModel(connection),
    ApiKey: apiKeyModel(connection),
    Identity: identityModel(connection),
    Secret: secretModel(connection),
    Environment: environmentModel(connection),
    IdempotencyKey: idempotencyKeyModel(connection),
    AuditEvent: auditEventModel(connection),
    SecretVersion: secretVersionModel(connection),
    SecretFate: secretFateModel(connection),
    SecretName: secretNameModel(connection),
    MasterKeyCheck: masterKeyCheckModel(connection),
    SecretEvent: secretEventModel(connection),
    SecretEventHead: secretEventHeadModel(connection),
    ...secretLayerModels(connection),
    SecretSnapshot: secretSnapshotModel(connection),
    ...webhookModels(connection),
  };
}

export type Models = ReturnType<typeof createModels>;

/**
 * Creates every index before the service takes requests: the unique ones
 * decide races, so they must exist before the first write, not "soon after"
 * as mongoose's background autoIndex would have it.
 */
export async function ensureIndexes(models: Partial<Models>): Promise<void> {
  for (const model of Object.values(models)) await model.createIndexes();
}
