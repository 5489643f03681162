// A project's environments: policy. Listing needs secrets:read (a bound key
// sees its own environment only); creating, renaming and deleting need
// secrets:write and an unbound key, since a key bound to one environment
// must not reach beyond it. "default" is in every project and is never
// deleted; any other is deleted only when empty. Each change is audited.
import { type AuditLog, callerEntry } from '../audit/service.ts';
import type { Caller } from '../auth/caller.ts';
import { ForbiddenError } from '../auth/errors.ts';
import { requireScope } from '../auth/scopes.ts';
import { createAuditedCalls } from '../secrets/audited.ts';
import { DEFAULT_LIMITS } from '../config.ts';
import { ConflictError, EnvironmentNotEmptyError, EnvironmentNotFoundError, InvalidFieldError, ProjectLimitError } from '../secrets/errors.ts';
import { DEFAULT_ENVIRONMENT } from '../secrets/model.ts';
import { type EnvironmentRecord, type EnvironmentStore, LINEAGE_MAX } from '../secrets/store.ts';

export type { EnvironmentRecord } from '../secrets/store.ts';

/**
 * Refuses a parent that would make `slug` inherit from itself, from
 * "default"'s heirs into "default", or through a chain of more than
 * LINEAGE_MAX environments: each a ValidationError (InvalidFieldError on
 * `parent`), nothing written.
 */
function requireChain(all: readonly EnvironmentRecord[], slug: string, parent: string): void {
  if (slug === DEFAULT_ENVIRONMENT) throw new InvalidFieldError('parent', "The default environment is every project's root: it inherits from no other");
  const bySlug = new Map(all.map((e) => [e.slug, e]));
  if (!bySlug.has(parent)) throw new InvalidFieldError('parent', `There is no environment "${parent}" to inherit from`);
  // The chain from `slug` up, as it would be: `slug`, its new parent, theirs…
  const chain = [slug];
  for (let next: string | null = parent; next !== null; next = bySlug.get(next)?.parent ?? null) {
    if (chain.includes(next)) throw new InvalidFieldError('parent', `"${slug}" cannot inherit from "${parent}": ${[...chain, next].join(' → ')} is a cycle`);
    chain.push(next);
    if (chain.length > LINEAGE_MAX) {
      throw new InvalidFieldError('parent', `"${slug}" cannot inherit from "${parent}": a chain of inheritance is at most ${LINEAGE_MAX - 1} parents deep`);
    }
  }
  // Heirs of `slug` are below it: their chains grow by as much.
  const depthBelow = (s: string, seen: readonly string[] = []): number =>
    seen.includes(s) ? 0 : Math.max(0, ...all.filter((e) => e.parent === s).map((e) => 1 + depthBelow(e.slug, [...seen, s])));
  if (chain.length + depthBelow(slug) > LINEAGE_MAX) {
    throw new InvalidFieldError('parent', `"${slug}" cannot inherit from "${parent}": its heirs' chains would be more than ${LINEAGE_MAX - 1} parents deep`);
  }
}

export function createEnvironmentService(deps: { environments: EnvironmentStore; audit: AuditLog; now?: () => Date; limit?: number }) {
  const { environments } = deps;
  const now = deps.now ?? (() => new Date());
  const audited = createAuditedCalls({ audit: deps.audit, isReplay: () => false });

  /** Runs a change of environment `slug` by an unbound key with secrets:write, audited under that environment. */
  async function change<T extends EnvironmentRecord>(caller: Caller, operation: string, slug: string, run: () => Promise<T>): Promise<T> {
    const entry = { ...callerEntry(caller, operation), environment: slug };
    try {
      requireScope(caller, 'secrets:write');
      if (caller.boundEnvironment !== null) {
        throw new ForbiddenError('environment', `This API key is bound to the environment "${caller.boundEnvironment}": it cannot manage environments`);
      }
      const result = await run();
      await deps.audit.record({ ...entry, outcome: 'success' });
      return result;
    } catch (err) {
      await audited.recordFailure(entry, err);
      throw err;
    }
  }

  return {
    async list(caller: Caller): Promise<EnvironmentRecord[]> {
      requireScope(caller, 'secrets:read');
      const all = await environments.list(caller.projectId);
      return caller.boundEnvironment === null ? all : all.filter((e) => e.slug === caller.boundEnvironment);
    },

    create(caller: Caller, input: { slug: string; name: string; parent?: string | null | undefined }): Promise<EnvironmentRecord> {
      return change(caller, 'create_environment', input.slug, async () => {
        // Checked before the insert: concurrent creates may pass it together. It bounds
        // what a matrix or a list walks over; it is not a quota to the unit.
        const limit = deps.limit ?? DEFAULT_LIMITS.environmentsPerProject;
        const all = await environments.list(caller.projectId);
        if (all.length >= limit) throw new ProjectLimitError('environments', limit, 'ENVIRONMENTS_PER_PROJECT_MAX');
        const parent = input.parent ?? null;
        if (parent !== null) requireChain(all, input.slug, parent);
        return environments.create(caller.projectId, input.slug, input.name, now(), parent);
      });
    },

    update(caller: Caller, slug: string, input: { name?: string | undefined; parent?: string | null | undefined }): Promise<EnvironmentRecord> {
      return change(caller, 'update_environment', slug, async () => {
        if (input.parent != null) requireChain(await environments.list(caller.projectId), slug, input.parent);
        const updated = await environments.update({ projectId: caller.projectId, environment: slug }, input);
        if (!updated) throw new EnvironmentNotFoundError(slug);
        return updated;
      });
    },

    delete(caller: Caller, slug: string): Promise<EnvironmentRecord> {
      return change(caller, 'delete_environment', slug, async () => {
        if (slug === DEFAULT_ENVIRONMENT) throw new InvalidFieldError('slug', 'The default environment cannot be deleted');
        const ns = { projectId: caller.projectId, environment: slug };
        const all = await environments.list(caller.projectId);
        const current = all.find((e) => e.slug === slug);
        if (!current) throw new EnvironmentNotFoundError(slug);
        const heirs = all.filter((e) => e.parent === slug).map((e) => e.slug);
        if (heirs.length > 0)
          throw new ConflictError(`The environment "${slug}" is inherited by ${heirs.map((h) => `"${h}"`).join(', ')}: give them another parent first`);
        const removal = await environments.remove(ns, now());
        if (removal === 'not_found') throw new EnvironmentNotFoundError(slug);
        if (removal !== 'removed') throw new EnvironmentNotEmptyError(slug, removal.live, removal.deleted);
        return current;
      });
    },
  };
}

export type EnvironmentService = ReturnType<typeof createEnvironmentService>;
