// What a caller sees in an environment: its own secrets over those of the
// environments it inherits from (nearest first), less the names it hides
// (tombstones), and under the caller's own personal overrides. Every read
// that yields values asks here, so each value says where it came from.
// "default" inherits nothing: its reads cost what they did before
// inheritance, and a key with no override pays nothing for overrides.
import type { Caller } from '../auth/caller.ts';
import { callerNamespace } from './access.ts';
import { EnvironmentNotFoundError } from './errors.ts';
import type { Namespace, SealedVersion, SecretRecord, SecretStore } from './store.ts';

/** Where a value comes from: the environment's own secret, one it inherits, or the caller's override. */
export type SourceKind = 'own' | 'inherited' | 'override';

export interface Source {
  readonly kind: SourceKind;
  /** The slug of the environment the secret lives in (for an override: the one it overrides in). */
  readonly environment: string;
}

/** The origin of a caller's own override in the namespace it overrides in. */
export const overrideSource = (ns: Namespace): Source => ({ kind: 'override', environment: ns.environment });

/** A name as a caller sees it in an environment. */
export interface Effective {
  readonly name: string;
  /** The secret the name is: own or inherited (an override lies over it). */
  readonly secret: SecretRecord;
  readonly source: Source;
  /** The caller's override's sealed value, when it has one of this name. */
  readonly override?: SealedVersion | undefined;
}

/** A namespace with the environments it inherits from. */
export interface Placed {
  readonly ns: Namespace;
  /** Its slug first, then its parent's, and so on. */
  readonly lineage: readonly string[];
}

export function createInheritance(deps: { store: SecretStore; now: () => Date; overridesKnown: boolean }) {
  const { store } = deps;

  /** Whether the caller may hold overrides: a key that never set one has none to read. */
  const mayHaveOverrides = (caller: Caller) => !deps.overridesKnown || caller.hasOverrides === true;

  /** Where the caller acts, once its environment is known to exist, with what it inherits. */
  async function placed(caller: Caller, environment?: string): Promise<Placed> {
    const ns = callerNamespace(environment === undefined ? caller : { ...caller, environment });
    const lineage = await store.environments.lineage(ns);
    if (!lineage) throw new EnvironmentNotFoundError(ns.environment);
    return { ns, lineage };
  }

  const level = (place: Placed, i: number): Namespace => ({ projectId: place.ns.projectId, environment: place.lineage[i]! });

  /** The caller's overrides in the namespace, by name. */
  async function overridesOf(caller: Caller, ns: Namespace): Promise<Map<string, SealedVersion>> {
    if (!mayHaveOverrides(caller)) return new Map();
    return new Map((await store.overrides.list(ns, caller.keyId)).map((o) => [o.name, o.sealed]));
  }

  /**
   * Every name the caller sees, in name order. Records carry their sealed
   * values (one list per environment of the chain, and one of tombstones per
   * environment that has a parent).
   */
  async function all(caller: Caller, place: Placed): Promise<Effective[]> {
    const at = deps.now();
    const seen = new Map<string, Effective>();
    const hidden = new Set<string>();
    for (let i = 0; i < place.lineage.length; i++) {
      const ns = level(place, i);
      const kind = i === 0 ? 'own' : 'inherited';
      for (const secret of await store.listAllLive(ns, at, { sealed: true })) {
        if (!seen.has(secret.name) && !hidden.has(secret.name))
          seen.set(secret.name, { name: secret.name, secret, source: { kind, environment: ns.environment } });
      }
      if (i < place.lineage.length - 1) for (const name of await store.tombstones.names(ns)) hidden.add(name);
    }
    const overrides = await overridesOf(caller, place.ns);
    return [...seen.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((e) => (overrides.has(e.name) ? { ...e, source: overrideSource(place.ns), override: overrides.get(e.name) } : e));
  }

  /** The secret a name is in the caller's view (own, else the nearest inherited one not hidden), or null. */
  async function byName(place: Placed, name: string): Promise<{ secret: SecretRecord; source: Source } | null> {
    const at = deps.now();
    for (let i = 0; i < place.lineage.length; i++) {
      const ns = level(place, i);
      const secret = await store.findLive(ns, { name }, at);
      if (secret) return { secret, source: { kind: i === 0 ? 'own' : 'inherited', environment: ns.environment } };
      if (i < place.lineage.length - 1 && (await store.tombstones.names(ns)).has(name)) return null;
    }
    return null;
  }

  /** The secret an id names in the caller's view: its own, or an inherited one no nearer secret or tombstone hides. */
  async function byId(place: Placed, id: string): Promise<{ secret: SecretRecord; source: Source } | null> {
    const at = deps.now();
    const own = await store.findLive(place.ns, { id }, at);
    if (own) return { secret: own, source: { kind: 'own', environment: place.ns.environment } };
    for (let i = 1; i < place.lineage.length; i++) {
      const found = await store.findLive(level(place, i), { id }, at);
      if (!found) continue;
      const seen = await byName(place, found.name);
      return seen?.secret.id === found.id ? seen : null;
    }
    return null;
  }

  /** The caller's override of one name, if it has one. */
  async function overrideOf(caller: Caller, ns: Namespace, name: string): Promise<SealedVersion | undefined> {
    if (!mayHaveOverrides(caller)) return undefined;
    return (await overridesOf(caller, ns)).get(name);
  }

  /** Whether the environments `ns` inherits from (not itself) hold a live secret of this name that it would see. */
  async function inheritsName(place: Placed, name: string): Promise<boolean> {
    return place.lineage.length > 1 && (await byName({ ns: level(place, 1), lineage: place.lineage.slice(1) }, name)) !== null;
  }

  return { placed, all, byName, byId, overrideOf, overridesOf, inheritsName, mayHaveOverrides };
}

export type Inheritance = ReturnType<typeof createInheritance>;
