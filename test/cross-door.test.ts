// One store, several doors: what one door writes, the others see and change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from './helpers/http.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { type DoorClient, doorClient } from './helpers/doors.ts';

let app: TestApp;
let apiKey: string;
beforeAll(async () => {
  app = await startTestApp();
  ({ apiKey } = await app.createProject('cross door'));
});
afterAll(() => app.close());

const SECRET_FIELDS = 'id projectId name version createdAt updatedAt';

describe('GraphQL and the LangWatch door', () => {
  it('a secret created through GraphQL is read and updated through REST, and the change is seen in GraphQL', async () => {
    const created = await graphql(
      app.baseUrl,
      `mutation { createSecret(input: {name: "FROM_GRAPHQL", value: "one"}) { ... on CreateSecretSuccess { secret { ${SECRET_FIELDS} } } } }`,
      {},
      { apiKey },
    );
    const secret = created.body.data.createSecret.secret;

    const got = await request(app.baseUrl, 'GET', `/api/secrets/${secret.id}`, { apiKey });
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ id: secret.id, projectId: secret.projectId, name: 'FROM_GRAPHQL', createdAt: secret.createdAt, updatedAt: secret.updatedAt });

    const put = await request(app.baseUrl, 'PUT', `/api/secrets/${secret.id}`, { apiKey, body: { value: 'two' } });
    expect(put.status).toBe(200);

    const after = await graphql(app.baseUrl, `query($id: ID!) { secret(id: $id) { ${SECRET_FIELDS} } }`, { id: secret.id }, { apiKey });
    expect(after.body.data.secret).toMatchObject({ id: secret.id, version: 2, updatedAt: put.body.updatedAt });
  });

  it('a secret created through REST is listed and updated through GraphQL, and deleted through REST', async () => {
    const created = await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'FROM_REST', value: 'one' } });
    const { id } = created.body;
    const list = await graphql(app.baseUrl, 'query { secrets { edges { node { id name } } } }', {}, { apiKey });
    expect(list.body.data.secrets.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(id);

    const updated = await graphql(
      app.baseUrl,
      'mutation($id: ID!) { updateSecret(id: $id, input: {value: "three"}) { __typename ... on UpdateSecretSuccess { secret { id version } } } }',
      { id },
      { apiKey },
    );
    expect(updated.body.data.updateSecret).toEqual({ __typename: 'UpdateSecretSuccess', secret: { id, version: 2 } });

    const conflict = await graphql(app.baseUrl, 'mutation { createSecret(input: {name: "FROM_REST", value: "x"}) { __typename } }', {}, { apiKey });
    expect(conflict.body.data.createSecret.__typename).toBe('ConflictError');

    expect((await request(app.baseUrl, 'DELETE', `/api/secrets/${id}`, { apiKey })).status).toBe(200);
    const gone = await graphql(app.baseUrl, 'query($id: ID!) { secret(id: $id) { id } }', { id }, { apiKey });
    expect(gone.body.data.secret).toBeNull();
  });
});

