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
import { EnvironmentNotFoundError, ReferenceBoundError, SecretNotFoundError, SecretReferenceError, UnreadableValueError } from './errors.ts';
import { maskValue } from './mask.ts';
import type { PublicSecret } from './model.ts';
import { createExpander, hasReferences, type ExpansionLimits, type Target, type ValueOf } from './references.ts';
import { type Inheritance, overrideSource, type Source } from './inheritance.ts';
import type { Namespace, SealedVersion, SecretLocator, SecretRecord, SecretStore } from './store.ts';

/** Reveals need secrets:reveal, and a reason when the key requires one. */
export function requireRevealRight(caller: Caller): void {
  requireScope(caller, 'secrets:reveal');
  if (caller.requireRevealReason && !caller.revealReason) {
    throw new ForbiddenError('reveal reason', 'This API key must say why it reveals a value: send X-Reveal-Reason (GraphQL reason:, CLI --reason)');
  }
}

/** A name in one environment: its own secret, or the one it inherits, perhaps under the caller's override. */
export interface MatrixCell {
  readonly environment: string;
  readonly secret: PublicSecret;
  /** The environment the secret is inherited from; null: its own. */
  readonly inheritedFrom: string | null;
  /** The caller's own override lies over it. */
  readonly overridden: boolean;
}

/** One name across the environments that have it (own or inherited). */
export interface MatrixRow {
  readonly name: string;
  readonly cells: readonly MatrixCell[];
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
  /** What the caller sees in an environment: own, inherited and overridden names. */
  readonly inheritance: Inheritance;
}

/** One revealed value's origin, as the doors name it. */
export type { Source } from './inheritance.ts';

