// Together's official Python SDK, unchanged, in both majors its users have:
// `together` 3.1.1 (given the bare base URL) and 2.20.0 (given …/v1).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { bareEnv } from '../helpers/clean-env.ts';
import { requirePython, runSdk, type SdkRun } from '../helpers/python.ts';

let app: TestApp;
/** Each major's run of test/sdk/together_sdk.py, against a project of its own. */
const runs = new Map<number, SdkRun>();
beforeAll(async () => {
  app = await startTestApp();
  for (const major of [3, 2]) {
    const { apiKey } = await app.createProject(`together ${major}`);
    runs.set(major, await runSdk('together_sdk.py', { SECRETS_URL: app.baseUrl, SECRETS_API_KEY: apiKey, VALUE, NEW_VALUE }, { together2: major === 2 }));
  }
}, 240_000);
afterAll(() => app.close());

const VALUE = 'together-py-value-MARKER-1';
const NEW_VALUE = 'together-py-value-MARKER-2';
const DAY = 86_400_000;

/** How many times the service refused this operation on this secret as a conflict: one per request that reached it. */
const conflicts = (operation: string, filter: Record<string, unknown>) => app.models.AuditEvent.countDocuments({ operation, outcome: 'conflict', ...filter });

describe.each([
  { major: 3, version: '3.1.1' },
  { major: 2, version: '2.20.0' },
])('together $version: client.beta.jig.secrets', ({ major, version }) => {
  let run: SdkRun;
  const prefix = `py${major}`;
  beforeAll(() => {
    run = runs.get(major)!;
  });

  it(`is the SDK version ${version}`, () => {
    expect(run.result('version')).toBe(version);
  });

  it('create, retrieve by id and by name (with a /), list', () => {
    const created = run.result('create');
    expect(created).toMatchObject({ object: 'secret', name: `${prefix}/openai.key`, description: 'made by the SDK' });
    // 3.x's item has the TTL fields (omitted by us when there is no TTL); 2.x's does not know them.
    if (major === 3) expect(created).toMatchObject({ expires_at: null, ttl_seconds: null });
    else expect(Object.keys(created)).not.toContain('expires_at');
    expect(created.id).toMatch(/^[0-9a-f]{24}$/);
    expect(run.result('retrieve by id')).toEqual(created);
    expect(run.result('retrieve by name')).toEqual(created);
    expect(run.result('list')).toEqual({ object: 'list', data: [created] });
  });

  it('update by name, to its own name, and a rename', async () => {
    const { id } = run.result('create');
    expect(run.result('update by name')).toMatchObject({ id, name: `${prefix}/openai.key`, description: 'rotated' });
    expect(run.result('update to its own name')).toMatchObject({ id, name: `${prefix}/openai.key` });
    expect(run.result('rename')).toMatchObject({ id, name: `${prefix}/openai.renamed` });
    expect(await app.models.SecretVersion.countDocuments({ secretId: id })).toBe(2);
  });

  it('a taken name raises ConflictError once: x-should-retry stops the SDK from retrying', async () => {
    const { id } = run.result('create');
    for (const call of ['rename onto a taken name', 'create a taken name']) {
      expect(run.error(call)).toMatchObject({ error: 'ConflictError', module: 'together', status: 409 });
      expect(run.error(call).message).toContain(`A secret with the name "${prefix}-taken" already exists`);
    }
    expect(await conflicts('update_metadata', { secretId: id })).toBe(1);
    expect(await conflicts('create', { secretName: `${prefix}-taken` })).toBe(1);
  });

  it('a broken rule raises BadRequestError naming the field; an unknown key AuthenticationError', () => {
    expect(run.error('create with a bad name')).toMatchObject({ error: 'BadRequestError', status: 400 });
    expect(run.error('create with a bad name').message).toContain("'param': 'name'");
    expect(run.error('list with an unknown key')).toMatchObject({ error: 'AuthenticationError', status: 401 });
  });

  it('delete by name and by id answer {id, object, deleted}; then NotFoundError for retrieve, update and delete', () => {
    const { id } = run.result('create');
    // The SDK sends Content-Type: application/json with an empty body: no body, not broken JSON.
    expect(run.result('delete by name')).toEqual({ id, object: 'secret', deleted: true });
    expect(run.result('delete by id')).toEqual({ id: run.result('create another').id, object: 'secret', deleted: true });
    for (const call of ['retrieve deleted', 'update deleted', 'delete deleted']) {
      expect(run.error(call)).toMatchObject({ error: 'NotFoundError', status: 404 });
    }
  });

  it('no value in any answer or log line', () => {
    expect(JSON.stringify(run.steps)).not.toContain('MARKER');
    expect(app.logs.join('\n')).not.toContain('MARKER');
  });
});

