// All business logic on secrets. Doors (GraphQL, REST dialects) convert shapes
// around one call here; this module knows nothing of HTTP or GraphQL.
//
// Neither FerretDB nor our use of MongoDB has transactions, so every race is
// decided by an insert under a unique index, and writes are ordered so that a
// crash at any step leaves nothing visible half-made:
//   secret_slots     (projectId, slot)     the project's quota
//   secret_names     (projectId, name)     who holds a name
//   secret_versions  (secretId, version)   who writes a version
//   idempotency_keys (projectId, key)      who serves an Idempotency-Key
import { createHmac, hkdfSync, randomInt, randomUUID } from 'node:crypto';
import type { Collection } from 'mongodb';
import { Types } from 'mongoose';
import { type AuditEntry, type AuditLog, callerEntry } from '../audit/service.ts';
import type { Caller } from '../auth/authenticator.ts';
import { ForbiddenError } from '../auth/errors.ts';
import { requireScope } from '../auth/scopes.ts';
import type { SecretLimits } from '../config.ts';
import { type MasterKeyring, openValue, sealValue } from '../crypto/envelope.ts';
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
/**
 * A claim (of a name or a quota slot) whose secret does not hold it is left
 * over from a crash, or from a rename between its steps, or belongs to a
 * create still in progress. Only the first can be taken over, so a claim must
 * be this old before anyone takes it.
 */
const STALE_CLAIM_MS = 30_000;
const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
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
  readonly models: Pick<Models, 'Secret' | 'SecretName' | 'SecretVersion' | 'SecretSlot' | 'IdempotencyKey' | 'SecretFate'>;
  readonly keyring: MasterKeyring;
  readonly audit: AuditLog;
  readonly limits: SecretLimits;
  readonly now?: () => Date;
}

