// All business logic on secrets. Doors (GraphQL, REST dialects) convert shapes
// around one call here; this module knows nothing of HTTP or GraphQL.
//
// Neither FerretDB nor our use of MongoDB has transactions, so every race is
// decided by a write under a unique index, and writes are ordered so that a
// crash at any step leaves nothing visible half-made:
//   secrets          nameKey, slotKey      who holds a name, and a quota slot
//   secret_versions  (secretId, version)   who writes a version
//   idempotency_keys (projectId, key)      who serves an Idempotency-Key
//   secret_fates     _id                   a deleted secret's restore or purge
import { createHmac, hkdfSync, randomInt, randomUUID } from 'node:crypto';
import type { Collection } from 'mongodb';
import { Types } from 'mongoose';
import { type AuditEntry, type AuditLog, callerEntry } from '../audit/service.ts';
import type { Caller } from '../auth/authenticator.ts';
import { ForbiddenError } from '../auth/errors.ts';
import { requireScope } from '../auth/scopes.ts';
import type { SecretLimits } from '../config.ts';
import { DecryptionError, type MasterKeyring, openValue, sealValue } from '../crypto/envelope.ts';
import { isDatabaseUnavailable, isDuplicateKeyError, parseObjectId } from '../db/errors.ts';
import type { Models } from '../db/models/index.ts';
import type { SecretDoc } from '../db/models/secret.ts';
import { sealedOf, type StoredSecretVersion } from '../db/models/secret-version.ts';
import {
  ConflictError,
  InvalidFieldError,
  IdempotencyKeyInProgressError,
  IdempotencyKeyReusedError,
  NotFoundError,
  QuotaExceededError,
  SecretNameTakenError,
  SecretNotFoundError,
  UnreadableValueError,
  VersionMismatchError,
} from './errors.ts';
import { maskValue } from './mask.ts';
import type { CreateSecretInput, ExpiryChange, SecretChange } from './rules.ts';

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
  /** Set while the secret is in its recovery window. */
  readonly deletedAt: Date | null;
  /** When the secret expires: from then on it is gone, as if deleted at that instant. */
  readonly expiresAt: Date | null;
  /** Set when the expiry comes from a lifetime (Together's TTL): each value change restarts it. */
  readonly ttlSeconds: number | null;
}

/** A value version's metadata: never its value. */
export interface SecretVersionInfo {
  readonly version: number;
  readonly createdAt: Date;
  readonly createdBy: string;
}

type SecretFields = SecretDoc;
/** A secret with an expiry (past, where it is used). */
type ExpiredSecret = SecretFields & { expiresAt: Date };


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
    createdAt: new Date(doc.createdAt),
    updatedAt: new Date(doc.updatedAt),
    deletedAt: doc.deletedAt ? new Date(doc.deletedAt) : null,
    expiresAt: doc.expiresAt ? new Date(doc.expiresAt) : null,
    ttlSeconds: doc.ttlSeconds ?? null,
  };
}

/** Live: not deleted, and not past its expiry. An expired secret is gone at its expiresAt exactly, swept or not. */
export function isLive(doc: Pick<SecretFields, 'deletedAt' | 'expiresAt'>, at: Date): boolean {
  return doc.deletedAt == null && (doc.expiresAt == null || doc.expiresAt.getTime() > at.getTime());
}

/** Still marked live, but past its expiry: due to become a deleted secret. */
function isExpired<T extends Pick<SecretFields, 'deletedAt' | 'expiresAt'>>(doc: T, at: Date): doc is T & { expiresAt: Date } {
  return doc.deletedAt == null && doc.expiresAt != null && doc.expiresAt.getTime() <= at.getTime();
}

/** The query filter of live secrets at `at` (see isLive). */
function liveFilter(at: Date) {
  return { deletedAt: null, $or: [{ expiresAt: null }, { expiresAt: { $gt: at } }] };
}

/** The expiry fields a change sets, computed on the service's clock. */
function expiryFields(change: ExpiryChange, at: Date): { expiresAt: Date | null; ttlSeconds: number | null } {
  if (change === null) return { expiresAt: null, ttlSeconds: null };
  if ('ttlSeconds' in change) return { expiresAt: new Date(at.getTime() + change.ttlSeconds * 1000), ttlSeconds: change.ttlSeconds };
  if (change.at.getTime() <= at.getTime()) throw new InvalidFieldError('expiresAt', 'expiresAt must be in the future');
  return { expiresAt: change.at, ttlSeconds: null };
}

/** How a caller names a secret: by id, by name, or (Together) by either. */
export type SecretRef = { readonly id: string } | { readonly name: string } | { readonly idOrName: string };

/** How an audit record names the secret a call was about. */
function targetOf(ref: SecretRef) {
  return 'name' in ref ? { secretName: ref.name } : { secretId: 'id' in ref ? ref.id : ref.idOrName };
}

/** How often a write retries when other writers keep taking what it wanted. */
const ATTEMPTS = 20;
const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
/** A pending Idempotency-Key record older than this was left by a request that vanished. */
const ABANDONED_IDEMPOTENCY_MS = 60_000;
/** Sealed versions with no secret, this old, were left by a crash (a create is over in seconds). */
const ORPHAN_VERSION_AGE_MS = 24 * 3600 * 1000;
/** How often the sweep looks for them: it reads every secret id, so not every minute. */
const ORPHAN_SWEEP_INTERVAL_MS = 3600 * 1000;
/**
 * How long the fate of a deleted secret, taken by a request that then
 * vanished (a crash), holds before another request may take it over. Only
 * liveness depends on it: a holder that lost its fate never reports success.
 */
