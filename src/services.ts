// Wires the domain services onto one database connection.
import type { Connection } from 'mongoose';
import { createAuditLog } from './audit/service.ts';
import { createAuthenticator } from './auth/authenticator.ts';
import { DEFAULT_LIMITS, type SecretLimits } from './config.ts';
import type { MasterKeyring } from './crypto/envelope.ts';
import { pingDatabase } from './db/connect.ts';
import { createModels, ensureIndexes } from './db/models/index.ts';
import { createKeyService } from './keys/service.ts';
import { createProjectService } from './projects/service.ts';
import { createSecretService } from './secrets/service.ts';

export async function createServices(deps: {
  connection: Connection;
  keyring: MasterKeyring;
  limits?: SecretLimits;
  now?: () => Date;
}) {
  const models = createModels(deps.connection);
  await ensureIndexes(models);
  const audit = createAuditLog({ models, now: deps.now });
  return {
    models,
    audit,
    authenticator: createAuthenticator({ models, now: deps.now }),
    secrets: createSecretService({ models, keyring: deps.keyring, audit, limits: deps.limits ?? DEFAULT_LIMITS, now: deps.now }),
    projects: createProjectService({ models, now: deps.now }),
    keys: createKeyService({ models, audit, now: deps.now }),
    pingDatabase: () => pingDatabase(deps.connection),
  };
}
