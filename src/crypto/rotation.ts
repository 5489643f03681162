// Online master-key rotation: re-wraps every data key that is not under the
// active master key, a batch at a time, while services keep serving. A data
// key is kept twice: in its version document, and (for a secret's current
// version) in the secret document's sealed copy; both are re-wrapped, and
// counted, as are the webhooks' signing secrets. Each document changes in one
// write (keyId and wrappedKey together), so a reader sees either the old pair
// or the new one, and opens both with a ring that holds both keys. It is resumable by construction: it
// only ever looks for documents still under another key.
import type { Collection } from 'mongodb';
import type { Types } from 'mongoose';
import type { Models } from '../db/models/index.ts';
import { sealedBytesOf, sealedOf, type StoredSecretVersion, versionIdOf } from '../db/models/secret-version.ts';
import type { WebhookDoc } from '../db/models/webhook.ts';
import { secretContextOf } from '../webhooks/service.ts';
import { settleVersionPointer } from '../secrets/mongo/store.ts';
import { DecryptionError, type MasterKeyring, rewrapDataKey } from './envelope.ts';

/**
 * Update statements per command. FerretDB 1.24 keeps each statement's query
 * open until its whole `update` command ends (a `defer` inside its loop over
 * the statements, internal/handler/msg_update.go), and its SQLite pool has
 * 100 connections (SetMaxOpenConns(100)): the 100th statement waits for a
 * connection that none of the others gives back, and the command, with every
 * other command on that engine, hangs. Below that, one command carries them all.
 */
export const UPDATES_PER_COMMAND = 64;

interface Head {
  _id: Types.ObjectId;
  projectId: Types.ObjectId;
  version: number;
  current: Pick<StoredSecretVersion, 'keyId' | 'wrappedKey' | 'ciphertext'>;
}

