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
import { EnvironmentNotEmptyError, EnvironmentNotFoundError, InvalidFieldError, ProjectLimitError } from '../secrets/errors.ts';
import { DEFAULT_ENVIRONMENT } from '../secrets/model.ts';
import type { EnvironmentRecord, EnvironmentStore } from '../secrets/store.ts';

export type { EnvironmentRecord } from '../secrets/store.ts';

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

    create(caller: Caller, input: { slug: string; name: string }): Promise<EnvironmentRecord> {
      return change(caller, 'create_environment', input.slug, async () => {
        // Checked before the insert: concurrent creates may pass it together. It bounds
        // what a matrix or a list walks over; it is not a quota to the unit.
        const limit = deps.limit ?? DEFAULT_LIMITS.environmentsPerProject;
        if ((await environments.list(caller.projectId)).length >= limit) throw new ProjectLimitError('environments', limit, 'ENVIRONMENTS_PER_PROJECT_MAX');
        return environments.create(caller.projectId, input.slug, input.name, now());
      });
    },

    update(caller: Caller, slug: string, input: { name: string }): Promise<EnvironmentRecord> {
      return change(caller, 'update_environment', slug, async () => {
        const renamed = await environments.rename({ projectId: caller.projectId, environment: slug }, input.name);
        if (!renamed) throw new EnvironmentNotFoundError(slug);
        return renamed;
      });
    },

    delete(caller: Caller, slug: string): Promise<EnvironmentRecord> {
      return change(caller, 'delete_environment', slug, async () => {
        if (slug === DEFAULT_ENVIRONMENT) throw new InvalidFieldError('slug', 'The default environment cannot be deleted');
        const ns = { projectId: caller.projectId, environment: slug };
        const current = await environments.find(ns);
        if (!current) throw new EnvironmentNotFoundError(slug);
        const removal = await environments.remove(ns, now());
        if (removal === 'not_found') throw new EnvironmentNotFoundError(slug);
        if (removal !== 'removed') throw new EnvironmentNotEmptyError(slug, removal.live, removal.deleted);
        return current;
      });
    },
  };
}

export type EnvironmentService = ReturnType<typeof createEnvironmentService>;
