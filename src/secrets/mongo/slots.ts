// Names and quota slots of the MongoDB secret store: unique keys on the secret document.
import { randomInt } from 'node:crypto';
import type { Collection } from 'mongodb';
import { Types } from 'mongoose';
import type { SecretLimits } from '../../config.ts';
import { isDuplicateKeyError } from '../../db/errors.ts';
import type { Models } from '../../db/models/index.ts';
import type { SecretNameDoc } from '../../db/models/secret-name.ts';
import { QuotaExceededError, SecretNameTakenError } from '../errors.ts';
import { keyPrefixOf, nameKeyOf, slotKeyOf } from './keys.ts';
import type { Namespace } from '../store.ts';
import { ATTEMPTS, type ExpiredSecret, type HeadDoc, inNamespace, isExpired, namespaceOfDoc, oid } from './documents.ts';

const BLIND_SLOT_TRIES = 4;

export function createNamesAndSlots(deps: {
  readonly models: Pick<Models, 'Secret' | 'SecretName'>;
  readonly limits: SecretLimits;
  /** Marks an expired secret deleted (expiry.ts), when one is met holding a name or a slot. */
  readonly expire: (doc: ExpiredSecret) => Promise<void>;
}) {
  const { Secret } = deps.models;
  const names = deps.models.SecretName.collection as unknown as Collection<SecretNameDoc>;
  const { limits, expire } = deps;
  /** The namespaces where compactSlots last found secrets in slots past the limit (a limit lowered). */
  const pastTheLimit = new Set<string>();

  // A live secret's document carries nameKey "<namespace>/<name>" and slotKey
  // "<namespace>/<slot>" (slot: one of the environment's PROJECT_SECRET_LIMIT),
  // each under a unique index; a deleted one carries "deleted/<id>" in both.
  // So the one write that makes a secret live (its insert, its restore) or
  // renames it is refused by the database itself when the name or the slot is
  // taken: no interleaving of creates, renames and restores, and no clock of
  // any node, can give two live secrets one name or one slot. Nothing is
  // claimed ahead of that write, so nothing can go stale.

  /**
   * After a write refused on a unique key: the live secret that holds the
   * name, when it is another's (null: none, so it was the slot). An expired
   * holder is marked deleted first, since it is gone at its expiry and so is
   * its hold on the name: then 'expired', and the write can be tried again.
   * Found by the name's pointer (two lookups by _id); `thorough`: by the
   * name's key itself, for a holder whose pointer is not written yet.
   */
  async function otherHolderOf(ns: Namespace, name: string, secretId: Types.ObjectId, at: Date, thorough: boolean): Promise<HeadDoc | null | 'expired'> {
    const nameKey = nameKeyOf(ns, name);
    const pointed = await names.findOne({ _id: nameKey });
    let holder = pointed ? await Secret.collection.findOne<HeadDoc>({ _id: pointed.secretId }) : null;
    if (holder?.nameKey !== nameKey) holder = thorough ? await Secret.collection.findOne<HeadDoc>({ projectId: oid(ns.projectId), nameKey }) : null;
    if (!holder || holder._id.equals(secretId)) return null;
    if (isExpired(holder, at)) {
      await expire(holder);
      return 'expired';
    }
    return holder;
  }

  /**
   * A free quota slot of the namespace: the taken ones are read (expired
   * secrets give theirs up first), and a random free one is picked, so that
   * racing writers rarely pick the same. None free: QuotaExceededError; the
   * name held by another live secret (read in the same pass): SecretNameTakenError.
   */
  async function freeSlot(ns: Namespace, name: string, secretId: Types.ObjectId, at: Date): Promise<number> {
    const live = await Secret.collection
      .find<HeadDoc>(
        { ...inNamespace(ns), deletedAt: null },
        { projection: { slot: 1, deletedAt: 1, expiresAt: 1, projectId: 1, environment: 1, name: 1, nameKey: 1, version: 1 } },
      )
      .toArray();
    const used = new Set<number>();
    const nameKey = nameKeyOf(ns, name);
    for (const doc of live) {
      if (isExpired(doc, at)) await expire(doc);
      else if (doc.nameKey === nameKey && !doc._id.equals(secretId)) throw new SecretNameTakenError(name);
      else if (typeof doc.slot === 'number') used.add(doc.slot);
    }
    const free: number[] = [];
    for (let slot = 0; slot < limits.projectSecretLimit; slot++) if (!used.has(slot)) free.push(slot);
    // Secrets past a lowered limit hold slots above it: they count all the same.
    if (free.length === 0 || used.size >= limits.projectSecretLimit) throw new QuotaExceededError(limits.projectSecretLimit);
    return free[randomInt(free.length)]!;
  }

  /**
   * A slot below the limit was just freed: should the project hold secrets in
   * slots past a lowered limit, one moves into it, so that the free slots
   * below the limit stay as many as the project may still create (the
   * unique slotKey decides, should two move at once).
   */
  async function refillFreedSlot(ns: Namespace, slot: number | null | undefined): Promise<void> {
    // Only where compactSlots last found secrets past the limit (it runs at start and with each sweep).
    if (typeof slot !== 'number' || slot >= limits.projectSecretLimit || !pastTheLimit.has(keyPrefixOf(ns))) return;
    const over = await Secret.collection.findOne<HeadDoc>(
      { ...inNamespace(ns), deletedAt: null, slot: { $gte: limits.projectSecretLimit } },
      { projection: { slot: 1 } },
    );
    if (!over) return;
    await Secret.updateOne({ _id: over._id, slot: over.slot }, { $set: { slot, slotKey: slotKeyOf(ns, slot) } }).catch((err: unknown) => {
      if (!isDuplicateKeyError(err)) throw err;
    });
  }

  /**
   * Makes a secret live under `name` in a quota slot, through `write` (the
   * insert or update that sets the keys it is given). The first tries are
   * random slots, blind: in a project below its limit one of them is almost
   * always free (all four are taken at 50% full one time in 16), so a create
   * costs one write and no read however many secrets the project has. A
   * refusal on the name is SecretNameTakenError.
   */
  async function goLive(
    ns: Namespace,
    secretId: Types.ObjectId,
    name: string,
    at: Date,
    write: (keys: { nameKey: string; slot: number; slotKey: string }) => Promise<void>,
  ): Promise<void> {
    const nameKey = nameKeyOf(ns, name);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const blind = attempt < BLIND_SLOT_TRIES;
      const slot = blind ? randomInt(limits.projectSecretLimit) : await freeSlot(ns, name, secretId, at);
      try {
        await write({ nameKey, slot, slotKey: slotKeyOf(ns, slot) });
        return;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      // Blind: the name's pointer tells (a holder not pointed at yet shows in freeSlot's read, next).
      const holder = await otherHolderOf(ns, name, secretId, at, !blind);
      if (holder && holder !== 'expired') throw new SecretNameTakenError(name);
      // Otherwise the slot was taken (or the name's holder had expired): try again.
    }
    throw new QuotaExceededError(limits.projectSecretLimit);
  }

  /** Renames a live secret through `write` (the update that sets the nameKey it is given). */
  async function takeName(ns: Namespace, secretId: Types.ObjectId, name: string, at: Date, write: (nameKey: string) => Promise<void>): Promise<void> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        await write(nameKeyOf(ns, name));
        return;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      const holder = await otherHolderOf(ns, name, secretId, at, attempt > 0);
      if (holder && holder !== 'expired') throw new SecretNameTakenError(name);
      // Released meanwhile, or its holder had expired: try again.
    }
    throw new SecretNameTakenError(name);
  }

  /** Points a name at the secret that just took it, for reads by name. */
  async function pointName(nameKey: string, secretId: Types.ObjectId): Promise<void> {
    // A new name's pointer is an insert (on FerretDB an upsert is a query and
    // then an insert); one left by an earlier holder is replaced. Two upserts
    // of one new _id at once: one inserts, the other is refused as a
    // duplicate, and then finds the document to replace.
    try {
      await names.insertOne({ _id: nameKey, secretId });
      return;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await names.replaceOne({ _id: nameKey }, { secretId }, { upsert: true });
        return;
      } catch (err) {
        if (!isDuplicateKeyError(err) || attempt >= ATTEMPTS) throw err;
      }
    }
  }

  /**
   * After PROJECT_SECRET_LIMIT was lowered (at start, and with each sweep):
   * live secrets in slots at or past the new limit move into free slots
   * below it, while there are some (the unique slot key decides, should nodes
   * do this at once); those left over keep theirs, and creates are refused
   * until the environment is back under its limit.
   */
  async function compactSlots(): Promise<void> {
    const over = await Secret.collection
      .find<HeadDoc>({ deletedAt: null, slot: { $gte: limits.projectSecretLimit } }, { projection: { projectId: 1, environment: 1, slot: 1 } })
      .toArray();
    pastTheLimit.clear();
    for (const doc of over) pastTheLimit.add(keyPrefixOf(namespaceOfDoc(doc)));
    const byNamespace = new Map<string, { ns: Namespace; secrets: HeadDoc[] }>();
    for (const doc of over) {
      const ns = namespaceOfDoc(doc);
      const key = keyPrefixOf(ns);
      byNamespace.set(key, { ns, secrets: [...(byNamespace.get(key)?.secrets ?? []), doc] });
    }
    for (const { ns, secrets } of byNamespace.values()) {
      const used = new Set(
        (await Secret.collection.find<{ slot: number }>({ ...inNamespace(ns), deletedAt: null }, { projection: { slot: 1 } }).toArray()).map((s) => s.slot),
      );
      const free = Array.from({ length: limits.projectSecretLimit }, (_, slot) => slot).filter((slot) => !used.has(slot));
      for (const secret of secrets) {
        const slot = free.shift();
        if (slot === undefined) break;
        await Secret.updateOne({ _id: secret._id, slot: secret.slot }, { $set: { slot, slotKey: slotKeyOf(ns, slot) } }).catch((err: unknown) => {
          if (!isDuplicateKeyError(err)) throw err;
        });
      }
    }
  }

  return { goLive, takeName, pointName, refillFreedSlot, compactSlots };
}
