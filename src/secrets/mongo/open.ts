// Opening the MongoDB secret store: what its documents need before the first
// request. Old documents are brought to today's shape (the migrations run
// before the indexes: a unique index cannot be built over documents that
// would break it), its indexes are made (the unique ones decide races, so
// they exist before the first write), and secrets left in slots past a
// lowered PROJECT_SECRET_LIMIT move down. Any number of nodes may open it at once.
import type { Connection } from 'mongoose';
import { migrateIdempotencyIds, migrateSecretEnvironments, migrateSecretHeads, migrateSecretKeys, migrateVersionIds } from '../../db/migrate.ts';
import { dropIndexIfThere } from '../../db/indexes.ts';
import { ensureIndexes } from '../../db/models/index.ts';
import type { SecretStore } from '../store.ts';
import { createMongoSecretStore, MONGO_STORE_MODELS, type MongoSecretStoreDeps } from './store.ts';

export async function openMongoSecretStore(
  deps: MongoSecretStoreDeps & {
    readonly connection: Connection;
    /** Told what a migration had to change by force. */
    readonly warn: (message: string) => void;
  },
): Promise<SecretStore> {
  const { models, limits } = deps;
  await migrateSecretKeys(deps.connection, models, { ...limits, warn: deps.warn });
  await migrateSecretEnvironments(models);
  await migrateVersionIds(models);
  await migrateSecretHeads(models);
  await migrateIdempotencyIds(models);
  await ensureIndexes(Object.fromEntries(MONGO_STORE_MODELS.map((name) => [name, models[name]])));
  // Replaced by indexes that lead with projectId and hold the same keys
  // unique (a nameKey or slotKey names its project): dropped once those
  // exist, since a sharded collection could not keep them.
  for (const name of ['nameKey_1', 'slotKey_1']) await dropIndexIfThere(models.Secret.collection, name);
  const { compactSlots, ...store } = createMongoSecretStore(deps);
  await compactSlots();
  return store;
}