export function createRevealer(deps: RevealDeps) {
  const { store, audited, now, inheritance } = deps;
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
   * A name's value, read because a reference names it: as the caller sees
   * it in that environment (its override, own or inherited secret), with
   * reveal rights there (a bound key reads its own environment only), audited
   * as a reveal of its own. Undefined: there is none.
   */
  async function readReferenced(caller: Caller, base: Omit<AuditEntry, 'outcome'>, target: Target, events: AuditEntry[]): Promise<string | undefined> {
    const place = await inheritance.placed(caller, target.environment).catch((err: unknown) => {
      if (err instanceof EnvironmentNotFoundError) return null;
      throw err;
    });
    if (!place) return undefined;
    const found = await inheritance.byName(place, target.name);
    if (!found) return undefined;
    const override = await inheritance.overrideOf(caller, place.ns, target.name);
    const sealed = override ?? (await store.sealedVersion(found.secret, found.secret.version));
    if (!sealed) return undefined;
    const value = openSealed(sealed, found.secret.name);
    events.push(revealEntry(base, found.secret, override ? overrideSource(place.ns) : found.source));
    return value;
  }

  /** The audit event of one value revealed: an override's records that it was used, never its value. */
  function revealEntry(base: Omit<AuditEntry, 'outcome'>, secret: PublicSecret, source: Source, version = secret.version): AuditEntry {
    if (source.kind === 'override') {
      return {
        ...base,
        operation: 'reveal_override',
        environment: source.environment,
        secretId: null,
        secretName: secret.name,
        version: null,
        outcome: 'success',
      };
    }
    return { ...base, environment: source.environment, secretId: secret.id, secretName: secret.name, version, outcome: 'success' };
  }

  return {
    requireExpandable,
    openSealed,
    expanderOf,

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
    ): Promise<{ secret: PublicSecret; version: number; value: string; source: Source }> {
      const base = { ...callerEntry(caller, 'reveal'), reason: caller.revealReason ?? null };
      try {
        requireRevealRight(caller);
        const place = await inheritance.placed(caller);
        const found =
          'name' in ref
            ? await inheritance.byName(place, ref.name)
            : 'id' in ref
              ? await inheritance.byId(place, ref.id)
              : ((await inheritance.byId(place, ref.idOrName)) ?? (await inheritance.byName(place, ref.idOrName)));
        if (!found) throw new SecretNotFoundError();
        const { secret } = found;
        // A version asked for is that version of that secret; else the value the caller sees, its override first.
        const override = version === undefined ? await inheritance.overrideOf(caller, place.ns, secret.name) : undefined;
        const source: Source = override ? overrideSource(place.ns) : found.source;
        const wanted = version ?? secret.version;
        const sealed = override ?? (await store.sealedVersion(secret, wanted));
        if (!sealed) throw new SecretNotFoundError();
        const raw = openSealed(sealed, secret.name);
        const events: AuditEntry[] = [];
        // References resolve where the caller reads, not where an inherited value was written.
        const value =
          options.resolve && hasReferences(raw)
            ? await expanderOf((target) => readReferenced(caller, base, target, events))({ environment: place.ns.environment, name: secret.name }, raw)
            : raw;
        await deps.audit.recordMany([revealEntry(base, secret, source, wanted), ...events]);
        return { secret: publicOf(secret), version: wanted, value, source };
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
    async revealAll(
      caller: Caller,
      options: { resolve?: boolean } = {},
    ): Promise<{ values: Record<string, string>; sources: Record<string, Source>; unreadable: string[] }> {
      const base = { ...callerEntry(caller, 'reveal'), reason: caller.revealReason ?? null };
      let place: Awaited<ReturnType<Inheritance['placed']>>;
      try {
        requireRevealRight(caller);
        place = await inheritance.placed(caller);
      } catch (err) {
        // Refused as a single reveal is: audited.
        await audited.recordFailure(base, err);
        throw err;
      }
      const { ns } = place;
      const seen = await inheritance.all(caller, place);
      const sealed = await store.sealedCurrent(seen.map((e) => e.secret));
      // No prototype: a secret named __proto__ is a value like any other.
      const values: Record<string, string> = Object.create(null);
      const sources: Record<string, Source> = Object.create(null);
      const unreadable: string[] = [];
      const events: AuditEntry[] = [];
      for (const { name, secret, source, override } of seen) {
        const version = override ?? sealed.get(secret.id);
        if (!version) continue; // purged at this instant
        try {
          values[name] = openSealed(version, name);
        } catch (err) {
          if (!(err instanceof UnreadableValueError)) throw err;
          unreadable.push(name);
          continue;
        }
        sources[name] = source;
        events.push(revealEntry(base, secret, source, version.context.version));
      }
      if (options.resolve === false) {
        await deps.audit.recordMany(events);
        return { values, sources, unreadable };
      }
      // References expanded, each value whole or the call fails: nothing partial is served.
      // `${NAME}` in an inherited value is the caller's NAME here: what it sees, override included.
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
      return { values: expanded, sources, unreadable };
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
      const byName = new Map<string, (MatrixCell & { sealed?: SealedVersion | undefined })[]>();
      for (const environment of slugs) {
        const place = await inheritance.placed(caller, environment);
        for (const seen of await inheritance.all(caller, place)) {
          if (wanted && !wanted.has(seen.name)) continue;
          const cells = byName.get(seen.name) ?? [];
          const inherited = seen.secret.environment !== environment;
          cells.push({
            environment,
            secret: publicOf(seen.secret),
            inheritedFrom: inherited ? seen.secret.environment : null,
            overridden: seen.override !== undefined,
            sealed: seen.override,
          });
          byName.set(seen.name, cells);
        }
      }
      const compare = caller.scopes.includes('secrets:reveal');
      const shared = [...byName.values()].filter((cells) => cells.length > 1).flat();
      const digestOf = new Map<MatrixCell, string>();
      if (compare && shared.length > 0) {
        const key = randomBytes(32);
        const current = await store.sealedCurrent(recordsOf(shared.filter((c) => !c.sealed).map((c) => c.secret)));
        for (const cell of shared) {
          const sealed = cell.sealed ?? current.get(cell.secret.id);
          if (sealed) digestOf.set(cell, createHmac('sha256', key).update(openSealed(sealed, cell.secret.name)).digest('base64'));
        }
        await deps.audit.record({ ...callerEntry(caller, 'compare_values'), outcome: 'success' });
      }
      return [...byName.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([name, cells]) => ({
          name,
          cells: cells.map(({ sealed: _, ...cell }) => cell),
          valuesEqual: !compare || cells.length < 2 ? null : new Set(cells.map((c) => digestOf.get(c))).size === 1,
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