describe('together 3.1.1: TTLs', () => {
  it('ttl_seconds: expires_at and ttl_seconds on the item; an update or a new value restarts it; bounds are 1 to 14 days', () => {
    const run = runs.get(3)!;
    const created = run.result('create with ttl_seconds');
    expect(created.ttl_seconds).toBe(86_400);
    expect(Date.parse(created.expires_at) - Date.parse(created.created_at)).toBe(DAY);
    const longer = run.result('update with ttl_seconds');
    expect(longer.ttl_seconds).toBe(1_209_600);
    expect(Date.parse(longer.expires_at) - Date.parse(longer.updated_at)).toBe(14 * DAY);
    const revalued = run.result('update the value of a secret with a ttl');
    expect(revalued.ttl_seconds).toBe(1_209_600);
    expect(Date.parse(revalued.expires_at) - Date.parse(revalued.updated_at)).toBe(14 * DAY);
    expect(Date.parse(revalued.expires_at)).toBeGreaterThan(Date.parse(longer.expires_at));
    for (const call of ['create with too short a ttl', 'update with too long a ttl']) {
      expect(run.error(call)).toMatchObject({ error: 'BadRequestError', status: 400 });
      expect(run.error(call).message).toContain("'param': 'ttl_seconds'");
    }
  });
});

describe('together 3.1.1 CLI: `together beta jig secrets set` (update by name, create on 404)', () => {
  it("creates the deployment's secret with its TTL, then updates it, restarting the TTL", async () => {
    requirePython();
    const { id: projectId, apiKey } = await app.createProject('jig');
    const dir = await mkdtemp(path.join(tmpdir(), 'jig-'));
    try {
      await writeFile(path.join(dir, 'pyproject.toml'), '[project]\nname = "demo"\n[tool.jig]\n');
      const jig = (...args: string[]) =>
        promisify(execFile)(path.join(projectRoot, '.venv', 'bin', 'together'), ['beta', 'jig', 'secrets', 'set', ...args], {
          cwd: dir,
          env: bareEnv({
            HOME: dir,
            TOGETHER_API_KEY: apiKey,
            TOGETHER_BASE_URL: app.baseUrl,
            // A project given up front spares the CLI its whoami() call, which is not a secrets call.
            TOGETHER_PROJECT_ID: projectId,
            TOGETHER_TELEMETRY_DISABLED: '1',
            TOGETHER_DISABLE_VERSION_CHECK: '1',
            COLUMNS: '200',
          }),
          timeout: 60_000,
        });
      const first = await jig('--name', 'db', '--value', 'jig-value-MARKER-1', '--ttl', '3d');
      expect(first.stdout).toContain('Created secret db');
      const created = await app.models.Secret.findOne({ name: 'demo-db', deletedAt: null }).lean();
      expect(created).toMatchObject({ ttlSeconds: 3 * 86_400 });
      expect(created!.expiresAt!.getTime() - created!.createdAt.getTime()).toBe(3 * DAY);

      const second = await jig('--name', 'db', '--value', 'jig-value-MARKER-2');
      expect(second.stdout).toContain('Updated secret db');
      const updated = await app.models.Secret.findById(created!._id).lean();
      expect(updated!.version).toBe(2);
      expect(updated!.expiresAt!.getTime() - updated!.updatedAt.getTime()).toBe(3 * DAY);
      expect(JSON.parse(await readFile(path.join(dir, '.jig.json'), 'utf8'))).toMatchObject({ demo: { secrets: { db: 'demo-db' } } });
      expect(first.stdout + first.stderr + second.stdout + second.stderr).not.toContain('MARKER');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
