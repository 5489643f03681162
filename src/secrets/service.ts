// The secret service: policy. Doors (GraphQL, REST dialects) convert shapes
// around one call here; this module knows nothing of HTTP or GraphQL, and
// nothing of how secrets are stored: it asks a SecretStore (store.ts), which
// makes writes safe against racing writers. Here: who may do what (scopes),
// the write lifecycle (create, compare-and-set, renames, lifetimes, delete,
// restore, sweep), sealing new values and the audit of each call; opening
// values (the reveal paths, previews, comparisons) is reveal.ts's.
import { type AuditLog, callerEntry } from '../audit/service.ts';
import type { Caller } from '../auth/caller.ts';
import { requireScope } from '../auth/scopes.ts';
import { type MasterKeyring, sealValue } from '../crypto/envelope.ts';
import type { SecretLimits } from '../config.ts';
import type { EventLog, EventType } from '../events/log.ts';
import { callerNamespace, publicOf } from './access.ts';
import { type ChangeKind, createAuditedCalls } from './audited.ts';
import { createHistory } from './history.ts';
import { createInheritance, type Placed } from './inheritance.ts';
import { createRevealer } from './reveal.ts';
import { ConflictError, EnvironmentNotFoundError, InvalidFieldError, SecretNameTakenError, SecretNotFoundError, VersionMismatchError } from './errors.ts';
import { createIdempotency } from './idempotency.ts';
import type { PublicSecret, SecretVersionInfo } from './model.ts';
import type { CreateSecretInput, ExpiryChange, SecretChange } from './rules.ts';
import type { DeletedCursor, ListPage, MetadataChange, Namespace, OverrideRecord, SecretLocator, SecretRecord, SecretStore, Sealer } from './store.ts';

export type { PublicSecret, SecretVersionInfo } from './model.ts';
export type { DeletedCursor } from './store.ts';
export type { MatrixRow } from './reveal.ts';
export { restorableUntil } from './access.ts';
/** How a caller names a secret: by id, by name, or (Together) by either. */
export type SecretRef = SecretLocator;

/** How long one sweep may go on; whatever is left waits for the next. */
const SWEEP_BUDGET_MS = 30_000;

/** The expiry fields a change sets, computed on the service's clock. */
function expiryFields(change: ExpiryChange, at: Date): { expiresAt: Date | null; ttlSeconds: number | null } {
  if (change === null) return { expiresAt: null, ttlSeconds: null };
  if ('ttlSeconds' in change) return { expiresAt: new Date(at.getTime() + change.ttlSeconds * 1000), ttlSeconds: change.ttlSeconds };
  if (change.at.getTime() <= at.getTime()) throw new InvalidFieldError('expiresAt', 'expiresAt must be in the future');
  return { expiresAt: change.at, ttlSeconds: null };
}

/** The audit event of a secret the store marked deleted at its expiry. */
export function expiredEvent(secret: PublicSecret) {
  return {
    projectId: secret.projectId,
    keyId: null,
    door: 'system' as const,
    environment: secret.environment,
    operation: 'expire',
    secretId: secret.id,
    secretName: secret.name,
    version: secret.version,
    outcome: 'expired',
    requestId: null,
  };
}

export interface SecretServiceDeps {
  readonly store: SecretStore;
  readonly keyring: MasterKeyring;
  readonly audit: AuditLog;
  /** Where committed changes are recorded as change events. */
  readonly events?: EventLog;
  readonly now?: () => Date;
  /** The bounds on expanding references (default: DEFAULT_LIMITS). */
  readonly limits?: Pick<SecretLimits, 'referenceExpansionMax' | 'referencesPerRequestMax'>;
  /**
   * Told that a key set its first personal override, to remember it with the
   * key (so that keys without one read none); absent, every read looks.
   */
  readonly noteOverrides?: (keyId: string) => Promise<void>;
  /** How far back an environment's past is rebuilt: the change events' retention (EVENT_RETENTION_DAYS; default 7 days). */
  readonly historyWindowMs?: number;
  /** Told of each stored value no master key of this node opens (which secret, which key id; never bytes). */
  readonly onUnreadableValue?: (version: { projectId: string; secretId: string; secretName: string; version: number; keyId: string }) => void;
}

