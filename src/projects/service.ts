// Projects and the API keys that act for them.
import path from 'node:path';
import { Types } from 'mongoose';
import { apiKeyPrefix, generateApiKey, hashApiKey, isWellFormedApiKey } from '../auth/api-key.ts';
import { SCOPES } from '../auth/scopes.ts';
import type { Models } from '../db/models/index.ts';
import { readPrivateFile, writePrivateFile } from '../fs/private-file.ts';

export const DEV_API_KEY_FILE = 'dev-api-key';
const DEV_PROJECT_NAME = 'Development';

export interface CreatedProject {
  readonly id: string;
  readonly name: string;
  /** The key in clear: shown once, stored only as a hash. */
  readonly apiKey: string;
}

export function createProjectService(deps: { models: Pick<Models, 'Project' | 'ApiKey'>; now?: () => Date }) {
  const { Project, ApiKey } = deps.models;
  const now = deps.now ?? (() => new Date());

  async function issueKey(projectId: Types.ObjectId, name: string): Promise<string> {
    const key = generateApiKey();
    await ApiKey.create({ projectId, name, hash: hashApiKey(key), prefix: apiKeyPrefix(key), scopes: [...SCOPES], createdAt: now() });
    return key;
  }

  return {
    async create(name: string): Promise<CreatedProject> {
      const _id = new Types.ObjectId();
      await Project.create({ _id, name, createdAt: now() });
      return { id: _id.toHexString(), name, apiKey: await issueKey(_id, 'default') };
    },

    /**
     * Makes sure the development project exists (the same one on every start
     * with the same data) and returns a working key for it. Only the hash is in
     * the database, so the key itself is kept in the data folder (mode 0600),
     * beside the development master key, and reused while it still works.
     */
    async ensureDevProject(dataDir: string): Promise<CreatedProject> {
      const existing = await Project.findOne({ dev: true }).lean();
      const _id = existing?._id ?? new Types.ObjectId();
      if (!existing) await Project.create({ _id, name: DEV_PROJECT_NAME, dev: true, createdAt: now() });

      const keyFile = path.join(dataDir, DEV_API_KEY_FILE);
      const saved = (await readPrivateFile(keyFile))?.trim();
      // Reused only while it works: a revoked or expired dev key is replaced, never printed as working.
      const live = { revokedAt: null, $or: [{ expiresAt: null }, { expiresAt: { $gt: now() } }] };
      if (saved && isWellFormedApiKey(saved) && (await ApiKey.exists({ hash: hashApiKey(saved), projectId: _id, ...live }))) {
        return { id: _id.toHexString(), name: existing?.name ?? DEV_PROJECT_NAME, apiKey: saved };
      }
      const apiKey = await issueKey(_id, 'development');
      await writePrivateFile(keyFile, `${apiKey}\n`);
      return { id: _id.toHexString(), name: existing?.name ?? DEV_PROJECT_NAME, apiKey };
    },
  };
}

export type ProjectService = ReturnType<typeof createProjectService>;