export function createRotation(deps: { models: Pick<Models, 'SecretVersion' | 'Secret' | 'Webhook'>; keyring: MasterKeyring }) {
  const versions = deps.models.SecretVersion.collection as unknown as Collection<StoredSecretVersion>;
  const heads = deps.models.Secret.collection as unknown as Collection<Head>;
  const webhooks = deps.models.Webhook.collection as unknown as Collection<WebhookDoc>;
  const { keyring } = deps;
  const staleWebhook = { 'secret.keyId': { $ne: keyring.activeId, $exists: true } };
  const unopenableWebhooks: Types.ObjectId[] = [];
  const staleVersion = { keyId: { $ne: keyring.activeId, $exists: true } };
  const staleHead = { 'current.keyId': { $ne: keyring.activeId, $exists: true } };
  /** Data keys the ring's key for their id does not open: reported, and left as they are. */
  const unopenable: { id: string; secretId: string; version: number; keyId: string }[] = [];
  const unopenableHeads: Types.ObjectId[] = [];

  /** Re-wraps what it can of `docs`; returns the re-wrapped ones with their new key id and wrapped key. */
  function rewrapAll<T>(docs: T[], asVersion: (doc: T) => StoredSecretVersion) {
    const rewrapped: { doc: T; keyId: string; wrappedKey: Buffer }[] = [];
    for (const doc of docs) {
      const v = asVersion(doc);
      const { sealed, context } = sealedOf(v);
      try {
        rewrapped.push({ doc, ...rewrapDataKey(keyring, sealed, context) });
      } catch (err) {
        if (!(err instanceof DecryptionError)) throw err;
        unopenable.push({ id: v._id, secretId: context.secretId, version: v.version, keyId: v.keyId });
      }
    }
    return rewrapped;
  }

  /** One bulkWrite per UPDATES_PER_COMMAND updates; returns how many matched. */
  async function updateInCommands<T extends { _id: unknown }>(collection: Collection<T>, ops: Parameters<Collection<T>['bulkWrite']>[0]) {
    let matched = 0;
    for (let i = 0; i < ops.length; i += UPDATES_PER_COMMAND) {
      matched += (await collection.bulkWrite(ops.slice(i, i + UPDATES_PER_COMMAND), { ordered: false })).matchedCount;
    }
    return matched;
  }

  const count = async () =>
    (await versions.countDocuments(staleVersion)) + (await heads.countDocuments(staleHead)) + (await webhooks.countDocuments(staleWebhook));

  /** Re-wraps up to `size` webhook signing secrets (immutable: by _id); returns how many. */
  async function rewrapWebhooks(known: string[], size: number): Promise<number> {
    const stale = await webhooks
      .find({ 'secret.keyId': { $in: known }, _id: { $nin: unopenableWebhooks } })
      .limit(size)
      .toArray();
    const ops = [];
    for (const hook of stale) {
      try {
        const { keyId, wrappedKey } = rewrapDataKey(keyring, sealedBytesOf(hook.secret), secretContextOf(hook));
        ops.push({ updateOne: { filter: { _id: hook._id }, update: { $set: { 'secret.keyId': keyId, 'secret.wrappedKey': wrappedKey } } } });
      } catch (err) {
        if (!(err instanceof DecryptionError)) throw err;
        unopenableWebhooks.push(hook._id);
        unopenable.push({ id: `webhook:${hook._id.toHexString()}`, secretId: `webhook:${hook._id.toHexString()}`, version: 0, keyId: hook.secret.keyId });
      }
    }
    return updateInCommands(webhooks, ops);
  }

  return {
    /** Data keys under another master key than the active one. */
    remaining: count,

    /** Remaining data keys per master key id. */
    async remainingByKey(): Promise<Record<string, number>> {
      const byKey: Record<string, number> = {};
      const add = (rows: { _id: string; count: number }[]) => rows.forEach((r) => (byKey[r._id] = (byKey[r._id] ?? 0) + r.count));
      add(await versions.aggregate<{ _id: string; count: number }>([{ $match: staleVersion }, { $group: { _id: '$keyId', count: { $sum: 1 } } }]).toArray());
      add(await heads.aggregate<{ _id: string; count: number }>([{ $match: staleHead }, { $group: { _id: '$current.keyId', count: { $sum: 1 } } }]).toArray());
      add(
        await webhooks
          .aggregate<{ _id: string; count: number }>([{ $match: staleWebhook }, { $group: { _id: '$secret.keyId', count: { $sum: 1 } } }])
          .toArray(),
      );
      return byKey;
    },

    /**
     * Re-wraps up to `size` version documents' data keys, up to `size`
     * secret documents' copies and up to `size` webhook signing secrets;
     * returns how many it re-wrapped. A key id the
     * ring does not hold is skipped (and stays counted as remaining).
     */
    async rewrapBatch(size: number): Promise<number> {
      const known = [...keyring.keys.keys()].filter((id) => id !== keyring.activeId);
      const skip = unopenable.map((u) => u.id);
      // Unopenable version documents are skipped by _id ("<secretId>:<version>"), unopenable copies by their secret's.
      const batch = await versions
        .find({ keyId: { $in: known }, _id: { $nin: skip } })
        .limit(size)
        .toArray();
      // Version documents are immutable: whichever re-wrap lands is right.
      let done = await updateInCommands(
        versions,
        rewrapAll(batch, (v) => v).map(({ doc, keyId, wrappedKey }) => ({
          updateOne: { filter: { _id: doc._id }, update: { $set: { keyId, wrappedKey } } },
        })),
      );

      const stale = await heads
        .find({ 'current.keyId': { $in: known }, _id: { $nin: unopenableHeads } }, { projection: { projectId: 1, version: 1, current: 1 } })
        .limit(size)
        .toArray();
      const asVersion = (h: Head): StoredSecretVersion => ({
        _id: versionIdOf(h._id, h.version),
        projectId: h.projectId,
        secretId: h._id,
        version: h.version,
        ...h.current,
      });
      const seen = unopenable.length;
      const fresh = rewrapAll(stale, asVersion);
      for (const u of unopenable.slice(seen)) unopenableHeads.push(stale.find((h) => versionIdOf(h._id, h.version) === u.id)!._id);
      // A secret's copy changes with every value written: the write is by
      // _id (a filter on more is applied to a read made before the write on
      // FerretDB, and scans for it), and a newer version written meanwhile is
      // made current again after it, as every writer does, on both engines.
      done += await updateInCommands(
        heads,
        fresh.map(({ doc, keyId, wrappedKey }) => ({
          updateOne: {
            filter: { _id: doc._id },
            update: { $set: { 'current.keyId': keyId, 'current.wrappedKey': wrappedKey } },
          },
        })),
      );
      for (const { doc } of fresh) await settleVersionPointer(deps.models, doc._id, doc.version);
      done += await rewrapWebhooks(known, size);
      return done;
    },

    /** What rewrapBatch met that its key does not open (which secret, version and key id), so far. */
    unopenable: () => unopenable.map(({ secretId, version, keyId }) => ({ secretId, version, keyId })),
    /** The same, once per version (a current version's key is met twice: in its document and in its secret's copy). */
    unopenableVersions: () => [...new Map(unopenable.map(({ secretId, version, keyId }) => [`${secretId}:${version}`, { secretId, version, keyId }])).values()],
  };
}
