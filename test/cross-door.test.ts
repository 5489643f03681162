// One store, several doors: what one door writes, the others see and change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from './helpers/http.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

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
    const created = await graphql(app.baseUrl, `mutation { createSecret(input: {name: "FROM_GRAPHQL", value: "one"}) { ... on CreateSecretSuccess { secret { ${SECRET_FIELDS} } } } }`, {}, { apiKey });
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
