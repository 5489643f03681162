// All business logic on secrets. Doors (GraphQL, REST dialects) convert shapes
// around one call here; this module knows nothing of HTTP or GraphQL.
import { Types } from 'mongoose';
import type { Actor } from '../auth/authenticator.ts';
import { type MasterKeyring, openValue, sealValue } from '../crypto/envelope.ts';
import { isDuplicateKeyError, parseObjectId } from '../db/errors.ts';
import type { Models } from '../db/models/index.ts';
import type { SecretDoc } from '../db/models/secret.ts';
import { SecretNameTakenError, SecretNotFoundError } from './errors.ts';
import { maskValue } from './mask.ts';
import type { CreateSecretInput, SecretChange } from './rules.ts';

/** The one public shape of a secret. It has no value field, by construction. */
export interface PublicSecret {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly version: number;
  readonly description: string | null;
  readonly provider: string | null;
  readonly createdBy: string;
  readonly lastUpdatedBy: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

type SecretFields = Omit<SecretDoc, never>;

export function toPublicSecret(doc: SecretFields): PublicSecret {
  return {
    id: doc._id.toHexString(),
    projectId: doc.projectId.toHexString(),
    name: doc.name,
    version: doc.version,
    description: doc.description ?? null,
    provider: doc.provider ?? null,
    createdBy: doc.createdBy,
    lastUpdatedBy: doc.lastUpdatedBy,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}

/** How a caller names a secret: by id, by name, or (Together) by either. */
export type SecretRef = { readonly id: string } | { readonly name: string } | { readonly idOrName: string };

/** How often a write retries when other writers keep taking what it wanted. */
const ATTEMPTS = 20;
/**
 * A name claim whose secret does not hold that name is left over from a
 * crash, or from a rename between its steps, or belongs to a create still in
 * progress. Only the first can be taken over, so a claim must be this old.
 */
const STALE_CLAIM_MS = 30_000;

export interface SecretServiceDeps {
  readonly models: Pick<Models, 'Secret' | 'SecretName' | 'SecretVersion'>;
  readonly keyring: MasterKeyring;
  readonly now?: () => Date;
}

export function createSecretService(deps: SecretServiceDeps) {
  const { Secret, SecretName, SecretVersion } = deps.models;
  const now = deps.now ?? (() => new Date());

  /**
   * Makes `name` the secret's: an insert under the unique (projectId, name)
   * index of secret_names decides every race. Already the secret's: nothing to do.
   */
  async function claimName(projectId: Types.ObjectId, name: string, secretId: Types.ObjectId, at: Date): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await SecretName.create({ projectId, name, secretId, createdAt: at });
        return;
      } catch (err) {
        if (!isDuplicateKeyError(err) || attempt >= ATTEMPTS) throw err;
      }
      const holder = await SecretName.findOne({ projectId, name }).lean();
      if (!holder) continue; // released meanwhile: try again
      if (holder.secretId.equals(secretId)) return;
      const stale = at.getTime() - holder.createdAt.getTime() > STALE_CLAIM_MS
        && !(await Secret.exists({ _id: holder.secretId, name }));
      if (!stale) throw new SecretNameTakenError(name);
      await SecretName.deleteOne({ _id: holder._id });
    }
  }

  /** Seals `value` for (secret, version) and inserts it; the unique index refuses a taken version. */
  async function insertVersion(projectId: Types.ObjectId, secretId: Types.ObjectId, version: number, value: string, at: Date, by: string) {
    const sealed = sealValue(deps.keyring, value, {
      projectId: projectId.toHexString(),
      secretId: secretId.toHexString(),
      version,
    });
    await SecretVersion.create({ projectId, secretId, version, ...sealed, createdAt: at, createdBy: by });
  }

  async function latestVersion(secretId: Types.ObjectId) {
    return SecretVersion.findOne({ secretId }, { version: 1, createdAt: 1 }).sort({ version: -1 }).lean();
  }

  /** Claims the next free version of the secret for `value`; returns its number. */
  async function appendVersion(secret: SecretFields, value: string, at: Date, by: string): Promise<number> {
    let version = secret.version + 1;
    for (let attempt = 1; ; attempt++) {
      try {
        await insertVersion(secret.projectId, secret._id, version, value, at, by);
        return version;
      } catch (err) {
        if (!isDuplicateKeyError(err) || attempt >= ATTEMPTS) throw err;
        // Another writer claimed this version first: take the next free one.
        version = ((await latestVersion(secret._id))?.version ?? 0) + 1;
      }
    }
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
    for (let round = 0; round < ATTEMPTS; round++) {
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

  /** After a rename: the secret keeps exactly the claim of the name it now has. */
  async function settleClaims(secretId: Types.ObjectId, at: Date): Promise<void> {
    const secret = await Secret.findById(secretId, { projectId: 1, name: 1 }).lean();
    if (!secret) return;
    await claimName(secret.projectId, secret.name, secretId, at).catch(() => {});
    await SecretName.deleteMany({ secretId, name: { $ne: secret.name } });
  }

  async function findOwned(actor: Actor, ref: SecretRef): Promise<SecretFields> {
    const projectId = actor.projectId;
    let doc: SecretFields | null = null;
    if ('name' in ref) {
      doc = await Secret.findOne({ projectId, name: ref.name }).lean();
    } else {
      const _id = parseObjectId('id' in ref ? ref.id : ref.idOrName);
      if (_id) doc = await Secret.findOne({ _id, projectId }).lean();
      if (!doc && 'idOrName' in ref) doc = await Secret.findOne({ projectId, name: ref.idOrName }).lean();
    }
    if (!doc) throw new SecretNotFoundError();
    return doc;
  }

  return {
    async create(actor: Actor, input: CreateSecretInput): Promise<PublicSecret> {
      const projectId = new Types.ObjectId(actor.projectId);
      const _id = new Types.ObjectId();
      const at = now();
      // Claim the name first: whoever claims it creates the secret. Then the
      // sealed value, then the secret itself, so that a crash at any step
      // leaves nothing visible half-made (a left-over claim goes stale).
      await claimName(projectId, input.name, _id, at);
      const doc = {
        _id,
        projectId,
        name: input.name,
        version: 1,
        description: input.description ?? null,
        provider: input.provider ?? null,
        createdBy: actor.keyId,
        lastUpdatedBy: actor.keyId,
        createdAt: at,
        updatedAt: at,
      };
      try {
        await insertVersion(projectId, _id, 1, input.value, at, actor.keyId);
        await Secret.create(doc);
      } catch (err) {
        await SecretVersion.deleteMany({ secretId: _id });
        await SecretName.deleteMany({ secretId: _id });
        throw err;
      }
      return toPublicSecret(doc);
    },

    /**
     * Changes a secret's value and/or metadata. A new value becomes a new
     * version; a new name is claimed before the secret takes it (renaming to
     * its own name changes nothing); absent fields stay as they are.
     */
    async update(actor: Actor, ref: SecretRef, change: SecretChange): Promise<PublicSecret> {
      const current = await findOwned(actor, ref);
      const at = now();
      const set: Partial<SecretFields> = {};
      const renamed = change.name !== undefined && change.name !== current.name;
      if (renamed) {
        await claimName(current.projectId, change.name!, current._id, at);
        set.name = change.name;
      }
      if (change.description !== undefined && change.description !== current.description) set.description = change.description;
      if (change.provider !== undefined && change.provider !== current.provider) set.provider = change.provider;
      const metadataChanged = Object.keys(set).length > 0;
      if (!metadataChanged && change.value === undefined) return toPublicSecret(current);

      const version = change.value === undefined ? current.version : await appendVersion(current, change.value, at, actor.keyId);
      await Secret.updateOne({ _id: current._id }, { $set: { ...set, lastUpdatedBy: actor.keyId, updatedAt: at } });
      if (version !== current.version) {
        await Secret.updateOne({ _id: current._id, version: { $lt: version } }, { $set: { version } });
        await settlePointer(current._id);
      }
      if (renamed) await settleClaims(current._id, at);
      return toPublicSecret({ ...current, ...set, version, lastUpdatedBy: actor.keyId, updatedAt: at });
    },

    async get(actor: Actor, ref: SecretRef): Promise<PublicSecret> {
      return toPublicSecret(await findOwned(actor, ref));
    },

    /** The caller's secrets in name order, `first` of them after the name `after`. */
    async list(actor: Actor, page: { first: number; after?: string | undefined }) {
      const filter = page.after === undefined
        ? { projectId: actor.projectId }
        : { projectId: actor.projectId, name: { $gt: page.after } };
      const docs = await Secret.find(filter).sort({ name: 1 }).limit(page.first + 1).lean();
      return { secrets: docs.slice(0, page.first).map(toPublicSecret), hasNextPage: docs.length > page.first };
    },

    /** Every secret of the caller's project, in name order (the REST lists have no pages). */
    async listAll(actor: Actor): Promise<PublicSecret[]> {
      const docs = await Secret.find({ projectId: actor.projectId }).sort({ name: 1 }).lean();
      return docs.map(toPublicSecret);
    },

    async delete(actor: Actor, ref: SecretRef): Promise<PublicSecret> {
      const current = await findOwned(actor, ref);
      const { deletedCount } = await Secret.deleteOne({ _id: current._id, projectId: current.projectId });
      if (deletedCount === 0) throw new SecretNotFoundError();
      // The secret is gone from every read path; its name and sealed versions follow.
      await SecretName.deleteMany({ secretId: current._id });
      await SecretVersion.deleteMany({ secretId: current._id });
      return toPublicSecret(current);
    },

    /**
     * Masked previews of the secrets' current values (see mask.ts), opened
     * here and never returned whole. The secrets must be ones the caller got
     * from this service, so they are the caller's own.
     */
    async maskedValues(secrets: readonly PublicSecret[]): Promise<Map<string, string>> {
      if (secrets.length === 0) return new Map();
      const wanted = secrets.map((s) => ({ secretId: new Types.ObjectId(s.id), version: s.version }));
      const versions = await SecretVersion.find({ $or: wanted }).select('+wrappedKey +ciphertext').lean();
      const previews = new Map<string, string>();
      for (const v of versions) {
        const value = openValue(
          deps.keyring,
          { keyId: v.keyId, wrappedKey: Buffer.from(v.wrappedKey.buffer), ciphertext: Buffer.from(v.ciphertext.buffer) },
          { projectId: v.projectId.toHexString(), secretId: v.secretId.toHexString(), version: v.version },
        );
        previews.set(v.secretId.toHexString(), maskValue(value));
      }
      return previews;
    },
  };
}

export type SecretService = ReturnType<typeof createSecretService>;
