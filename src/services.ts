// Wires the domain services onto one database connection.
import type { Connection } from 'mongoose';
import { createAuthenticator } from './auth/authenticator.ts';
import type { MasterKeyring } from './crypto/envelope.ts';
import { pingDatabase } from './db/connect.ts';
import { createModels, ensureIndexes } from './db/models/index.ts';
import { createProjectService } from './projects/service.ts';
import { createSecretService } from './secrets/service.ts';

export async function createServices(deps: { connection: Connection; keyring: MasterKeyring; now?: () => Date }) {
  const models = createModels(deps.connection);
  await ensureIndexes(models);
  return {
    models,
    authenticator: createAuthenticator({ models }),
    secrets: createSecretService({ models, keyring: deps.keyring, now: deps.now }),
    projects: createProjectService({ models, now: deps.now }),
    pingDatabase: () => pingDatabase(deps.connection),
  };
}