export function createSecretService(deps: SecretServiceDeps) {
  const { Secret, SecretName, SecretVersion, SecretSlot, IdempotencyKey, SecretFate } = deps.models;
  const fates = SecretFate.collection as unknown as Collection<FateDoc>;
  const { limits } = deps;
  const now = deps.now ?? (() => new Date());
  const LIVE = { deletedAt: null };
  /** Results served from an Idempotency-Key record rather than made anew: audited as replays. */
  const replayed = new WeakSet<PublicSecret>();

  // ---- claims decided by unique indexes -------------------------------------

  /** Makes `name` the secret's. Already the secret's: nothing to do. */
  async function claimName(projectId: Types.ObjectId, name: string, secretId: Types.ObjectId, at: Date): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await SecretName.collection.insertOne({ projectId, name, secretId, createdAt: at });
        return;
      } catch (err) {
        if (!isDuplicateKeyError(err) || attempt >= ATTEMPTS) throw err;
      }
      const holder = await SecretName.findOne({ projectId, name }).lean();
      if (!holder) continue; // released meanwhile: try again
      if (holder.secretId.equals(secretId)) return;
      const holding = await Secret.collection.findOne<SecretFields>({ _id: holder.secretId });
      // An expired secret is gone at its expiry, and so is its hold on the name.
      if (holding && isExpired(holding, at)) {
        await expire(holding);
        continue;
      }
      const stale = at.getTime() - holder.createdAt.getTime() > STALE_CLAIM_MS
        && !(holding && holding.name === name && holding.deletedAt === null);
      if (!stale) throw new SecretNameTakenError(name);
      await SecretName.deleteOne({ _id: holder._id });
    }
  }

  /**
   * Takes one of the project's free quota slots for the secret, or throws
   * QuotaExceededError. The first tries are random slots, blind: in a project
   * below its limit one of them is almost always free (all four are taken at
   * 50% full one time in 16), so a create costs one insert and no read
   * however many secrets the project has. Then the taken slots are read and
   * a random free one is tried, so that racing creates rarely pick the same.
   */
  async function claimSlot(projectId: Types.ObjectId, secretId: Types.ObjectId, at: Date): Promise<void> {
    const tryInsert = async (slot: number) => {
      try {
        await SecretSlot.collection.insertOne({ projectId, slot, secretId, createdAt: at });
        return true;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        return false;
      }
    };
    // Blind tries: each fails only as often as the project is full.
    for (let blind = 0; blind < BLIND_SLOT_TRIES; blind++) {
      if (await tryInsert(randomInt(limits.projectSecretLimit))) return;
    }
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const taken = await SecretSlot.find({ projectId }, { slot: 1, secretId: 1, createdAt: 1 }).lean();
      if (taken.some((s) => s.secretId.equals(secretId))) return;
      const used = new Set(taken.map((s) => s.slot));
      const free: number[] = [];
      for (let slot = 0; slot < limits.projectSecretLimit; slot++) if (!used.has(slot)) free.push(slot);
      if (free.length === 0) {
        if (!(await releaseStaleSlot(taken, at))) throw new QuotaExceededError(limits.projectSecretLimit);
        continue;
      }
      if (await tryInsert(free[randomInt(free.length)]!)) return;
    }
    throw new QuotaExceededError(limits.projectSecretLimit);
  }

  /**
   * Frees slots of a full project: those of expired secrets (gone at their
   * expiry, whatever their age), else those left by a crash (their secret is
   * not live, and they are old).
   */
  async function releaseStaleSlot(taken: { _id: Types.ObjectId; secretId: Types.ObjectId; createdAt: Date }[], at: Date) {
    const expired = await Secret.collection
      .find<ExpiredSecret>({ _id: { $in: taken.map((s) => s.secretId) }, deletedAt: null, expiresAt: { $lte: at } })
      .toArray();
    for (const doc of expired) await expire(doc);
    if (expired.length > 0) return true;
    const old = taken.filter((s) => at.getTime() - s.createdAt.getTime() > STALE_CLAIM_MS);
    if (old.length === 0) return false;
    const live = new Set(
      (await Secret.find({ _id: { $in: old.map((s) => s.secretId) }, ...LIVE }, { _id: 1 }).lean()).map((s) => s._id.toHexString()),
    );
    const stale = old.filter((s) => !live.has(s.secretId.toHexString()));
    if (stale.length === 0) return false;
    await SecretSlot.deleteMany({ _id: { $in: stale.map((s) => s._id) } });
    return true;
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

  /** After a rename: the secret keeps exactly the claim of the name it now has. */
  async function settleClaims(secretId: Types.ObjectId, at: Date): Promise<void> {
    const secret = await Secret.findById(secretId, { projectId: 1, name: 1 }).lean();
    if (!secret) return;
    await claimName(secret.projectId, secret.name, secretId, at).catch(() => {});
    await SecretName.deleteMany({ secretId, name: { $ne: secret.name } });
  }

  /** Opens a sealed version document (as the driver returns it: BSON Binary fields). */
  function openSealed(v: StoredSecretVersion): string {
    const { sealed, context } = sealedOf(v);
    return openValue(deps.keyring, sealed, context);
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
      const { matchedCount } = await Secret.updateOne(marked, { $set: { deletedAt: expiredAt, purgeAt } });
      if (matchedCount === 0) return;
      await SecretName.deleteMany({ secretId: doc._id });
      await SecretSlot.deleteMany({ secretId: doc._id });
    }
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
        if (first.state !== 'done' || !first.secret) throw new IdempotencyKeyInProgressError();
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
    // Quota slot, then name, then sealed value, then the secret itself: the
    // secret is visible only once everything it needs exists, and whatever a
    // crash leaves before that is taken back (or goes stale) without showing.
    const undo = async () => {
      await SecretVersion.deleteMany({ secretId: _id });
      await SecretName.deleteMany({ secretId: _id });
      await SecretSlot.deleteMany({ secretId: _id });
    };
    try {
      await claimSlot(projectId, _id, at);
      await claimName(projectId, input.name, _id, at);
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
      await Secret.collection.insertOne(doc);
      return toPublicSecret(doc);
    } catch (err) {
      // With the database away the undo would only wait out server selection
      // again; what is left is invisible, and its claims go stale.
      if (!isDatabaseUnavailable(err)) await undo();
      throw err;
    }
  }

  /** Removes a secret for good: the secret first, so nothing half-purged is visible. */
  async function purge(secretId: Types.ObjectId): Promise<void> {
    await Secret.deleteOne({ _id: secretId });
    await SecretVersion.deleteMany({ secretId });
    await SecretName.deleteMany({ secretId });
    await SecretSlot.deleteMany({ secretId });
    await SecretFate.deleteMany({ secretId });
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
    if (current?.deletedAt?.getTime() !== doc.deletedAt.getTime()) return false;
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
     * version. A new name is claimed before the secret takes it (renaming to
     * its own name changes nothing); absent fields stay as they are.
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
        if (renamed) {
          await claimName(current.projectId, change.name!, current._id, at);
          set.name = change.name;
        }
        if (change.description !== undefined && change.description !== current.description) set.description = change.description;
        if (change.provider !== undefined && change.provider !== current.provider) set.provider = change.provider;
        if (change.expiry !== undefined) {
          Object.assign(set, expiryFields(change.expiry, at));
        } else if (change.value !== undefined && current.ttlSeconds) {
          // A new value restarts the secret's lifetime, as Together's does.
          set.expiresAt = new Date(at.getTime() + current.ttlSeconds * 1000);
        }
        if (Object.keys(set).length === 0 && change.value === undefined) return toPublicSecret(current);

        const version = change.value === undefined
          ? current.version
          : await appendVersion(current, change.value, at, caller.keyId, expected);
        const changes = { ...set, lastUpdatedBy: caller.keyId, updatedAt: at };
        if (version === current.version) {
          await Secret.updateOne({ _id: current._id }, { $set: changes });
        } else {
          // One write moves the pointer and the metadata; if a newer version
          // got there first, the metadata goes alone.
          const { matchedCount } = await Secret.updateOne({ _id: current._id, version: { $lt: version } }, { $set: { ...changes, version } });
          if (matchedCount === 0) await Secret.updateOne({ _id: current._id }, { $set: changes });
          await settleVersions(current._id, version);
        }
        if (renamed) await settleClaims(current._id, at);
        return toPublicSecret({ ...current, ...set, version, lastUpdatedBy: caller.keyId, updatedAt: at });
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
          return toPublicSecret(current);
        }
        const purgeAt = new Date(at.getTime() + limits.recoveryWindowMs);
        const { matchedCount } = await Secret.updateOne(
          { _id: current._id, ...LIVE },
          { $set: { deletedAt: at, purgeAt, lastUpdatedBy: caller.keyId } },
        );
        if (matchedCount === 0) throw new SecretNotFoundError();
        await SecretName.deleteMany({ secretId: current._id });
        await SecretSlot.deleteMany({ secretId: current._id });
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
        const release = async () => {
          await SecretSlot.deleteMany({ secretId: gone._id });
          await fates.deleteOne({ _id: fateIdOf(gone), owner });
        };
        // Back from past its expiry: a lifetime starts again, an instant is cleared.
        const rearmed = gone.expiresAt && gone.expiresAt.getTime() <= at.getTime()
          ? expiryFields(gone.ttlSeconds ? { ttlSeconds: gone.ttlSeconds } : null, at)
          : {};
        try {
          await claimSlot(gone.projectId, gone._id, at);
          await claimName(gone.projectId, gone.name, gone._id, at);
        } catch (err) {
          await release();
          throw err;
        }
        const restored = { deletedAt: null, purgeAt: null, lastUpdatedBy: caller.keyId, updatedAt: at, ...rearmed };
        await Secret.updateOne({ _id: gone._id }, { $set: restored });
        // The fate stays taken (so no purge of this deletion can follow); had
        // it been taken over as abandoned meanwhile, the restore did not happen.
        if (!(await holdsFate(gone, owner))) throw new SecretNotFoundError();
        return toPublicSecret({ ...gone, ...restored });
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
        const value = openSealed(sealed);
        await deps.audit.record({ ...base, secretId: secret._id.toHexString(), secretName: secret.name, version: wanted, outcome: 'success' });
        return { secret: toPublicSecret(secret), version: wanted, value };
      } catch (err) {
        await recordFailure({ ...base, ...targetOf(ref), version: version ?? null }, err);
        throw err;
      }
    },

    /** Every live secret's current value, by name (for workloads): one audit event per secret. */
    async revealAll(caller: Caller): Promise<Record<string, string>> {
      requireScope(caller, 'secrets:reveal');
      const secrets = await Secret.collection
        .find<SecretFields>({ projectId: new Types.ObjectId(caller.projectId), ...liveFilter(now()) }, { projection: { name: 1, version: 1 } })
        .toArray();
      if (secrets.length === 0) return {};
      const sealed = await SecretVersion.collection
        .find<StoredSecretVersion>({ $or: secrets.map((s) => ({ secretId: s._id, version: s.version })) })
        .toArray();
      const byId = new Map(sealed.map((v) => [v.secretId.toHexString(), v]));
      const values: Record<string, string> = {};
      const events = [];
      for (const secret of secrets.sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const version = byId.get(secret._id.toHexString());
        if (!version) continue; // pruned or being written at this instant
        values[secret.name] = openSealed(version);
        events.push({
          ...callerEntry(caller, 'reveal'),
          secretId: secret._id.toHexString(), secretName: secret.name, version: version.version, outcome: 'success',
        });
      }
      await deps.audit.recordMany(events);
      return values;
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
      return new Map(versions.map((v) => [v.secretId.toHexString(), maskValue(openSealed(v))]));
    },
  };
}

export type SecretService = ReturnType<typeof createSecretService>;
