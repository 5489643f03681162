// The official together-ai SDK, unchanged, with baseURL set to our /v1.
import Together from 'together-ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
let client: Together;
beforeAll(async () => {
  app = await startTestApp();
  const { apiKey } = await app.createProject('together sdk');
  client = new Together({ apiKey, baseURL: `${app.baseUrl}/v1` });
});
afterAll(() => app.close());

/** How many requests reached the app for a method and path (from its request log). */
function requestsTo(method: string, path: string): number {
  return app.logs.filter((line) => line.includes('"msg":"incoming request"') && line.includes(`"method":"${method}","url":"${path}"`)).length;
}

describe('together-ai client.beta.jig.secrets', () => {
  it('create, retrieve by id and by name (with /), list, update, rename to itself, delete', async () => {
    const secrets = client.beta.jig.secrets;
    const created = await secrets.create({ name: 'sdk/openai.key', value: 'sdk-value-1', description: 'made by the SDK' });
    expect(created).toMatchObject({ object: 'secret', name: 'sdk/openai.key', description: 'made by the SDK' });
    expect(created.id).toMatch(/^[0-9a-f]{24}$/);
    expect(JSON.stringify(created)).not.toContain('sdk-value-1');

    expect(await secrets.retrieve(created.id!)).toEqual(created);
    expect(await secrets.retrieve('sdk/openai.key')).toEqual(created);

    const list = await secrets.list();
    expect(list.object).toBe('list');
    expect(list.data?.map((s) => s.name)).toContain('sdk/openai.key');

    const updated = await secrets.update('sdk/openai.key', { value: 'sdk-value-2', description: 'rotated' });
    expect(updated).toMatchObject({ id: created.id, name: 'sdk/openai.key', description: 'rotated' });
    expect(await app.models.SecretVersion.countDocuments({ secretId: created.id })).toBe(2);

    const same = await secrets.update(created.id!, { name: 'sdk/openai.key' });
    expect(same).toMatchObject({ id: created.id, name: 'sdk/openai.key' });

    const renamed = await secrets.update(created.id!, { name: 'sdk/openai.renamed' });
    expect(renamed.name).toBe('sdk/openai.renamed');

    const deleted = await secrets.delete('sdk/openai.renamed');
    expect(deleted).toEqual({ id: created.id, object: 'secret', deleted: true });
    await expect(secrets.retrieve(created.id!)).rejects.toBeInstanceOf(Together.NotFoundError);
  });

  it('a conflicting rename raises ConflictError at once: x-should-retry stops the SDK from retrying', async () => {
    const secrets = client.beta.jig.secrets;
    const a = await secrets.create({ name: 'sdk-a', value: 'v' });
    await secrets.create({ name: 'sdk-b', value: 'v' });
    const error = await secrets.update(a.id!, { name: 'sdk-b' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Together.ConflictError);
    expect((error as InstanceType<typeof Together.APIError>).status).toBe(409);
    expect((error as Error).message).toContain('already exists');
    expect(requestsTo('PATCH', `/v1/deployments/secrets/${a.id}`)).toBe(1);
    expect((await secrets.retrieve(a.id!)).name).toBe('sdk-a');
  });

  it('a broken rule raises BadRequestError; a wrong key AuthenticationError', async () => {
    await expect(client.beta.jig.secrets.create({ name: 'bad name', value: 'v' })).rejects.toBeInstanceOf(Together.BadRequestError);
    const stranger = new Together({ apiKey: `sk-lw-${'Q'.repeat(43)}`, baseURL: `${app.baseUrl}/v1`, maxRetries: 0 });
    await expect(stranger.beta.jig.secrets.list()).rejects.toBeInstanceOf(Together.AuthenticationError);
  });
});
