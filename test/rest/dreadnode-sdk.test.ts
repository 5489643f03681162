// Dreadnode's official Python SDK (dreadnode 2.0.52, ApiClient), unchanged,
// against the v1 user-secrets door: it sends X-API-Key and appends /api/v1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { runSdk, type SdkRun } from '../helpers/python.ts';

let app: TestApp;
let run: SdkRun;
let responses: string;
const VALUE = 'dn-sdk-value-0123456789abcdef-MARKER1';
const NEW_VALUE = 'dn-sdk-value-fedcba9876543210-MARKER2';
const PRESET_VALUE = 'sk-ant-api03-preset-value-MARKER3';

beforeAll(async () => {
  app = await startTestApp();
  const { apiKey } = await app.createProject('dreadnode sdk');
  run = await runSdk('dreadnode_sdk.py', { SECRETS_URL: app.baseUrl, SECRETS_API_KEY: apiKey, VALUE, NEW_VALUE, PRESET_VALUE });
  responses = JSON.stringify(run.steps);
}, 120_000);
afterAll(() => app.close());

const userSecret = (name: string, provider: string | null) => ({
  id: expect.stringMatching(/^[0-9a-f]{24}$/),
  name,
  provider,
  masked_value: expect.any(String),
  created_at: expect.any(String),
  updated_at: expect.any(String),
});

describe('dreadnode ApiClient, every user-secrets call', () => {
  it('create_secret, get_secret, update_secret: UserSecret with a masked value, never the value', async () => {
    const created = run.result('create_secret');
    expect(created).toEqual(userSecret('DN_SDK_TOKEN', null));
    expect(created.masked_value).toBe('dn-sdk••••ER1');
    expect(run.result('get_secret')).toEqual(created);
    const updated = run.result('update_secret');
    expect(updated).toEqual({ ...userSecret('DN_SDK_TOKEN', null), id: created.id });
    expect(updated.masked_value).toBe('dn-sdk••••ER2');
    expect(await app.models.SecretVersion.countDocuments({ secretId: created.id })).toBe(2);
  });

  it('list_secrets reads {"secrets": [...], "total": N}', () => {
    const list = run.result('list_secrets');
    expect(list.total).toBe(1);
    expect(list.secrets).toEqual([{ ...userSecret('DN_SDK_TOKEN', null), id: run.result('create_secret').id }]);
  });

  it('get_secret_presets lists each provider with its variable, configured once a secret of that name exists', () => {
    const before = run.result('get_secret_presets').presets;
    expect(before).toContainEqual({ provider: 'anthropic', env_var_name: 'ANTHROPIC_API_KEY', configured: false });
    expect(before).toContainEqual({ provider: 'openai', env_var_name: 'OPENAI_API_KEY', configured: false });
    expect(before).toContainEqual({ provider: 'github', env_var_name: 'GITHUB_TOKEN', configured: false });
    const after = run.result('get_secret_presets again').presets;
    expect(after).toContainEqual({ provider: 'anthropic', env_var_name: 'ANTHROPIC_API_KEY', configured: true });
    expect(after.filter((p: { configured: boolean }) => p.configured)).toHaveLength(1);
  });

  it("create_secret_from_preset stores the preset's variable with its provider", async () => {
    expect(run.result('create_secret_from_preset')).toEqual(userSecret('ANTHROPIC_API_KEY', 'anthropic'));
    expect(await app.models.Secret.findOne({ name: 'ANTHROPIC_API_KEY' }).lean()).toMatchObject({ provider: 'anthropic', deletedAt: null });
  });

  it('a taken name raises ConflictError (409), through a preset or not', () => {
    for (const call of ['create_secret_from_preset taken', 'create_secret taken']) {
      expect(run.error(call)).toMatchObject({ error: 'ConflictError', module: 'dreadnode.app.api.client' });
      expect(run.error(call).message).toMatch(/^409: A secret with the name "(ANTHROPIC_API_KEY|DN_SDK_TOKEN)" already exists$/);
    }
  });

  it("an unknown provider and a broken name raise the SDK's error with our 422 detail", () => {
    expect(run.error('create_secret_from_preset unknown')).toMatchObject({ error: 'RuntimeError' });
    expect(run.error('create_secret_from_preset unknown').message).toMatch(/^422: provider: Unknown provider: one of openai, anthropic/);
    expect(run.error('create_secret bad name').message).toMatch(/^422: name: Name must start with an uppercase letter/);
  });

  it('delete_secret returns; the deleted secret raises NotFoundError on get, update and delete', () => {
    expect(run.step('delete_secret')).toEqual({ call: 'delete_secret', ok: true, result: null });
    for (const call of ['get_secret deleted', 'update_secret deleted', 'delete_secret deleted']) {
      expect(run.error(call)).toMatchObject({ error: 'NotFoundError', message: '404: Secret not found' });
    }
  });

  it('an unknown key raises AuthenticationError (401)', () => {
    expect(run.error('list_secrets with an unknown key')).toMatchObject({ error: 'AuthenticationError', message: '401: Authentication failed' });
  });

  it('no value comes back in any answer, and none reaches the log', () => {
    expect(responses).not.toContain('MARKER');
    for (const value of [VALUE, NEW_VALUE, PRESET_VALUE]) {
      expect(responses).not.toContain(value);
      expect(app.logs.join('\n')).not.toContain(value);
    }
  });
});