const ABANDONED_FATE_MS = 60_000;
/** How long one sweep may go on; whatever is left waits for the next (every minute). */
const SWEEP_BUDGET_MS = 30_000;

/** Where a page of deleted secrets (newest deletion first) goes on from. */
export interface DeletedCursor {
  readonly deletedAt: Date;
  readonly id: string;
}

interface FateDoc {
  _id: string;
  secretId: Types.ObjectId;
  action: 'restore' | 'purge';
  owner: string;
  at: Date;
}

/** A deleted secret, as its fate is decided. */
type DeletedSecret = SecretFields & { deletedAt: Date };
const BLIND_SLOT_TRIES = 4;

export interface SecretServiceDeps {
  readonly models: Pick<Models, 'Secret' | 'SecretVersion' | 'IdempotencyKey' | 'SecretFate'>;
  readonly keyring: MasterKeyring;
  readonly audit: AuditLog;
  readonly limits: SecretLimits;
  readonly now?: () => Date;
  /** Told of each stored value no master key of this node opens (which secret, which key id; never bytes). */
  readonly onUnreadableValue?: (version: { projectId: string; secretId: string; secretName: string; version: number; keyId: string }) => void;
}

export function createSecretService(deps: SecretServiceDeps) {
  const { Secret, SecretVersion, IdempotencyKey, SecretFate } = deps.models;
  const fates = SecretFate.collection as unknown as Collection<FateDoc>;
  const { limits } = deps;
  const now = deps.now ?? (() => new Date());
  const LIVE = { deletedAt: null };
  /** Results served from an Idempotency-Key record rather than made anew: audited as replays. */
  const replayed = new WeakSet<PublicSecret>();

  // ---- names and quota slots: unique keys on the secret document ---------------
  //
  // A live secret's document carries nameKey "<projectId>/<name>" and slotKey
  // "<projectId>/<slot>" (slot: one of the project's PROJECT_SECRET_LIMIT),
  // each under a unique index; a deleted one carries "deleted/<id>" in both.
  // So the one write that makes a secret live (its insert, its restore) or
  // renames it is refused by the database itself when the name or the slot is
  // taken: no interleaving of creates, renames and restores, and no clock of
  // any node, can give two live secrets one name or one slot. Nothing is
  // claimed ahead of that write, so nothing can go stale.

  const nameKeyOf = (projectId: Types.ObjectId, name: string) => `${projectId.toHexString()}/${name}`;
  const slotKeyOf = (projectId: Types.ObjectId, slot: number) => `${projectId.toHexString()}/${slot}`;
  /** The keys of a secret that is not live: its own, so they collide with nothing. */
  const retiredKeys = (secretId: Types.ObjectId) => ({ nameKey: `deleted/${secretId.toHexString()}`, slotKey: `deleted/${secretId.toHexString()}`, slot: null });

  /**
   * After a write refused on a unique key: the live secret that holds the
   * name, when it is another's (null: none, so it was the slot). An expired
   * holder is marked deleted first, since it is gone at its expiry and so is
   * its hold on the name: then 'expired', and the write can be tried again.
   */
  async function otherHolderOf(projectId: Types.ObjectId, name: string, secretId: Types.ObjectId, at: Date): Promise<SecretFields | null | 'expired'> {
    const holder = await Secret.collection.findOne<SecretFields>({ nameKey: nameKeyOf(projectId, name) });
    if (!holder || holder._id.equals(secretId)) return null;
    if (isExpired(holder, at)) {
      await expire(holder);
      return 'expired';
    }
    return holder;
  }

  /**
   * A free quota slot of the project: the taken ones are read (expired
   * secrets give theirs up first), and a random free one is picked, so that
   * racing writers rarely pick the same. None free: QuotaExceededError.
   */
  async function freeSlot(projectId: Types.ObjectId, at: Date): Promise<number> {
    const live = await Secret.collection
      .find<SecretFields>({ projectId, deletedAt: null }, { projection: { slot: 1, deletedAt: 1, expiresAt: 1, projectId: 1, name: 1, version: 1 } })
      .toArray();
    const used = new Set<number>();
    for (const doc of live) {
      if (isExpired(doc, at)) await expire(doc);
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
  async function refillFreedSlot(projectId: Types.ObjectId, slot: number | null | undefined): Promise<void> {
    if (typeof slot !== 'number' || slot >= limits.projectSecretLimit) return;
    const over = await Secret.collection.findOne<SecretFields>({ projectId, deletedAt: null, slot: { $gte: limits.projectSecretLimit } }, { projection: { slot: 1 } });
    if (!over) return;
    await Secret.updateOne({ _id: over._id, slot: over.slot }, { $set: { slot, slotKey: slotKeyOf(projectId, slot) } }).catch((err: unknown) => {
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
    projectId: Types.ObjectId,
    secretId: Types.ObjectId,
    name: string,
    at: Date,
    write: (keys: { nameKey: string; slot: number; slotKey: string }) => Promise<void>,
  ): Promise<void> {
    const nameKey = nameKeyOf(projectId, name);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const slot = attempt < BLIND_SLOT_TRIES ? randomInt(limits.projectSecretLimit) : await freeSlot(projectId, at);
      try {
        await write({ nameKey, slot, slotKey: slotKeyOf(projectId, slot) });
        return;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      const holder = await otherHolderOf(projectId, name, secretId, at);
      if (holder && holder !== 'expired') throw new SecretNameTakenError(name);
      // Otherwise the slot was taken (or the name's holder had expired): try again.
    }
    throw new QuotaExceededError(limits.projectSecretLimit);
  }

  /** Renames a live secret through `write` (the update that sets the nameKey it is given). */
  async function takeName(projectId: Types.ObjectId, secretId: Types.ObjectId, name: string, at: Date, write: (nameKey: string) => Promise<void>): Promise<void> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        await write(nameKeyOf(projectId, name));
        return;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      const holder = await otherHolderOf(projectId, name, secretId, at);
      if (holder && holder !== 'expired') throw new SecretNameTakenError(name);
      // Released meanwhile, or its holder had expired: try again.
    }
    throw new SecretNameTakenError(name);
  }

  // ---- value versions ---------------------------------------------------------

  async function insertVersion(secret: { _id: Types.ObjectId; projectId: Types.ObjectId }, version: number, value: string, at: Date, by: string) {
    const sealed = sealValue(deps.keyring, value, {
      projectId: secret.projectId.toHexString(),
      secretId: secret._id.toHexString(),
      version,
    });
    await SecretVersion.collection.insertOne({ projectId: secret.projectId, secretId: secret._id, version, ...sealed, createdAt: at, createdBy: by });
  }

  // Hot-path reads go through the driver: the filters are already typed, and
  // mongoose's casting and query building cost CPU on every request.
  async function latestVersion(secretId: Types.ObjectId) {
    return SecretVersion.collection.findOne<{ version: number; createdAt: Date }>(
      { secretId },
      { sort: { version: -1 }, projection: { version: 1, createdAt: 1 } },
    );
  }

  /**
   * Writes `value` as the secret's next version and returns its number. With
   * `expected`, only version expected + 1 will do (compare-and-set): the
   * insert under the unique (secretId, version) index lets exactly one of
   * several writers with the same expectation win.
   */
  async function appendVersion(secret: SecretFields, value: string, at: Date, by: string, expected?: number): Promise<number> {
    if (expected !== undefined) {
      const latest = (await latestVersion(secret._id))?.version ?? 0;
      if (latest !== expected) throw new VersionMismatchError(expected, latest);
      try {
        await insertVersion(secret, expected + 1, value, at, by);
      } catch (err) {
        if (isDuplicateKeyError(err)) throw new VersionMismatchError(expected, expected + 1);
        throw err;
      }
      return expected + 1;
    }
    let version = secret.version + 1;
    for (let attempt = 1; ; attempt++) {
      try {
        await insertVersion(secret, version, value, at, by);
        return version;
      } catch (err) {
        if (!isDuplicateKeyError(err) || attempt >= ATTEMPTS) throw err;
        // Another writer claimed this version first: take the next free one.
        version = ((await latestVersion(secret._id))?.version ?? 0) + 1;
      }
    }
  }

  /**
   * Moves the secret's version pointer up to its newest version, then prunes
   * versions past the number kept. The versions collection is the truth; the
   * pointer is a copy for cheap reads. A conditional update ({version: {$lt:
   * n}}) is atomic on MongoDB but not on FerretDB, where a slow writer can set
   * an older number after a newer one. So every writer checks after its own
   * write and repairs what it sees: the writer whose write lands last also
   * checks last, and the pointer settles on the newest version.
   */
  async function settleVersions(secretId: Types.ObjectId, written: number): Promise<void> {
    for (let round = 0; round < ATTEMPTS; round++) {
      const latest = await latestVersion(secretId);
      if (!latest) return;
      // Still the newest: the pointer was moved to it by our own write, and a
      // slower writer of an older version that lands after us repairs after
      // itself. Only when a newer version exists must the pointer be checked.
      const pointer = latest.version === written && round === 0
        ? written
        : (await Secret.collection.findOne<{ version: number }>({ _id: secretId }, { projection: { version: 1 } }))?.version;
      if (pointer === undefined) return;
      if (pointer >= latest.version) {
        if (latest.version > limits.versionsKept) {
          await SecretVersion.deleteMany({ secretId, version: { $lte: latest.version - limits.versionsKept } });
        }
        return;
      }
      await Secret.updateOne(
        { _id: secretId, version: { $lt: latest.version } },
        { $set: { version: latest.version, updatedAt: latest.createdAt } },
      );
    }
  }

  /**
   * Opens a sealed version document (as the driver returns it: BSON Binary
   * fields). One that no key of the ring opens is an UnreadableValueError
   * about its secret, reported (never its bytes) to onUnreadableValue.
   */
  function openSealed(v: StoredSecretVersion, secretName: string): string {
    const { sealed, context } = sealedOf(v);
    try {
      return openValue(deps.keyring, sealed, context);
    } catch (err) {
      if (!(err instanceof DecryptionError)) throw err;
      deps.onUnreadableValue?.({ projectId: context.projectId, secretId: context.secretId, secretName, version: v.version, keyId: v.keyId });
      throw new UnreadableValueError(context.secretId, secretName);
    }
  }

  // ---- lookups ----------------------------------------------------------------

  /** The caller's live secret (see isLive) that `ref` names. */
  async function findOwned(caller: Caller, ref: SecretRef): Promise<SecretFields> {
    const scope = { projectId: new Types.ObjectId(caller.projectId), deletedAt: null };
    const at = now();
    // At most one secret not marked deleted holds a name: an expired one keeps
    // its claim until it is marked, so no other can take the name before.
    const find = async (filter: Record<string, unknown>) => {
      const doc = await Secret.collection.findOne<SecretFields>({ ...scope, ...filter });
      return doc && isLive(doc, at) ? doc : null;
    };
    let doc: SecretFields | null = null;
    if ('name' in ref) {
      doc = await find({ name: ref.name });
    } else {
      const _id = parseObjectId('id' in ref ? ref.id : ref.idOrName);
      if (_id) doc = await find({ _id });
      if (!doc && 'idOrName' in ref) doc = await find({ name: ref.idOrName });
    }
    if (!doc) throw new SecretNotFoundError();
    return doc;
  }

  // ---- expiry -------------------------------------------------------------------

  /**
   * Makes an expired secret a deleted one, as of its expiry: its name and
   * quota slot are free, it can be restored during the recovery window, and
   * the expiry is audited. Whoever meets an expired secret first does this
   * (a create wanting its name or slot, a restore, the sweep); reads never
   * wait for it, as they leave out whatever is past its expiry. The update
   * matches only the expiry seen, so an expiry extended meanwhile wins.
   */
  async function expire(doc: ExpiredSecret): Promise<void> {
    const expiredAt = doc.expiresAt;
    const marked = { _id: doc._id, deletedAt: null, expiresAt: expiredAt };
    if (limits.recoveryWindowMs === 0) {
      const { deletedCount } = await Secret.deleteOne(marked);
      if (deletedCount === 0) return;
      await purge(doc._id);
    } else {
      const purgeAt = new Date(expiredAt.getTime() + limits.recoveryWindowMs);
      const { matchedCount } = await Secret.updateOne(marked, { $set: { deletedAt: expiredAt, purgeAt, ...retiredKeys(doc._id) } });
      if (matchedCount === 0) return;
    }
    await refillFreedSlot(doc.projectId, doc.slot);
    await deps.audit.record({
      projectId: doc.projectId.toHexString(), keyId: null, door: 'system', operation: 'expire',
      secretId: doc._id.toHexString(), secretName: doc.name, version: doc.version, outcome: 'expired', requestId: null,
    });
  }

  /** Marks up to `batch` expired secrets (of one project, or of all) as deleted. */
  async function expireDue(at: Date, projectId: Types.ObjectId | undefined, batch: number): Promise<void> {
    const filter = { ...(projectId ? { projectId } : {}), deletedAt: null, expiresAt: { $lte: at } };
    const due = await Secret.collection.find<ExpiredSecret>(filter).limit(batch).toArray();
    for (const doc of due) await expire(doc);
  }

  // ---- audit --------------------------------------------------------------------

  function outcomeOf(err: unknown): string {
    if (err instanceof ForbiddenError) return 'forbidden';
    if (err instanceof VersionMismatchError) return 'version_mismatch';
    if (err instanceof QuotaExceededError) return 'quota_exceeded';
    if (err instanceof IdempotencyKeyReusedError) return 'idempotency_key_reused';
    if (err instanceof UnreadableValueError) return 'unreadable';
    if (err instanceof NotFoundError) return 'not_found';
    if (err instanceof ConflictError) return 'conflict';
    return 'error';
  }

  /**
   * Runs a mutation and records it: success after the change and before the
   * caller hears of it (so no acknowledged change lacks its record), failure
   * with its kind. Records name the secret, never its value.
   */
  async function audited(caller: Caller, operation: string, ref: SecretRef, change: () => Promise<PublicSecret>): Promise<PublicSecret> {
    const base = callerEntry(caller, operation);
    let secret: PublicSecret;
    try {
      requireScope(caller, 'secrets:write');
      secret = await change();
    } catch (err) {
      await recordFailure({ ...base, ...targetOf(ref) }, err);
      throw err;
    }
    const outcome = replayed.has(secret) ? 'replayed' : 'success';
    await deps.audit.record({ ...base, secretId: secret.id, secretName: secret.name, version: secret.version, outcome });
    return secret;
  }

  /** A refused or failed call, by its kind. It changed nothing; with the database away it cannot be recorded either. */
  async function recordFailure(entry: Omit<AuditEntry, 'outcome'>, err: unknown): Promise<void> {
    if (isDatabaseUnavailable(err)) return;
    await deps.audit.record({ ...entry, outcome: outcomeOf(err) }).catch(() => {});
  }

  // ---- idempotency -------------------------------------------------------------

  /** HMAC of the request under a key derived from a master key: see the IdempotencyKey model. */
  function fingerprint(keyId: string, request: unknown): string | undefined {
    const masterKey = deps.keyring.keys.get(keyId);
    if (!masterKey) return undefined;
    const key = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'secrets-service/idempotency/v1', 32));
    return createHmac('sha256', key).update(JSON.stringify(request)).digest('hex');
  }

  /**
   * Serves `create` once per (project, Idempotency-Key) for 24 hours: the same
   * request again gets the first result, another request with the same key
   * an IdempotencyKeyReusedError. A failed first attempt frees the key.
   */
  async function onceFor(caller: Caller, key: string, request: unknown, create: () => Promise<PublicSecret>): Promise<PublicSecret> {
    const projectId = new Types.ObjectId(caller.projectId);
    const keyId = deps.keyring.activeId;
    const mine = fingerprint(keyId, request)!;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const at = now();
      let record;
      try {
        record = await IdempotencyKey.create({
          projectId, key, fingerprint: mine, keyId, state: 'pending', createdAt: at,
          expiresAt: new Date(at.getTime() + IDEMPOTENCY_TTL_MS),
        });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        const first = await IdempotencyKey.findOne({ projectId, key }).lean();
        if (!first) continue;
        if (first.expiresAt.getTime() <= at.getTime()) {
          await IdempotencyKey.deleteOne({ _id: first._id });
          continue;
        }
        if (fingerprint(first.keyId, request) !== first.fingerprint) throw new IdempotencyKeyReusedError();
        if (first.state !== 'done' || !first.secret) {
          // Left pending by a request that vanished (a crash): it no longer blocks the key. Were
          // its request still running, the two could not both create the secret: its name decides.
          if (at.getTime() - first.createdAt.getTime() <= ABANDONED_IDEMPOTENCY_MS) throw new IdempotencyKeyInProgressError();
          await IdempotencyKey.deleteOne({ _id: first._id, state: 'pending' });
          continue;
        }
        const replay = first.secret as PublicSecret;
        const result: PublicSecret = {
          ...replay,
          createdAt: new Date(replay.createdAt),
          updatedAt: new Date(replay.updatedAt),
          deletedAt: replay.deletedAt ? new Date(replay.deletedAt) : null,
          expiresAt: replay.expiresAt ? new Date(replay.expiresAt) : null,
          ttlSeconds: replay.ttlSeconds ?? null,
        };
        replayed.add(result);
        return result;
      }
      try {
        const secret = await create();
        // The first result, to replay: the public secret only, never a value.
        await IdempotencyKey.updateOne({ _id: record._id }, { $set: { state: 'done', status: 201, secret } });
        return secret;
      } catch (err) {
        await IdempotencyKey.deleteOne({ _id: record._id });
        throw err;
      }
    }
    throw new IdempotencyKeyInProgressError();
  }

  async function createSecret(caller: Caller, input: CreateSecretInput): Promise<PublicSecret> {
    const projectId = new Types.ObjectId(caller.projectId);
    const _id = new Types.ObjectId();
    const at = now();
    const expiry = expiryFields(input.expiry ?? null, at);
    // The sealed value, then the secret itself, whose insert decides its name
    // and quota slot: the secret is visible only once its value exists, and a
    // version left by a crash before the insert is never seen (the sweep
    // collects it).
    try {
      await insertVersion({ _id, projectId }, 1, input.value, at, caller.keyId);
      const doc = {
        _id,
        projectId,
        name: input.name,
        version: 1,
        description: input.description ?? null,
        provider: input.provider ?? null,
        createdBy: caller.keyId,
        lastUpdatedBy: caller.keyId,
        createdAt: at,
        updatedAt: at,
        deletedAt: null,
        purgeAt: null,
        ...expiry,
      };
      let live: SecretFields | undefined;
      await goLive(projectId, _id, input.name, at, async (keys) => {
        const candidate = { ...doc, ...keys };
        await Secret.collection.insertOne(candidate);
        live = candidate;
      });
      return toPublicSecret(live!);
    } catch (err) {
      // With the database away the undo would only wait out server selection
      // again; the version left is invisible, and the sweep collects it.
      if (isDatabaseUnavailable(err)) throw err;
      // A write that failed ambiguously (the answer lost, say) may have been
      // applied: a secret that exists is not undone, it is the result.
      const exists = await Secret.collection.findOne<SecretFields>({ _id });
      if (exists) return toPublicSecret(exists);
      await SecretVersion.deleteMany({ secretId: _id });
      throw err;
    }
  }

  /** Removes a secret for good: the secret first, so nothing half-purged is visible. */
  async function purge(secretId: Types.ObjectId): Promise<void> {
    await Secret.deleteOne({ _id: secretId });
    await SecretVersion.deleteMany({ secretId });
    await SecretFate.deleteMany({ secretId });
  }

  /**
   * Sealed versions whose secret does not exist, left by a crash between a
   * create's two writes or a purge's: old enough that no create still in
   * progress can be theirs (a day; clocks an hour apart change nothing).
   */
  let lastOrphanSweep = 0;
  async function collectOrphanVersions(at: Date): Promise<void> {
    const cutoff = new Date(at.getTime() - ORPHAN_VERSION_AGE_MS);
    const ids = await SecretVersion.collection.distinct('secretId', { createdAt: { $lt: cutoff } }) as Types.ObjectId[];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const existing = new Set((await Secret.collection.find({ _id: { $in: chunk } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id.toHexString()));
      const orphans = chunk.filter((id) => !existing.has(id.toHexString()));
      if (orphans.length > 0) await SecretVersion.deleteMany({ secretId: { $in: orphans }, createdAt: { $lt: cutoff } });
    }
  }

  // ---- the fate of a deleted secret: restored or purged, never both -----------

  const fateIdOf = (doc: DeletedSecret) => `${doc._id.toHexString()}:${doc.deletedAt.getTime()}`;

  /**
   * Takes the fate of this deletion of the secret for `action`: the insert
   * under the fate's _id decides between a restore and a purge (and between
   * two of either). When another request holds it, what that one does,
   * unless it has held it so long that it was abandoned.
   */
  async function takeFate(doc: DeletedSecret, action: FateDoc['action'], owner: string, at: Date): Promise<true | FateDoc['action']> {
    const _id = fateIdOf(doc);
    let held: FateDoc | null = null;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fates.insertOne({ _id, secretId: doc._id, action, owner, at });
        return true;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      held = await fates.findOne({ _id });
      if (held && at.getTime() - held.at.getTime() < ABANDONED_FATE_MS) return held.action;
      if (held) await fates.deleteOne({ _id, owner: held.owner });
    }
    return held?.action ?? action;
  }

  const holdsFate = async (doc: DeletedSecret, owner: string) => (await fates.findOne({ _id: fateIdOf(doc) }))?.owner === owner;

  /**
   * A project keeps at most PROJECT_DELETED_LIMIT deleted secrets: past it,
   * the oldest deletions are purged, as the sweep would (a restore that got
   * one's fate first keeps it). Deletes racing past the limit purge the same
   * oldest ones, so none purges more than needed.
   */
  async function keepDeletedWithinLimit(projectId: Types.ObjectId): Promise<void> {
    const deleted = { projectId, deletedAt: { $ne: null } };
    const over = (await Secret.collection.countDocuments(deleted)) - limits.projectDeletedLimit;
    if (over <= 0) return;
    const oldest = await Secret.collection
      .find<DeletedSecret>(deleted, { projection: { _id: 1, deletedAt: 1 } })
      .sort({ deletedAt: 1, _id: 1 })
      .limit(over)
      .toArray();
    for (const doc of oldest) await purgeDeleted(doc);
  }

  /**
   * Purges a deleted secret whose window has passed, unless a restore got
   * its fate first, or restored it meanwhile: only what is still deleted
   * (by this same deletion) is purged.
   */
  async function purgeDeleted(doc: DeletedSecret): Promise<boolean> {
    if ((await takeFate(doc, 'purge', randomUUID(), now())) !== true) return false;
    const current = await Secret.collection.findOne<{ deletedAt: Date | null }>({ _id: doc._id }, { projection: { deletedAt: 1 } });
    if (current?.deletedAt?.getTime() !== doc.deletedAt.getTime()) {
      // Purged already by another sweep: the fate this one just took is all that is left of it.
      if (!current) await SecretFate.deleteMany({ secretId: doc._id });
      return false;
    }
    await purge(doc._id);
    return true;
  }

  return {
    /** Creates a secret; with an idempotency key, at most once per key and request. */
    create(caller: Caller, input: CreateSecretInput, options: { idempotencyKey?: string | undefined } = {}): Promise<PublicSecret> {
      return audited(caller, 'create', { name: input.name }, () => {
        if (options.idempotencyKey === undefined) return createSecret(caller, input);
        const request = { door: caller.door, operation: 'create', input: { ...input, description: input.description ?? null, provider: input.provider ?? null } };
        return onceFor(caller, options.idempotencyKey, request, () => createSecret(caller, input));
      });
    },

    /**
     * Changes a secret's value and/or metadata. A new value becomes a new
     * version; with `expectedVersion`, only if the secret is still at that
     * version. A new name is taken by the same write as the other changes,
     * refused by the unique nameKey when another live secret holds it
     * (renaming to its own name changes nothing); absent fields stay as they are.
     */
    update(caller: Caller, ref: SecretRef, change: SecretChange, options: { expectedVersion?: number | undefined } = {}): Promise<PublicSecret> {
      return audited(caller, change.value === undefined ? 'update_metadata' : 'update', ref, async () => {
        const current = await findOwned(caller, ref);
        const expected = options.expectedVersion;
        if (expected !== undefined && change.value === undefined && current.version !== expected) {
          throw new VersionMismatchError(expected, current.version);
        }
        const at = now();
        const set: Partial<SecretFields> = {};
        const renamed = change.name !== undefined && change.name !== current.name;
        if (change.description !== undefined && change.description !== current.description) set.description = change.description;
        if (change.provider !== undefined && change.provider !== current.provider) set.provider = change.provider;
        if (change.expiry !== undefined) {
          Object.assign(set, expiryFields(change.expiry, at));
        } else if (change.value !== undefined && current.ttlSeconds) {
          // A new value restarts the secret's lifetime, as Together's does.
          set.expiresAt = new Date(at.getTime() + current.ttlSeconds * 1000);
        }
        if (Object.keys(set).length === 0 && !renamed && change.value === undefined) return toPublicSecret(current);

        const version = change.value === undefined
          ? current.version
          : await appendVersion(current, change.value, at, caller.keyId, expected);
        const changes = { ...set, lastUpdatedBy: caller.keyId, updatedAt: at };
        const write = async (nameKey?: string) => {
          const named = nameKey === undefined ? {} : { name: change.name, nameKey };
          if (version === current.version) {
            await Secret.updateOne({ _id: current._id }, { $set: { ...changes, ...named } });
            return;
          }
          // One write moves the pointer and the metadata; if a newer version
          // got there first, the metadata goes alone.
          const { matchedCount } = await Secret.updateOne({ _id: current._id, version: { $lt: version } }, { $set: { ...changes, ...named, version } });
          if (matchedCount === 0) await Secret.updateOne({ _id: current._id }, { $set: { ...changes, ...named } });
        };
        try {
          if (renamed) await takeName(current.projectId, current._id, change.name!, at, write);
          else await write();
        } catch (err) {
          // The name was taken: the new value was not made the secret's either.
          if (version !== current.version) await SecretVersion.deleteOne({ secretId: current._id, version });
          throw err;
        }
        if (version !== current.version) await settleVersions(current._id, version);
        const name = renamed ? change.name! : current.name;
        return toPublicSecret({ ...current, ...set, name, version, lastUpdatedBy: caller.keyId, updatedAt: at });
      });
    },

    async get(caller: Caller, ref: SecretRef): Promise<PublicSecret> {
      requireScope(caller, 'secrets:read');
      return toPublicSecret(await findOwned(caller, ref));
    },

    /** The caller's live secrets in name order, `first` of them after the name `after`. */
    async list(caller: Caller, page: { first: number; after?: string | undefined }) {
      requireScope(caller, 'secrets:read');
      const live = liveFilter(now());
      const filter = page.after === undefined
        ? { projectId: caller.projectId, ...live }
        : { projectId: caller.projectId, ...live, name: { $gt: page.after } };
      const docs = await Secret.find(filter).sort({ name: 1 }).limit(page.first + 1).lean();
      return { secrets: docs.slice(0, page.first).map(toPublicSecret), hasNextPage: docs.length > page.first };
    },

    /** Every live secret of the caller's project, in name order (the REST lists have no pages). */
    async listAll(caller: Caller): Promise<PublicSecret[]> {
      requireScope(caller, 'secrets:read');
      const docs = await Secret.find({ projectId: caller.projectId, ...liveFilter(now()) }).sort({ name: 1 }).lean();
      return docs.map(toPublicSecret);
    },

    /** The caller's deleted secrets still in their recovery window, newest deletion first. */
    async listDeleted(caller: Caller, page: { first: number; after?: DeletedCursor | undefined }) {
      requireScope(caller, 'secrets:read');
      const projectId = new Types.ObjectId(caller.projectId);
      // Expired secrets are deleted ones: mark them first (a project has at
      // most its limit of secrets that are not), so they are listed as such.
      if (page.after === undefined) await expireDue(now(), projectId, limits.projectSecretLimit);
      const after = page.after === undefined ? {} : {
        $or: [{ deletedAt: { $lt: page.after.deletedAt } }, { deletedAt: page.after.deletedAt, _id: { $lt: new Types.ObjectId(page.after.id) } }],
      };
      const docs = await Secret.collection
        .find<SecretFields>({ projectId, deletedAt: { $ne: null }, ...after })
        .sort({ deletedAt: -1, _id: -1 })
        .limit(page.first + 1)
        .toArray();
      return { secrets: docs.slice(0, page.first).map(toPublicSecret), hasNextPage: docs.length > page.first };
    },

    /** A secret's versions, newest first: numbers, times and authors, never values. */
    async versions(caller: Caller, ref: SecretRef, page: { first: number; before?: number | undefined }) {
      requireScope(caller, 'secrets:read');
      const secret = await findOwned(caller, ref);
      const filter = page.before === undefined ? { secretId: secret._id } : { secretId: secret._id, version: { $lt: page.before } };
      const docs = await SecretVersion.find(filter, { version: 1, createdAt: 1, createdBy: 1 }).sort({ version: -1 }).limit(page.first + 1).lean();
      const versions: SecretVersionInfo[] = docs.slice(0, page.first).map((v) => ({ version: v.version, createdAt: v.createdAt, createdBy: v.createdBy }));
      return { versions, hasNextPage: docs.length > page.first };
    },

    /**
     * Deletes a secret: it leaves every list and lookup, its name and quota
     * slot are freed at once, and it can be restored until its recovery window
     * ends (with a window of 0 it is purged at once).
     */
    delete(caller: Caller, ref: SecretRef): Promise<PublicSecret> {
      return audited(caller, 'delete', ref, async () => {
        const current = await findOwned(caller, ref);
        const at = now();
        if (limits.recoveryWindowMs === 0) {
          await purge(current._id);
          await refillFreedSlot(current.projectId, current.slot);
          return toPublicSecret(current);
        }
        const purgeAt = new Date(at.getTime() + limits.recoveryWindowMs);
        // Its name and quota slot are free the moment it is deleted.
        const { matchedCount } = await Secret.updateOne(
          { _id: current._id, ...LIVE },
          { $set: { deletedAt: at, purgeAt, lastUpdatedBy: caller.keyId, ...retiredKeys(current._id) } },
        );
        if (matchedCount === 0) throw new SecretNotFoundError();
        await refillFreedSlot(current.projectId, current.slot);
        await keepDeletedWithinLimit(current.projectId);
        return toPublicSecret({ ...current, deletedAt: at, purgeAt, lastUpdatedBy: caller.keyId });
      });
    },

    /** Brings a deleted secret back, if its name is still free and the project has room. */
    restore(caller: Caller, id: string): Promise<PublicSecret> {
      return audited(caller, 'restore', { id }, async () => {
        const _id = parseObjectId(id);
        const projectId = new Types.ObjectId(caller.projectId);
        const lookup = () => (_id ? Secret.collection.findOne<SecretFields>({ _id, projectId }) : Promise.resolve(null));
        const at = now();
        let deleted = await lookup();
        if (!deleted) throw new SecretNotFoundError();
        // Restoring a live secret changes nothing.
        if (isLive(deleted, at)) return toPublicSecret(deleted);
        if (isExpired(deleted, at)) {
          await expire(deleted);
          deleted = await lookup();
          if (!deleted || deleted.deletedAt === null) throw new SecretNotFoundError();
        }
        const gone = deleted as DeletedSecret;
        // Its recovery window has passed: it is as good as purged, whether the sweep got there or not.
        if (!gone.purgeAt || gone.purgeAt.getTime() <= at.getTime()) throw new SecretNotFoundError();
        // A purge (or another restore) that took this deletion's fate first wins.
        const owner = randomUUID();
        const taken = await takeFate(gone, 'restore', owner, at);
        if (taken === 'purge') throw new SecretNotFoundError();
        if (taken === 'restore') throw new ConflictError('This secret is being restored by another request; retry shortly');
        // Back from past its expiry: a lifetime starts again, an instant is cleared.
        const rearmed = gone.expiresAt && gone.expiresAt.getTime() <= at.getTime()
          ? expiryFields(gone.ttlSeconds ? { ttlSeconds: gone.ttlSeconds } : null, at)
          : {};
        const restored = { deletedAt: null, purgeAt: null, lastUpdatedBy: caller.keyId, updatedAt: at, ...rearmed };
        let keys: { nameKey: string; slot: number; slotKey: string } | undefined;
        try {
          // The one write that brings it back is refused if its name or every quota slot is taken.
          await goLive(gone.projectId, gone._id, gone.name, at, async (candidate) => {
            keys = candidate;
            const { matchedCount } = await Secret.updateOne({ _id: gone._id, deletedAt: gone.deletedAt }, { $set: { ...restored, ...candidate } });
            if (matchedCount === 0) throw new SecretNotFoundError();
          });
        } catch (err) {
          // Not restored: its fate is free again for a later restore or the purge.
          await fates.deleteOne({ _id: fateIdOf(gone), owner });
          throw err;
        }
        // The fate stays taken (so no purge of this deletion can follow); had
        // it been taken over as abandoned meanwhile, the restore did not happen.
        if (!(await holdsFate(gone, owner))) throw new SecretNotFoundError();
        return toPublicSecret({ ...gone, ...restored, ...keys! });
      });
    },

    /**
     * Marks expired secrets as deleted (audited as `expired`), purges deleted
     * secrets whose recovery window has passed, and forgets expired
     * idempotency keys (FerretDB has no TTL indexes). Returns how many
     * secrets were purged. Safe to run from several nodes at once.
     */
    async sweep(batch = 100, budgetMs = SWEEP_BUDGET_MS): Promise<number> {
      const started = Date.now();
      const at = now();
      await IdempotencyKey.deleteMany({ expiresAt: { $lte: at } });
      // Batch after batch until nothing is due (or the budget is spent, and
      // the next sweep goes on), so that it keeps up with deletions however
      // fast they come.
      let purged = 0;
      for (let more = true; more && Date.now() - started < budgetMs;) {
        await expireDue(at, undefined, batch);
        const due = await Secret.collection
          .find<DeletedSecret>({ purgeAt: { $lte: at }, deletedAt: { $ne: null } }, { projection: { _id: 1, deletedAt: 1 } })
          .limit(batch)
          .toArray();
        for (const doc of due) if (await purgeDeleted(doc)) purged++;
        more = due.length === batch;
      }
      if (at.getTime() - lastOrphanSweep >= ORPHAN_SWEEP_INTERVAL_MS) {
        lastOrphanSweep = at.getTime();
        await collectOrphanVersions(at);
      }
      return purged;
    },

    /**
     * The value of a secret (its current version, or `version`): the one
     * read path that returns a value. Needs secrets:reveal; every reveal is
     * audited (who, which secret and version; never the value).
     */
    async reveal(caller: Caller, ref: SecretRef, version?: number): Promise<{ secret: PublicSecret; version: number; value: string }> {
      const base = callerEntry(caller, 'reveal');
      try {
        requireScope(caller, 'secrets:reveal');
        const secret = await findOwned(caller, ref);
        const wanted = version ?? secret.version;
        const sealed = await SecretVersion.collection.findOne<StoredSecretVersion>({ secretId: secret._id, version: wanted });
        if (!sealed) throw new SecretNotFoundError();
        const value = openSealed(sealed, secret.name);
        await deps.audit.record({ ...base, secretId: secret._id.toHexString(), secretName: secret.name, version: wanted, outcome: 'success' });
        return { secret: toPublicSecret(secret), version: wanted, value };
      } catch (err) {
        await recordFailure({ ...base, ...targetOf(ref), version: version ?? null }, err);
        throw err;
      }
    },

    /**
     * Every live secret's current value, by name (for workloads): one audit
     * event per secret. A secret whose value no key of this node opens is
     * named in `unreadable` (and reported), not a failure of the whole call.
     */
    async revealAll(caller: Caller): Promise<{ values: Record<string, string>; unreadable: string[] }> {
      try {
        requireScope(caller, 'secrets:reveal');
      } catch (err) {
        // Refused as a single reveal is: audited.
        await recordFailure(callerEntry(caller, 'reveal'), err);
        throw err;
      }
      const secrets = await Secret.collection
        .find<SecretFields>({ projectId: new Types.ObjectId(caller.projectId), ...liveFilter(now()) }, { projection: { name: 1, version: 1 } })
        .toArray();
      if (secrets.length === 0) return { values: {}, unreadable: [] };
      const sealed = await SecretVersion.collection
        .find<StoredSecretVersion>({ $or: secrets.map((s) => ({ secretId: s._id, version: s.version })) })
        .toArray();
      const byId = new Map(sealed.map((v) => [v.secretId.toHexString(), v]));
      // A version pruned between the two reads (a concurrent update moved the
      // pointer on): that secret's newest version, never a dropped secret.
      for (const secret of secrets) {
        if (byId.has(secret._id.toHexString())) continue;
        const newest = await SecretVersion.collection.findOne<StoredSecretVersion>({ secretId: secret._id }, { sort: { version: -1 } });
        if (newest) byId.set(secret._id.toHexString(), newest);
      }
      // No prototype: a secret named __proto__ is a value like any other.
      const values: Record<string, string> = Object.create(null);
      const unreadable: string[] = [];
      const events = [];
      for (const secret of secrets.sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const version = byId.get(secret._id.toHexString());
        if (!version) continue; // purged at this instant
        try {
          values[secret.name] = openSealed(version, secret.name);
        } catch (err) {
          if (!(err instanceof UnreadableValueError)) throw err;
          unreadable.push(secret.name);
          continue;
        }
        events.push({
          ...callerEntry(caller, 'reveal'),
          secretId: secret._id.toHexString(), secretName: secret.name, version: version.version, outcome: 'success',
        });
      }
      await deps.audit.recordMany(events);
      return { values, unreadable };
    },

    /**
     * Masked previews of the secrets' current values (see mask.ts), opened
     * here and never returned whole. The secrets must be ones the caller got
     * from this service, so they are the caller's own.
     */
    async maskedValues(secrets: readonly PublicSecret[]): Promise<Map<string, string>> {
      if (secrets.length === 0) return new Map();
      const wanted = secrets.map((s) => ({ secretId: new Types.ObjectId(s.id), version: s.version }));
      const versions = await SecretVersion.collection.find<StoredSecretVersion>({ $or: wanted }).toArray();
      const names = new Map(secrets.map((s) => [s.id, s.name]));
      const masks = new Map<string, string>();
      for (const v of versions) {
        const id = v.secretId.toHexString();
        try {
          masks.set(id, maskValue(openSealed(v, names.get(id) ?? id)));
        } catch (err) {
          // A value this node cannot open has no preview (it is reported); the list still answers.
          if (!(err instanceof UnreadableValueError)) throw err;
        }
      }
      return masks;
    },
  };
}

export type SecretService = ReturnType<typeof createSecretService>;
