// The two secret stores the store contract suite runs on: the MongoDB one on
// the run's engine (a database of its own per file), and the in-memory one.
// Each test makes a store with the limits it needs, and projects in it.
import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import { inject } from 'vitest';
import { DEFAULT_LIMITS, type SecretLimits } from '../../src/config.ts';
import { connectDatabase } from '../../src/db/connect.ts';
import { createModels, ensureIndexes, type Models } from '../../src/db/models/index.ts';
import { createMemorySecretStore } from '../../src/secrets/memory-store.ts';
import { openMongoSecretStore } from '../../src/secrets/mongo/open.ts';
import type { SecretRecord, SecretStore } from '../../src/secrets/store.ts';

export interface StoreUnderTest {
  readonly store: SecretStore;
  /** A new project the store knows, made at `createdAt`. */
  newProject(createdAt?: Date): Promise<string>;
  /** What the store reported as expired, in order. */
  readonly expired: SecretRecord[];
}

export interface StoreKind {
  readonly name: string;
  make(limits?: Partial<SecretLimits>): Promise<StoreUnderTest>;
  close(): Promise<void>;
}

export function mongoStores(): StoreKind {
  let models: Promise<Models> | undefined;
  const connection = () => connectDatabase(inject('mongoUri'), { dbName: `store_${randomBytes(6).toString('hex')}` });
  const open = () =>
    (models ??= connection().then(async (c) => {
      const m = createModels(c);
      await ensureIndexes(m);
      return m;
    }));
  return {
    name: 'MongoDB store',
    async make(limits = {}) {
      const m = await open();
      const expired: SecretRecord[] = [];
      const store = await openMongoSecretStore({
        connection: m.Project.db,
        warn: () => {},
        models: m,
        limits: { ...DEFAULT_LIMITS, ...limits },
        now: () => new Date(),
        onExpired: async (secret) => void expired.push(secret),
      });
      return {
        store,
        expired,
        async newProject(createdAt = new Date()) {
          const _id = new Types.ObjectId();
          await m.Project.collection.insertOne({ _id, name: `p-${_id.toHexString()}`, dev: false, createdAt });
          return _id.toHexString();
        },
      };
    },
    async close() {
      if (models) await (await models).Project.db.close();
    },
  };
}

export function memoryStores(): StoreKind {
  return {
    name: 'in-memory store',
    async make(limits = {}) {
      const projects = new Map<string, Date>();
      const expired: SecretRecord[] = [];
      const store = createMemorySecretStore({
        limits: { ...DEFAULT_LIMITS, ...limits },
        projectCreatedAt: (id) => projects.get(id) ?? null,
        onExpired: async (secret) => void expired.push(secret),
      });
      return {
        store,
        expired,
        async newProject(createdAt = new Date()) {
          const id = new Types.ObjectId().toHexString();
          projects.set(id, createdAt);
          return id;
        },
      };
    },
    async close() {},
  };
}
