// Opening values: the reveal paths (one secret, every secret of an
// environment), masked previews, and the comparison of values across
// environments; and, for writes, the check that a new value's references
// stay within their bounds. Every value opened here is audited or never
// leaves (previews, digests); a value no key of this node opens is an
// UnreadableValueError about its secret.
import { createHmac, randomBytes } from 'node:crypto';
import { type AuditEntry, type AuditLog, callerEntry } from '../audit/service.ts';
import type { Caller } from '../auth/caller.ts';
import { ForbiddenError } from '../auth/errors.ts';
import { requireScope } from '../auth/scopes.ts';
import { DEFAULT_LIMITS, type SecretLimits } from '../config.ts';
import { DecryptionError, type MasterKeyring, openValue } from '../crypto/envelope.ts';
import { callerNamespace, publicOf, recordsOf } from './access.ts';
import { type createAuditedCalls, targetOf } from './audited.ts';
import { ReferenceBoundError, SecretNotFoundError, SecretReferenceError, UnreadableValueError } from './errors.ts';
import { maskValue } from './mask.ts';
import type { PublicSecret } from './model.ts';
import { createExpander, hasReferences, type ExpansionLimits, type Target, type ValueOf } from './references.ts';
import type { Namespace, SealedVersion, SecretLocator, SecretRecord, SecretStore } from './store.ts';

/** Reveals need secrets:reveal, and a reason when the key requires one. */
function requireRevealRight(caller: Caller): void {
  requireScope(caller, 'secrets:reveal');
  if (caller.requireRevealReason && !caller.revealReason) {
    throw new ForbiddenError('reveal reason', 'This API key must say why it reveals a value: send X-Reveal-Reason (GraphQL reason:, CLI --reason)');
  }
}

/** One name across the environments it lives in. */
export interface MatrixRow {
  readonly name: string;
  readonly cells: readonly { readonly environment: string; readonly secret: PublicSecret }[];
  /** Whether its values are equal everywhere; null without secrets:reveal, or where it lives in one environment. */
  readonly valuesEqual: boolean | null;
}

export interface RevealDeps {
  readonly store: SecretStore;
  readonly keyring: MasterKeyring;
  readonly audit: AuditLog;
  readonly audited: ReturnType<typeof createAuditedCalls>;
  readonly now: () => Date;
  readonly limits?: Pick<SecretLimits, 'referenceExpansionMax' | 'referencesPerRequestMax'> | undefined;
  readonly onUnreadableValue?: ((version: { projectId: string; secretId: string; secretName: string; version: number; keyId: string }) => void) | undefined;
  /** The namespace the caller acts in, once its environment is known to exist. */
  readonly namespace: (caller: Caller) => Promise<Namespace>;
  /** The caller's live secret that a locator names (SecretNotFoundError). */
  readonly findOwned: (caller: Caller, ref: SecretLocator) => Promise<SecretRecord>;
}

export function createRevealer(deps: RevealDeps) {
  const { store, audited, now, namespace, findOwned } = deps;
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

  return {
    requireExpandable,

    /**
     * The value of a secret (its current version, or `version`): the one
     * read path that returns a value. Needs secrets:reveal; every reveal is
     * audited (who, which secret and version; never the value).
     */
    async reveal(
      caller: Caller,
      ref: SecretLocator,
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

export type Revealer = ReturnType<typeof createRevealer>;
