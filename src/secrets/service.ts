// The secret service: policy. Doors (GraphQL, REST dialects) convert shapes
// around one call here; this module knows nothing of HTTP or GraphQL, and
// nothing of how secrets are stored: it asks a SecretStore (store.ts), which
// makes writes safe against racing writers. Here: who may do what (scopes),
// what a change means (compare-and-set, renames, lifetimes), sealing and
// opening values, the reveal paths, and the audit of each call.
import { createHmac, randomBytes } from 'node:crypto';
import { type AuditEntry, type AuditLog, callerEntry } from '../audit/service.ts';
import { actingEnvironment, type Caller } from '../auth/caller.ts';
import { ForbiddenError } from '../auth/errors.ts';
import { requireScope } from '../auth/scopes.ts';
import { DecryptionError, type MasterKeyring, openValue, sealValue } from '../crypto/envelope.ts';
import { DEFAULT_LIMITS, type SecretLimits } from '../config.ts';
import type { EventLog, EventType } from '../events/log.ts';
import { createAuditedCalls, targetOf } from './audited.ts';
import {
  ConflictError,
  EnvironmentNotFoundError,
  InvalidFieldError,
  ReferenceBoundError,
  SecretNameTakenError,
  SecretNotFoundError,
  SecretReferenceError,
  UnreadableValueError,
  VersionMismatchError,
} from './errors.ts';
import { createIdempotency } from './idempotency.ts';
import { maskValue } from './mask.ts';
import { createExpander, hasReferences, type ExpansionLimits, type Target, type ValueOf } from './references.ts';
import type { PublicSecret, SecretVersionInfo } from './model.ts';
import type { CreateSecretInput, ExpiryChange, SecretChange } from './rules.ts';
import {
  type DeletedCursor,
  type MetadataChange,
  type Namespace,
  type SecretLocator,
  type SecretRecord,
  type SecretStore,
  type Sealer,
  type SealedVersion,
} from './store.ts';

export type { PublicSecret, SecretVersionInfo } from './model.ts';
export type { DeletedCursor } from './store.ts';
/** How a caller names a secret: by id, by name, or (Together) by either. */
export type SecretRef = SecretLocator;

/** How long one sweep may go on; whatever is left waits for the next. */
const SWEEP_BUDGET_MS = 30_000;

/**
 * The namespace a caller acts in: its key's project, and the environment its
 * request names, else its key's, else "default". A key bound to an
 * environment can name no other.
 */
export function callerNamespace(caller: Caller): Namespace {
  const environment = actingEnvironment(caller);
  const bound = caller.boundEnvironment;
  if (bound !== null && environment !== bound) {
    throw new ForbiddenError('environment', `This API key is bound to the environment "${bound}" and cannot act in "${environment}"`);
  }
  return { projectId: caller.projectId, environment };
}

/** The store record each public copy was made from: it may carry its sealed value, read with it. */
const recordOfPublic = new WeakMap<PublicSecret, SecretRecord>();

/** A store record as the doors see it: the public fields only. */
function publicOf(record: SecretRecord): PublicSecret {
  const { purgeAt: _, ...secret } = record;
  recordOfPublic.set(secret, record);
  return secret;
}

/** The records the public copies were made from (a copy made elsewhere stands for itself). */
const recordsOf = (secrets: readonly PublicSecret[]) => secrets.map((s) => recordOfPublic.get(s) ?? s);

/** The expiry fields a change sets, computed on the service's clock. */
function expiryFields(change: ExpiryChange, at: Date): { expiresAt: Date | null; ttlSeconds: number | null } {
  if (change === null) return { expiresAt: null, ttlSeconds: null };
  if ('ttlSeconds' in change) return { expiresAt: new Date(at.getTime() + change.ttlSeconds * 1000), ttlSeconds: change.ttlSeconds };
  if (change.at.getTime() <= at.getTime()) throw new InvalidFieldError('expiresAt', 'expiresAt must be in the future');
  return { expiresAt: change.at, ttlSeconds: null };
}

