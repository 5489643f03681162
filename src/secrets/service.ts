// All business logic on secrets. Doors (GraphQL, REST dialects) convert shapes
// around one call here; this module knows nothing of HTTP or GraphQL.
import { Types } from 'mongoose';
import type { Actor } from '../auth/authenticator.ts';
import { type MasterKeyring, sealValue } from '../crypto/envelope.ts';
import { isDuplicateKeyError, parseObjectId } from '../db/errors.ts';
import type { Models } from '../db/models/index.ts';
import type { SecretDoc } from '../db/models/secret.ts';
import { SecretNameTakenError, SecretNotFoundError } from './errors.ts';
import type { CreateSecretInput, UpdateSecretInput } from './rules.ts';

/** The one public shape of a secret. It has no value field, by construction. */
export interface PublicSecret {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export function toPublicSecret(doc: Pick<SecretDoc, '_id' | 'projectId' | 'name' | 'version' | 'createdAt' | 'updatedAt'>): PublicSecret {
  return {
    id: doc._id.toHexString(),
    projectId: doc.projectId.toHexString(),
    name: doc.name,
    version: doc.version,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}

const PUBLIC_FIELDS = { projectId: 1, name: 1, version: 1, createdAt: 1, updatedAt: 1 } as const;

/** How often an update retries when other writers keep claiming the next version. */
const VERSION_CLAIM_ATTEMPTS = 20;

export interface SecretServiceDeps {
  readonly models: Pick<Models, 'Secret' | 'SecretVersion'>;
  readonly keyring: MasterKeyring;
  readonly now?: () => Date;
}

export function createSecretService(deps: SecretServiceDeps) {
  const { Secret, SecretVersion } = deps.models;
  const now = deps.now ?? (() => new Date());

  /** Seals `value` for (secret, version) and inserts it; the unique index refuses a taken version. */
  async function insertVersion(projectId: Types.ObjectId, secretId: Types.ObjectId, version: number, value: string, at: Date) {
    const sealed = sealValue(deps.keyring, value, {
      projectId: projectId.toHexString(),
      secretId: secretId.toHexString(),
      version,
    });
    await SecretVersion.create({ projectId, secretId, version, ...sealed, createdAt: at });
  }

  async function latestVersion(secretId: Types.ObjectId) {
    return SecretVersion.findOne({ secretId }, { version: 1, createdAt: 1 }).sort({ version: -1 }).lean();
  }

  /**
   * Moves the secret's version pointer up to its newest sealed version. The
   * versions collection is the truth; the pointer is a copy for cheap reads.
   * A conditional update ({version: {$lt: n}}) is atomic on MongoDB but not on
   * FerretDB, where a slow writer can set an older number after a newer one.
   * So every writer checks after its own write and repairs what it sees: the
   * writer whose write lands last also checks last, and the pointer settles
   * on the newest version.
   */
  async function settlePointer(secretId: Types.ObjectId): Promise<void> {
    for (let round = 0; round < VERSION_CLAIM_ATTEMPTS; round++) {
      const [latest, secret] = await Promise.all([
        latestVersion(secretId),
        Secret.findById(secretId, { version: 1 }).lean(),
      ]);
      if (!latest || !secret || secret.version >= latest.version) return;
      await Secret.updateOne(
        { _id: secretId, version: { $lt: latest.version } },
        { $set: { version: latest.version, updatedAt: latest.createdAt } },
      );
    }
  }

  async function findOwned(actor: Actor, id: string) {
    const _id = parseObjectId(id);
    if (!_id) throw new SecretNotFoundError();
    const doc = await Secret.findOne({ _id, projectId: actor.projectId }, PUBLIC_FIELDS).lean();
    if (!doc) throw new SecretNotFoundError();
    return doc;
  }

  return {
    async create(actor: Actor, input: CreateSecretInput): Promise<PublicSecret> {
      const projectId = new Types.ObjectId(actor.projectId);
      const _id = new Types.ObjectId();
      const at = now();
      // The sealed value goes in first, under an id nobody knows yet: if we
      // crash before the secret document exists, nothing half-made is visible.
      await insertVersion(projectId, _id, 1, input.value, at);
      const doc = { _id, projectId, name: input.name, version: 1, createdAt: at, updatedAt: at };
      try {
        // The unique (projectId, name) index decides every race between creates.
        await Secret.create(doc);
      } catch (err) {
        await SecretVersion.deleteMany({ secretId: _id });
        if (isDuplicateKeyError(err)) throw new SecretNameTakenError(input.name);
        throw err;
      }
      return toPublicSecret(doc);
    },

    async update(actor: Actor, id: string, input: UpdateSecretInput): Promise<PublicSecret> {
      const current = await findOwned(actor, id);
      let version = current.version + 1;
      const at = now();
      for (let attempt = 1; ; attempt++) {
        try {
          await insertVersion(current.projectId, current._id, version, input.value, at);
          break;
        } catch (err) {
          if (!isDuplicateKeyError(err) || attempt >= VERSION_CLAIM_ATTEMPTS) throw err;
          // Another writer claimed this version first: take the next free one.
          version = ((await latestVersion(current._id))?.version ?? 0) + 1;
        }
      }
      await Secret.updateOne({ _id: current._id, version: { $lt: version } }, { $set: { version, updatedAt: at } });
      await settlePointer(current._id);
      return toPublicSecret({ ...current, version, updatedAt: at });
    },

    async get(actor: Actor, id: string): Promise<PublicSecret> {
      return toPublicSecret(await findOwned(actor, id));
    },

    /** The caller's secrets in name order, `first` of them after the name `after`. */
    async list(actor: Actor, page: { first: number; after?: string | undefined }) {
      const filter = page.after === undefined
        ? { projectId: actor.projectId }
        : { projectId: actor.projectId, name: { $gt: page.after } };
      const docs = await Secret.find(filter, PUBLIC_FIELDS).sort({ name: 1 }).limit(page.first + 1).lean();
      return { secrets: docs.slice(0, page.first).map(toPublicSecret), hasNextPage: docs.length > page.first };
    },

    /** Every secret of the caller's project, in name order (the LangWatch list has no pages). */
    async listAll(actor: Actor): Promise<PublicSecret[]> {
      const docs = await Secret.find({ projectId: actor.projectId }, PUBLIC_FIELDS).sort({ name: 1 }).lean();
      return docs.map(toPublicSecret);
    },

    async delete(actor: Actor, id: string): Promise<{ id: string }> {
      const _id = parseObjectId(id);
      if (!_id) throw new SecretNotFoundError();
      const { deletedCount } = await Secret.deleteOne({ _id, projectId: actor.projectId });
      if (deletedCount === 0) throw new SecretNotFoundError();
      // The secret is gone from every read path above; its sealed versions follow.
      await SecretVersion.deleteMany({ secretId: _id });
      return { id };
    },
  };
}

export type SecretService = ReturnType<typeof createSecretService>;