describe('all four REST doors and GraphQL on one store', () => {
  let together: DoorClient;
  let v1: DoorClient;
  let openhands: DoorClient;
  beforeAll(() => {
    together = doorClient(app.baseUrl, apiKey, 'bearer', '/v1/deployments/secrets');
    v1 = doorClient(app.baseUrl, apiKey, 'bearer', '/api/v1/user/secrets');
    openhands = doorClient(app.baseUrl, apiKey, 'x-session-api-key', '/api/secrets');
  });

  it('created through Together: read everywhere, renamed by OpenHands, value changed by v1, deleted by LangWatch', async () => {
    const created = await together('POST', '', { body: { name: 'SHARED_KEY', value: 'shared-value-long-enough-1', description: 'from together' } });
    const { id } = created.body;

    expect((await request(app.baseUrl, 'GET', `/api/secrets/${id}`, { apiKey })).body.name).toBe('SHARED_KEY');
    expect((await v1('GET', `/${id}`)).body).toMatchObject({ id, name: 'SHARED_KEY', masked_value: 'shared••••h-1' });
    const gql = await graphql(app.baseUrl, 'query($n: String!) { secretByName(name: $n) { id description } }', { n: 'SHARED_KEY' }, { apiKey });
    expect(gql.body.data.secretByName).toEqual({ id, description: 'from together' });

    expect((await openhands('PUT', '/SHARED_KEY', { body: { name: 'SHARED_RENAMED', description: 'by openhands' } })).status).toBe(200);
    expect((await together('GET', `/${id}`)).body).toMatchObject({ name: 'SHARED_RENAMED', description: 'by openhands' });

    const put = await v1('PUT', `/${id}`, { body: { value: 'shared-value-long-enough-2' } });
    expect(put.body.masked_value).toBe('shared••••h-2');
    const after = await graphql(app.baseUrl, 'query($id: ID!) { secret(id: $id) { name version } }', { id }, { apiKey });
    expect(after.body.data.secret).toEqual({ name: 'SHARED_RENAMED', version: 2 });

    expect((await request(app.baseUrl, 'DELETE', `/api/secrets/${id}`, { apiKey })).status).toBe(200);
    expect((await together('GET', `/${id}`)).status).toBe(404);
    expect((await v1('GET', `/${id}`)).status).toBe(404);
    expect((await openhands('PUT', '/SHARED_RENAMED', { body: { name: 'X' } })).status).toBe(404);
  });

  it('a name taken in one door is taken in every door', async () => {
    await v1('POST', '', { body: { name: 'TAKEN_EVERYWHERE', value: 'v' } });
    expect((await together('POST', '', { body: { name: 'TAKEN_EVERYWHERE', value: 'v' } })).status).toBe(409);
    expect((await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'TAKEN_EVERYWHERE', value: 'v' } })).status).toBe(409);
    const gql = await graphql(app.baseUrl, 'mutation { createSecret(input: {name: "TAKEN_EVERYWHERE", value: "v"}) { __typename } }', {}, { apiKey });
    expect(gql.body.data.createSecret.__typename).toBe('ConflictError');
  });

  it('GraphQL renames with updateSecretMetadata, with the same typed errors', async () => {
    const a = await together('POST', '', { body: { name: 'GQL_RENAME_A', value: 'v' } });
    await together('POST', '', { body: { name: 'GQL_RENAME_B', value: 'v' } });
    const mutation = `mutation($id: ID!, $input: UpdateSecretMetadataInput!) { updateSecretMetadata(id: $id, input: $input) {
      __typename ... on UpdateSecretMetadataSuccess { secret { name description provider version } } ... on Error { code } } }`;
    const taken = await graphql(app.baseUrl, mutation, { id: a.body.id, input: { name: 'GQL_RENAME_B' } }, { apiKey });
    expect(taken.body.data.updateSecretMetadata).toEqual({ __typename: 'ConflictError', code: 'CONFLICT' });
    const invalid = await graphql(app.baseUrl, mutation, { id: a.body.id, input: { name: 'not valid', description: 'd'.repeat(501) } }, { apiKey });
    expect(invalid.body.data.updateSecretMetadata).toEqual({ __typename: 'ValidationError', code: 'VALIDATION_FAILED' });
    const missing = await graphql(app.baseUrl, mutation, { id: 'nope', input: { name: 'X' } }, { apiKey });
    expect(missing.body.data.updateSecretMetadata.__typename).toBe('NotFoundError');
    const self = await graphql(app.baseUrl, mutation, { id: a.body.id, input: { name: 'GQL_RENAME_A' } }, { apiKey });
    expect(self.body.data.updateSecretMetadata.__typename).toBe('UpdateSecretMetadataSuccess');
    const ok = await graphql(app.baseUrl, mutation, { id: a.body.id, input: { name: 'GQL_RENAME_C', description: 'd', provider: 'openai' } }, { apiKey });
    expect(ok.body.data.updateSecretMetadata.secret).toEqual({ name: 'GQL_RENAME_C', description: 'd', provider: 'openai', version: 1 });
    expect((await v1('GET', `/${a.body.id}`)).body.provider).toBe('openai');
  });
});
