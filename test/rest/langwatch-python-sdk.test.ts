// LangWatch's official Python SDK (langwatch 1.4.0, langwatch.secrets), unchanged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { runSdk, type SdkRun } from '../helpers/python.ts';

let app: TestApp;
let run: SdkRun;
let projectId: string;
const VALUE = 'langwatch-py-value-MARKER-1';
const NEW_VALUE = 'langwatch-py-value-MARKER-2';

beforeAll(async () => {
  app = await startTestApp();
  const project = await app.createProject('langwatch sdk');
  projectId = project.id;
  run = await runSdk('langwatch_sdk.py', { SECRETS_URL: app.baseUrl, SECRETS_API_KEY: project.apiKey, VALUE, NEW_VALUE });
}, 120_000);
afterAll(() => app.close());

const secret = (name: string) => ({
  id: expect.stringMatching(/^[0-9a-f]{24}$/),
  projectId,
  name,
  createdAt: expect.any(String),
  updatedAt: expect.any(String),
});
const versions = (name: string) =>
  app.models.Secret.findOne({ name })
    .lean()
    .then((s) => app.models.SecretVersion.countDocuments({ secretId: s!._id }));

describe('langwatch.secrets', () => {
  it('is the SDK version 1.4.0', () => {
    expect(run.result('version')).toBe('1.4.0');
  });

  it("create, get, update and list return LangWatch's secret shape", async () => {
    const created = run.result('create');
    expect(created).toEqual(secret('LW_SDK_KEY'));
    expect(run.result('get')).toEqual(created);
    expect(run.result('update')).toEqual({ ...secret('LW_SDK_KEY'), id: created.id });
    expect(run.result('list')).toEqual([{ ...secret('LW_SDK_KEY'), id: created.id }]);
    expect(await versions('LW_SDK_KEY')).toBe(2);
  });

  it('set creates a new name, and on an existing one (list, then update) writes a new version', async () => {
    const made = run.result('set a new name');
    expect(made).toEqual(secret('LW_SDK_SET'));
    expect(run.result('set an existing name')).toEqual({ ...secret('LW_SDK_SET'), id: made.id });
    expect(await versions('LW_SDK_SET')).toBe(2);
  });

  it('errors as the SDK words them: 409 and 422 unexpected, 404 "Secret not found"', () => {
    expect(run.error('create a taken name')).toMatchObject({
      error: 'RuntimeError',
      message: 'Unexpected status 409: A secret with the name "LW_SDK_KEY" already exists',
    });
    expect(run.error('create with a bad name')).toMatchObject({ error: 'RuntimeError' });
    expect(run.error('create with a bad name').message).toMatch(/^Unexpected status 422: /);
    for (const call of ['get deleted', 'update deleted', 'delete deleted']) {
      expect(run.error(call)).toMatchObject({ error: 'ValueError', message: 'Secret not found: Secret not found' });
    }
  });

  it('delete answers {id, deleted: true}; the secret leaves the list', () => {
    expect(run.result('delete')).toEqual({ id: run.result('create').id, deleted: true });
    expect(run.result('list after').map((s: { name: string }) => s.name)).toEqual(['LW_SDK_SET']);
  });

  it('no value in any answer or log line', () => {
    expect(JSON.stringify(run.steps)).not.toContain('MARKER');
    expect(app.logs.join('\n')).not.toContain('MARKER');
  });
});