export function createSecretService(deps: SecretServiceDeps) {
  const { store } = deps;
  const now = deps.now ?? (() => new Date());
  const idempotency = createIdempotency({ records: store.idempotency, keyring: deps.keyring, now });
  const audited = createAuditedCalls({ audit: deps.audit, events: deps.events, isReplay: idempotency.isReplay });

  const sealerOf =
    (value: string): Sealer =>
    (context) =>
      sealValue(deps.keyring, value, context);
  /**
   * The namespace the caller acts in, once its environment is known to exist
   * ("default" always does; another costs one lookup by _id).
   */
  async function namespace(caller: Caller): Promise<Namespace> {
    return (await inheritance.placed(caller)).ns;
  }

  const inheritance = createInheritance({ store, now, overridesKnown: deps.noteOverrides !== undefined });
  const revealer = createRevealer({ ...deps, audited, now, inheritance });
  const { requireExpandable } = revealer;
  // Back from past its expiry: a lifetime starts again, an instant is cleared.
  const rearm = (at: Date) => (gone: SecretRecord) =>
    gone.expiresAt && gone.expiresAt.getTime() <= at.getTime() ? expiryFields(gone.ttlSeconds ? { ttlSeconds: gone.ttlSeconds } : null, at) : {};
  const history = createHistory({
    ...deps,
    audited,
    now,
    inheritance,
    revealer,
    sealerOf,
    rearm,
    windowMs: deps.historyWindowMs ?? 7 * 24 * 3600 * 1000,
  });

  /** The caller's live secret that `ref` names. */
  async function findOwned(caller: Caller, ref: SecretRef): Promise<SecretRecord> {
    const secret = await store.findLive(await namespace(caller), ref, now());
    if (!secret) throw new SecretNotFoundError();
    return secret;
  }

  async function createSecret(caller: Caller, input: CreateSecretInput): Promise<PublicSecret> {
    const at = now();
    const draft = {
      name: input.name,
      description: input.description ?? null,
      provider: input.provider ?? null,
      createdBy: caller.keyId,
      ...expiryFields(input.expiry ?? null, at),
    };
    const { ns, lineage } = await inheritance.placed(caller);
    await requireExpandable(caller, ns, input.name, input.value);
    const created = await store.create(ns, draft, sealerOf(input.value), at);
    // Its own secret of a name it hid: the name is its own again.
    if (lineage.length > 1) await store.tombstones.unhide(ns, input.name);
    return publicOf(created);
  }

  const service = {
    /** Creates a secret; with an idempotency key, at most once per key and request. */
    create(caller: Caller, input: CreateSecretInput, options: { idempotencyKey?: string | undefined } = {}): Promise<PublicSecret> {
      return audited.mutation(
        caller,
        'create',
        { name: input.name },
        async () => {
          if (options.idempotencyKey === undefined) return createSecret(caller, input);
          const request = {
            door: caller.door,
            operation: 'create',
            input: { ...input, description: input.description ?? null, provider: input.provider ?? null },
          };
          return idempotency.once(await namespace(caller), options.idempotencyKey, request, () => createSecret(caller, input));
        },
        () => 'created',
      );
    },

    /**
     * Changes a secret's value and/or metadata. A new value becomes a new
     * version; with `expectedVersion`, only if the secret is still at that
     * version. A new name is taken by the same write as the other changes
     * (renaming to its own name changes nothing); absent fields stay as they are.
     */
    update(caller: Caller, ref: SecretRef, change: SecretChange, options: { expectedVersion?: number | undefined } = {}): Promise<PublicSecret> {
      let changed: ChangeKind | null = null;
      return audited.mutation(
        caller,
        change.value === undefined ? 'update_metadata' : 'update',
        ref,
        async () => {
          const current = await findOwned(caller, ref);
          const expected = options.expectedVersion;
          if (expected !== undefined && change.value === undefined && current.version !== expected) {
            throw new VersionMismatchError(expected, current.version);
          }
          const at = now();
          const metadata: MetadataChange = {};
          const renamed = change.name !== undefined && change.name !== current.name;
          if (change.description !== undefined && change.description !== current.description) metadata.description = change.description;
          if (change.provider !== undefined && change.provider !== current.provider) metadata.provider = change.provider;
          if (change.expiry !== undefined) {
            Object.assign(metadata, expiryFields(change.expiry, at));
          } else if (change.value !== undefined && current.ttlSeconds) {
            // A new value restarts the secret's lifetime, as Together's does.
            metadata.expiresAt = new Date(at.getTime() + current.ttlSeconds * 1000);
          }
          if (Object.keys(metadata).length === 0 && !renamed && change.value === undefined) return publicOf(current);
          const type = change.value !== undefined ? 'updated' : renamed ? 'renamed' : 'described';
          changed = renamed ? { type, previousName: current.name } : type;

          if (renamed && change.value !== undefined) {
            // A new name and a new value together: a name seen taken refuses
            // the change before its version is written (the write that takes
            // the name still decides, should another take it meanwhile).
            const holder = await store.findLive({ projectId: current.projectId, environment: current.environment }, { name: change.name! }, at);
            if (holder && holder.id !== current.id) throw new SecretNameTakenError(change.name!);
          }
          if (change.value !== undefined)
            await requireExpandable(
              caller,
              { projectId: current.projectId, environment: current.environment },
              renamed ? change.name! : current.name,
              change.value,
            );
          const value = change.value === undefined ? undefined : sealerOf(change.value);
          return publicOf(await store.change(current, { metadata, name: renamed ? change.name : undefined, value, expected, by: caller.keyId }, at));
        },
        () => changed,
      );
    },

    async get(caller: Caller, ref: SecretRef): Promise<PublicSecret> {
      requireScope(caller, 'secrets:read');
      return publicOf(await findOwned(caller, ref));
    },

    /** The caller's live secrets in name order, `first` of them after the name `after`, those beginning `nameStartsWith` if given. */
    async list(caller: Caller, page: ListPage) {
      requireScope(caller, 'secrets:read');
      const { items, hasNextPage } = await store.listLive(await namespace(caller), page, now());
      return { secrets: items.map(publicOf), hasNextPage };
    },

    /** Every live secret of the caller's project, in name order (the REST lists have no pages). */
    async listAll(caller: Caller): Promise<PublicSecret[]> {
      requireScope(caller, 'secrets:read');
      return (await store.listAllLive(await namespace(caller), now())).map(publicOf);
    },

    /** The caller's deleted secrets still in their recovery window, newest deletion first. */
    async listDeleted(caller: Caller, page: { first: number; after?: DeletedCursor | undefined }) {
      requireScope(caller, 'secrets:read');
      const { items, hasNextPage } = await store.listDeleted(await namespace(caller), page, now());
      return { secrets: items.map(publicOf), hasNextPage };
    },

    /** A secret's versions, newest first: numbers, times and authors, never values. */
    async versions(
      caller: Caller,
      ref: SecretRef,
      page: { first: number; before?: number | undefined },
    ): Promise<{ versions: SecretVersionInfo[]; hasNextPage: boolean }> {
      requireScope(caller, 'secrets:read');
      const { items, hasNextPage } = await store.listVersions(await findOwned(caller, ref), page);
      return { versions: items, hasNextPage };
    },

    /**
     * Deletes a secret: it leaves every list and lookup, its name and quota
     * slot are freed at once, and it can be restored until its recovery window
     * ends (with a window of 0 it is purged at once).
     */
    delete(caller: Caller, ref: SecretRef): Promise<PublicSecret> {
      return audited.mutation(
        caller,
        'delete',
        ref,
        async () => {
          const place = await inheritance.placed(caller);
          const at = now();
          const secret = await store.findLive(place.ns, ref, at);
          if (!secret) throw new SecretNotFoundError();
          const deleted = await store.softDelete(secret, caller.keyId, at);
          if (!deleted) throw new SecretNotFoundError();
          // Deleted where a parent has the name too: the name stays gone here (a tombstone), not inherited back.
          if (await inheritance.inheritsName(place, secret.name)) await store.tombstones.hide(place.ns, secret.name, caller.keyId, at);
          return publicOf(deleted);
        },
        () => 'deleted',
      );
    },

    /** Brings a deleted secret back, if its name is still free and the project has room. */
    restore(caller: Caller, id: string): Promise<PublicSecret> {
      return audited.mutation(
        caller,
        'restore',
        { id },
        async () => {
          const at = now();
          const { ns, lineage } = await inheritance.placed(caller);
          const restored = await store.restore(ns, id, caller.keyId, at, rearm(at));
          if (restored === 'not_found') throw new SecretNotFoundError();
          if (restored === 'in_progress') throw new ConflictError('This secret is being restored by another request; retry shortly');
          if (lineage.length > 1) await store.tombstones.unhide(ns, restored.name);
          return publicOf(restored);
        },
        () => 'restored',
      );
    },

    /**
     * Marks expired secrets as deleted (audited as `expired`), purges deleted
     * secrets whose recovery window has passed, and forgets expired
     * idempotency keys (FerretDB has no TTL indexes). Returns how many
     * secrets were purged. Safe to run from several nodes at once.
     */
    sweep(batch = 100, budgetMs = SWEEP_BUDGET_MS): Promise<number> {
      return store.sweep(now(), batch, budgetMs);
    },

    environmentAt: history.environmentAt,
    valuesAt: history.valuesAt,
    environmentDiff: history.environmentDiff,
    restoreEnvironment: history.restoreEnvironment,
    createSnapshot: history.createSnapshot,
    snapshots: history.snapshots,
    deleteSnapshot: history.deleteSnapshot,

    reveal: revealer.reveal,
    revealAll: revealer.revealAll,
    environmentMatrix: revealer.environmentMatrix,
    maskedValues: revealer.maskedValues,
  };

  /** Runs an override's change by its owner, audited (the name and environment, never the value). */
  const overrideCall = <T>(caller: Caller, operation: string, name: string, run: (place: Placed) => Promise<T>): Promise<T> =>
    audited.call(caller, operation, { secretName: name }, async () => run(await inheritance.placed(caller)));

  return {
    ...service,

    /** Whether a name is the caller's override, own or inherited in its environment, for the doors that say so. */
    inheritance,

    /**
     * Sets the caller's own value for a name its environment has (own or
     * inherited): seen by calls made with this key only, over everything
     * else. Its existence and each use are audited; no other key lists or
     * reveals it.
     */
    setOverride(caller: Caller, input: { name: string; value: string }): Promise<OverrideRecord> {
      return overrideCall(caller, 'set_override', input.name, async (place) => {
        const { ns } = place;
        if (!(await inheritance.byName(place, input.name))) throw new SecretNotFoundError();
        await requireExpandable(caller, ns, input.name, input.value);
        // Remembered with the key before the value exists: a read never misses an override it could see.
        if (!caller.hasOverrides) await deps.noteOverrides?.(caller.keyId);
        return store.overrides.set(ns, caller.keyId, input.name, sealerOf(input.value), now());
      });
    },

    /** Removes the caller's override: the name falls back to what the environment has. */
    deleteOverride(caller: Caller, name: string): Promise<boolean> {
      return overrideCall(caller, 'delete_override', name, async ({ ns }) => {
        const removed = inheritance.mayHaveOverrides(caller) && (await store.overrides.remove(ns, caller.keyId, name));
        if (!removed) throw new SecretNotFoundError();
        return true;
      });
    },

    /** The caller's own overrides in its environment (never another key's, never a value). */
    async overrides(caller: Caller): Promise<OverrideRecord[]> {
      requireScope(caller, 'secrets:read');
      const { ns } = await inheritance.placed(caller);
      if (!inheritance.mayHaveOverrides(caller)) return [];
      return (await store.overrides.list(ns, caller.keyId)).map(({ sealed: _, ...record }) => record);
    },

    /**
     * Moves the value the caller sees for `name` — its override, else the
     * environment's own secret — up to the parent environment, under
     * compare-and-set against the parent's version (`expectedVersion`; 0: the
     * parent has none of this name yet). Then the override, or the child's
     * own secret, is removed: the name is inherited, with the value promoted.
     */
    async promote(caller: Caller, input: { name: string; expectedVersion: number }): Promise<{ secret: PublicSecret; from: 'own' | 'override' }> {
      requireScope(caller, 'secrets:write');
      const place = await inheritance.placed(caller);
      const parent = place.lineage[1];
      if (parent === undefined)
        throw new InvalidFieldError('environment', `The environment "${place.ns.environment}" inherits from no other: there is nothing to promote to`);
      const override = await inheritance.overrideOf(caller, place.ns, input.name);
      const own = override ? null : await store.findLive(place.ns, { name: input.name }, now());
      if (!override && !own) throw new SecretNotFoundError();
      requireScope(caller, 'secrets:reveal');
      const sealed = override ?? (await store.sealedVersion(own!, own!.version));
      if (!sealed) throw new SecretNotFoundError();
      const value = revealer.openSealed(sealed, input.name);
      const above = { ...caller, environment: parent };
      const current = await store.findLive({ projectId: caller.projectId, environment: parent }, { name: input.name }, now());
      const secret = current
        ? await service.update(above, { id: current.id }, { value }, { expectedVersion: input.expectedVersion })
        : input.expectedVersion === 0
          ? await service.create(above, { name: input.name, value })
          : (() => {
              throw new VersionMismatchError(input.expectedVersion, 0);
            })();
      if (override) await store.overrides.remove(place.ns, caller.keyId, input.name);
      else {
        await audited.mutation(
          caller,
          'delete',
          { id: own!.id },
          async () => {
            const deleted = await store.softDelete(own!, caller.keyId, now());
            if (!deleted) throw new SecretNotFoundError();
            return publicOf(deleted);
          },
          () => 'deleted',
        );
      }
      await deps.audit.record({ ...callerEntry(caller, 'promote'), secretId: secret.id, secretName: secret.name, version: secret.version, outcome: 'success' });
      return { secret, from: override ? 'override' : 'own' };
    },
  };
}

export type SecretService = ReturnType<typeof createSecretService>;
