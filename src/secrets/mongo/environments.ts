// A project's environments, on MongoDB and FerretDB. "default" exists in
// every project without a document (one is written when it is renamed);
// any other is a document whose _id, "<projectId>/<slug>", decides a race
// for its slug. A delete first marks the environment closing, then counts
// what it holds; a create into it checks after its own write, and undoes it
// when it sees the mark: of a delete and a create racing, at most one
// succeeds, and no secret is left in an environment that is gone.
import type { Collection } from 'mongodb';
import { Types } from 'mongoose';
import { isDuplicateKeyError } from '../../db/errors.ts';
import type { Models } from '../../db/models/index.ts';
import type { EnvironmentDoc } from '../../db/models/environment.ts';
import { EnvironmentTakenError } from '../errors.ts';
import { environmentIdOf } from './keys.ts';
import { DEFAULT_ENVIRONMENT, type EnvironmentRecord, type EnvironmentStore, LINEAGE_MAX, type Namespace } from '../store.ts';

const DEFAULT_NAME = 'Default';
const toRecord = (doc: EnvironmentDoc): EnvironmentRecord => ({
  id: doc._id,
  slug: doc.slug,
  name: doc.name,
  createdAt: new Date(doc.createdAt),
  parent: doc.parent ?? null,
});

export function createMongoEnvironmentStore(deps: {
  models: Pick<Models, 'Environment' | 'Project' | 'Secret'>;
  /** The filter of a namespace's secrets, as the secret store makes it. */
  secretsIn: (ns: Namespace) => Record<string, unknown>;
}): EnvironmentStore {
  const environments = deps.models.Environment.collection as unknown as Collection<EnvironmentDoc>;

  /** "default" as it is without a document: named Default, as old as its project. */
  async function implicitDefault(projectId: string): Promise<EnvironmentRecord | null> {
    const project = await deps.models.Project.collection.findOne<{ createdAt: Date }>({ _id: new Types.ObjectId(projectId) }, { projection: { createdAt: 1 } });
    return project
      ? { id: `${projectId}/${DEFAULT_ENVIRONMENT}`, slug: DEFAULT_ENVIRONMENT, name: DEFAULT_NAME, createdAt: project.createdAt, parent: null }
      : null;
  }

  return {
    async list(projectId) {
      const docs = await environments
        .find({ projectId: new Types.ObjectId(projectId) })
        .sort({ slug: 1 })
        .toArray();
      const named = docs.find((d) => d.slug === DEFAULT_ENVIRONMENT);
      const first = named ? toRecord(named) : await implicitDefault(projectId);
      return [...(first ? [first] : []), ...docs.filter((d) => d.slug !== DEFAULT_ENVIRONMENT).map(toRecord)];
    },

    async find(ns) {
      const doc = await environments.findOne({ _id: environmentIdOf(ns) });
      if (doc) return toRecord(doc);
      return ns.environment === DEFAULT_ENVIRONMENT ? implicitDefault(ns.projectId) : null;
    },

    async exists(ns) {
      return ns.environment === DEFAULT_ENVIRONMENT || (await environments.findOne({ _id: environmentIdOf(ns) }, { projection: { _id: 1 } })) !== null;
    },

    async lineage(ns) {
      if (ns.environment === DEFAULT_ENVIRONMENT) return [DEFAULT_ENVIRONMENT];
      const chain: string[] = [];
      // One lookup by _id per environment, nearest first; a chain a race made longer, or circular, is cut.
      for (let slug: string | null = ns.environment; slug !== null && chain.length < LINEAGE_MAX && !chain.includes(slug);) {
        if (slug === DEFAULT_ENVIRONMENT) {
          chain.push(slug);
          break;
        }
        const doc: Pick<EnvironmentDoc, 'parent'> | null = await environments.findOne(
          { _id: environmentIdOf({ ...ns, environment: slug }) },
          { projection: { parent: 1 } },
        );
        if (!doc) break;
        chain.push(slug);
        slug = doc.parent ?? null;
      }
      return chain.length === 0 ? null : chain;
    },

    async create(projectId, slug, name, at, parent = null) {
      const doc: EnvironmentDoc = {
        _id: environmentIdOf({ projectId, environment: slug }),
        projectId: new Types.ObjectId(projectId),
        slug,
        name,
        createdAt: at,
        closingSince: null,
        parent,
      };
      try {
        await environments.insertOne(doc);
      } catch (err) {
        if (isDuplicateKeyError(err)) throw new EnvironmentTakenError(slug);
        throw err;
      }
      return toRecord(doc);
    },

    async update(ns, change) {
      const name = change.name;
      if (name === undefined && change.parent === undefined) return this.find(ns);
      if (ns.environment === DEFAULT_ENVIRONMENT && name !== undefined) {
        const current = await implicitDefault(ns.projectId);
        if (!current) return null;
        // Its first rename writes its document; the upsert makes two at once one.
        await environments
          .updateOne(
            { _id: environmentIdOf(ns) },
            {
              $set: { name },
              $setOnInsert: { projectId: new Types.ObjectId(ns.projectId), slug: ns.environment, createdAt: current.createdAt, closingSince: null },
            },
            { upsert: true },
          )
          .catch((err: unknown) => {
            if (!isDuplicateKeyError(err)) throw err;
            return environments.updateOne({ _id: environmentIdOf(ns) }, { $set: { name } });
          });
        return { ...current, name };
      }
      const set = { ...(name === undefined ? {} : { name }), ...(change.parent === undefined ? {} : { parent: change.parent }) };
      const { matchedCount } = await environments.updateOne({ _id: environmentIdOf(ns) }, { $set: set });
      return matchedCount === 0 ? null : this.find(ns);
    },

    async remove(ns, at) {
      const { matchedCount } = await environments.updateOne({ _id: environmentIdOf(ns) }, { $set: { closingSince: at } });
      if (matchedCount === 0) return 'not_found';
      const secrets = deps.models.Secret.collection;
      const [live, deleted] = await Promise.all([
        secrets.countDocuments({ ...deps.secretsIn(ns), deletedAt: null }),
        secrets.countDocuments({ ...deps.secretsIn(ns), deletedAt: { $ne: null } }),
      ]);
      if (live + deleted > 0) {
        await environments.updateOne({ _id: environmentIdOf(ns), closingSince: at }, { $set: { closingSince: null } });
        return { live, deleted };
      }
      await environments.deleteOne({ _id: environmentIdOf(ns) });
      return 'removed';
    },

    async isOpen(ns) {
      if (ns.environment === DEFAULT_ENVIRONMENT) return true;
      const doc = await environments.findOne({ _id: environmentIdOf(ns) }, { projection: { closingSince: 1 } });
      return doc !== null && doc.closingSince == null;
    },
  };
}
