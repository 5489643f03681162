import type { Connection } from 'mongoose';
import { apiKeyModel } from './api-key.ts';
import { auditEventModel } from './audit-event.ts';
import { idempotencyKeyModel } from './idempotency-key.ts';
import { projectModel } from './project.ts';
import { secretModel } from './secret.ts';
import { secretFateModel } from './secret-fate.ts';
import { secretNameModel } from './secret-name.ts';
import { secretSlotModel } from './secret-slot.ts';
import { secretVersionModel } from './secret-version.ts';

export function createModels(connection: Connection) {
  return {
    Project: projectModel(connection),
    ApiKey: apiKeyModel(connection),
    Secret: secretModel(connection),
    SecretName: secretNameModel(connection),
    SecretSlot: secretSlotModel(connection),
    IdempotencyKey: idempotencyKeyModel(connection),
    AuditEvent: auditEventModel(connection),
    SecretVersion: secretVersionModel(connection),
    SecretFate: secretFateModel(connection),
  };
}

export type Models = ReturnType<typeof createModels>;

/**
 * Creates every index before the service takes requests: the unique ones
 * decide races, so they must exist before the first write, not "soon after"
 * as mongoose's background autoIndex would have it.
 */
export async function ensureIndexes(models: Models): Promise<void> {
  for (const model of Object.values(models)) await model.createIndexes();
}