/** Reveals need secrets:reveal, and a reason when the key requires one. */
function requireRevealRight(caller: Caller): void {
  requireScope(caller, 'secrets:reveal');
  if (caller.requireRevealReason && !caller.revealReason) {
    throw new ForbiddenError('reveal reason', 'This API key must say why it reveals a value: send X-Reveal-Reason (GraphQL reason:, CLI --reason)');
  }
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

/** One name across the environments it lives in. */
export interface MatrixRow {
  readonly name: string;
  readonly cells: readonly { readonly environment: string; readonly secret: PublicSecret }[];
  /** Whether its values are equal everywhere; null without secrets:reveal, or where it lives in one environment. */
  readonly valuesEqual: boolean | null;
}

export interface SecretServiceDeps {
  readonly store: SecretStore;
  readonly keyring: MasterKeyring;
  readonly audit: AuditLog;
  /** Where committed changes are recorded as change events. */
  readonly events?: EventLog;
  readonly now?: () => Date;
  /** The bounds on expanding references (default: DEFAULT_LIMITS'). */
  readonly limits?: Pick<SecretLimits, 'referenceExpansionMax' | 'referencesPerRequestMax'>;
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
  const expansion: ExpansionLimits = {
    maxChars: deps.limits?.referenceExpansionMax ?? DEFAULT_LIMITS.referenceExpansionMax,
    maxReferences: deps.limits?.referencesPerRequestMax ?? DEFAULT_LIMITS.referencesPerRequestMax,
  };
  const expanderOf = (valueOf: ValueOf) => createExpander(valueOf, expansion);

  /**
   * Refuses a value whose references already expand past the bounds, as a
   * reveal of it would: seen at write time, not first by a workload. A
   * reference to nothing (yet) or a cycle is not refused here; a reveal names it.
   * Only values the caller could reveal are read: the bound must not tell a
   * key the length of a value it may not see.
   */
  async function requireExpandable(caller: Caller, ns: Namespace, name: string, value: string): Promise<void> {
    if (!hasReferences(value)) return;
    const mayReveal = (environment: string) =>
      caller.scopes.includes('secrets:reveal') && (caller.boundEnvironment === null || caller.boundEnvironment === environment);
    const stored = async (target: Target): Promise<string | undefined> => {
      if (target.environment === ns.environment && target.name === name) return value;
      if (!mayReveal(target.environment)) return '';
      const secret = await store.findLive({ projectId: ns.projectId, environment: target.environment }, { name: target.name }, now());
      const sealed = secret && (await store.sealedVersion(secret, secret.version));
      return sealed ? openSealed(sealed, secret.name) : '';
    };
    try {
      await expanderOf(stored)({ environment: ns.environment, name }, value);
    } catch (err) {
      if (err instanceof ReferenceBoundError) throw err;
      if (!(err instanceof SecretReferenceError || err instanceof UnreadableValueError)) throw err;
    }
  }

  /**
   * Opens a sealed version document. One that no key of the ring opens is an
   * UnreadableValueError about its secret, reported (never its bytes) to
   * onUnreadableValue.
   */
  function openSealed({ sealed, context }: SealedVersion, secretName: string): string {
    try {
      return openValue(deps.keyring, sealed, context);
    } catch (err) {
      if (!(err instanceof DecryptionError)) throw err;
      deps.onUnreadableValue?.({ projectId: context.projectId, secretId: context.secretId, secretName, version: context.version, keyId: sealed.keyId });
      throw new UnreadableValueError(context.secretId, secretName);
    }
  }

  /**
   * The namespace the caller acts in, once its environment is known to exist
   * ("default" always does; another costs one lookup by _id).
   */
  async function namespace(caller: Caller): Promise<Namespace> {
    const ns = callerNamespace(caller);
    if (!(await store.environments.exists(ns))) throw new EnvironmentNotFoundError(ns.environment);
    return ns;
  }

  /**
   * A secret's current value, read because a reference names it: with reveal
   * rights on it (a bound key reads its own environment only), audited as a
   * reveal of its own. Undefined: there is none.
   */
  async function readReferenced(caller: Caller, base: Omit<AuditEntry, 'outcome'>, target: Target, events: AuditEntry[]): Promise<string | undefined> {
    const ns = callerNamespace({ ...caller, environment: target.environment });
    if (!(await store.environments.exists(ns))) return undefined;
    const secret = await store.findLive(ns, { name: target.name }, now());
    const sealed = secret && (await store.sealedVersion(secret, secret.version));
    if (!secret || !sealed) return undefined;
    const value = openSealed(sealed, secret.name);
    events.push({ ...base, environment: ns.environment, secretId: secret.id, secretName: secret.name, version: secret.version, outcome: 'success' });
    return value;
  }

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
    const ns = await namespace(caller);
    await requireExpandable(caller, ns, input.name, input.value);
    return publicOf(await store.create(ns, draft, sealerOf(input.value), at));
  }

  return {
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
      let changed: EventType | null = null;
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
          changed = change.value !== undefined ? 'updated' : renamed ? 'renamed' : 'described';

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

    /** The caller's live secrets in name order, `first` of them after the name `after`. */
    async list(caller: Caller, page: { first: number; after?: string | undefined }) {
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
          const deleted = await store.softDelete(await findOwned(caller, ref), caller.keyId, now());
          if (!deleted) throw new SecretNotFoundError();
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
          // Back from past its expiry: a lifetime starts again, an instant is cleared.
          const rearm = (gone: SecretRecord) =>
            gone.expiresAt && gone.expiresAt.getTime() <= at.getTime() ? expiryFields(gone.ttlSeconds ? { ttlSeconds: gone.ttlSeconds } : null, at) : {};
          const restored = await store.restore(await namespace(caller), id, caller.keyId, at, rearm);
          if (restored === 'not_found') throw new SecretNotFoundError();
          if (restored === 'in_progress') throw new ConflictError('This secret is being restored by another request; retry shortly');
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

    /**
     * The value of a secret (its current version, or `version`): the one
     * read path that returns a value. Needs secrets:reveal; every reveal is
     * audited (who, which secret and version; never the value).
     */
    async reveal(
      caller: Caller,
      ref: SecretRef,
      version?: number,
      options: { resolve?: boolean } = {},
    ): Promise<{ secret: PublicSecret; version: number; value: string }> {
      const base = { ...callerEntry(caller, 'reveal'), reason: caller.revealReason ?? null };
      try {
        requireRevealRight(caller);
        const secret = await findOwned(caller, ref);
        const wanted = version ?? secret.version;
        const sealed = await store.sealedVersion(secret, wanted);
        if (!sealed) throw new SecretNotFoundError();
        const raw = openSealed(sealed, secret.name);
        const events: AuditEntry[] = [];
        const value =
          options.resolve && hasReferences(raw)
            ? await expanderOf((target) => readReferenced(caller, base, target, events))({ environment: secret.environment, name: secret.name }, raw)
            : raw;
        await deps.audit.recordMany([{ ...base, secretId: secret.id, secretName: secret.name, version: wanted, outcome: 'success' }, ...events]);
        return { secret: publicOf(secret), version: wanted, value };
      } catch (err) {
        await audited.recordFailure({ ...base, ...targetOf(ref), version: version ?? null }, err);
        throw err;
      }
    },

    /**
     * Every live secret's current value, by name (for workloads): one audit
     * event per secret. A secret whose value no key of this node opens is
     * named in `unreadable` (and reported), not a failure of the whole call.
     * References are expanded (within the bounds) unless `resolve` is false.
     */
    async revealAll(caller: Caller, options: { resolve?: boolean } = {}): Promise<{ values: Record<string, string>; unreadable: string[] }> {
      const base = { ...callerEntry(caller, 'reveal'), reason: caller.revealReason ?? null };
      let ns: Namespace;
      try {
        requireRevealRight(caller);
        ns = await namespace(caller);
      } catch (err) {
        // Refused as a single reveal is: audited.
        await audited.recordFailure(base, err);
        throw err;
      }
      const secrets = await store.listAllLive(ns, now(), { sealed: true });
      const sealed = await store.sealedCurrent(secrets);
      // No prototype: a secret named __proto__ is a value like any other.
      const values: Record<string, string> = Object.create(null);
      const unreadable: string[] = [];
      const events: AuditEntry[] = [];
      for (const secret of secrets) {
        const version = sealed.get(secret.id);
        if (!version) continue; // purged at this instant
        try {
          values[secret.name] = openSealed(version, secret.name);
        } catch (err) {
          if (!(err instanceof UnreadableValueError)) throw err;
          unreadable.push(secret.name);
          continue;
        }
        events.push({ ...base, secretId: secret.id, secretName: secret.name, version: version.context.version, outcome: 'success' });
      }
      if (options.resolve === false) {
        await deps.audit.recordMany(events);
        return { values, unreadable };
      }
      // References expanded, each value whole or the call fails: nothing partial is served.
      const expand = expanderOf((target) =>
        target.environment === ns.environment ? Promise.resolve(values[target.name]) : readReferenced(caller, base, target, events),
      );
      const expanded: Record<string, string> = Object.create(null);
      try {
        for (const name of Object.keys(values)) expanded[name] = await expand({ environment: ns.environment, name }, values[name]!);
      } catch (err) {
        await audited.recordFailure(base, err);
        throw err;
      }
      await deps.audit.recordMany(events);
      return { values: expanded, unreadable };
    },

    /**
     * For each name (of `names`, or every one), the environments it lives in
     * and its version there; for a key with secrets:reveal, whether its values
     * are equal across them, decided here by HMAC digests under a key made
     * for this call alone: no value leaves the service, and the comparison
     * is one audit event.
     */
    async environmentMatrix(caller: Caller, names?: readonly string[]): Promise<MatrixRow[]> {
      requireScope(caller, 'secrets:read');
      const slugs = caller.boundEnvironment !== null ? [caller.boundEnvironment] : (await store.environments.list(caller.projectId)).map((e) => e.slug);
      const wanted = names && new Set(names);
      const byName = new Map<string, { environment: string; secret: PublicSecret }[]>();
      for (const environment of slugs) {
        for (const record of await store.listAllLive({ projectId: caller.projectId, environment }, now())) {
          if (wanted && !wanted.has(record.name)) continue;
          const cells = byName.get(record.name) ?? [];
          cells.push({ environment, secret: publicOf(record) });
          byName.set(record.name, cells);
        }
      }
      const compare = caller.scopes.includes('secrets:reveal');
      const shared = [...byName.values()]
        .filter((cells) => cells.length > 1)
        .flat()
        .map((c) => c.secret);
      const digests = new Map<string, string>();
      if (compare && shared.length > 0) {
        const key = randomBytes(32);
        const nameOf = new Map(shared.map((s) => [s.id, s.name]));
        for (const [id, version] of await store.sealedCurrent(recordsOf(shared))) {
          digests.set(
            id,
            createHmac('sha256', key)
              .update(openSealed(version, nameOf.get(id)!))
              .digest('base64'),
          );
        }
        await deps.audit.record({ ...callerEntry(caller, 'compare_values'), outcome: 'success' });
      }
      return [...byName.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([name, cells]) => ({
          name,
          cells,
          valuesEqual: !compare || cells.length < 2 ? null : new Set(cells.map((c) => digests.get(c.secret.id))).size === 1,
        }));
    },

    /**
     * Masked previews of the secrets' current values (see mask.ts), opened
     * here and never returned whole. The secrets must be ones the caller got
     * from this service, so they are the caller's own.
     */
    async maskedValues(secrets: readonly PublicSecret[]): Promise<Map<string, string>> {
      const sealed = await store.sealedCurrent(recordsOf(secrets));
      const masks = new Map<string, string>();
      for (const secret of secrets) {
        const version = sealed.get(secret.id);
        if (!version) continue;
        try {
          masks.set(secret.id, maskValue(openSealed(version, secret.name)));
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
