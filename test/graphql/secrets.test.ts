// The GraphQL API of the contract: mutations with typed errors, queries,
// authentication, masking.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey } from '../../src/auth/api-key.ts';
import { graphql, request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type GraphqlClient, graphqlClient } from '../helpers/doors.ts';

let app: TestApp;
let apiKey: string;
let projectId: string;
let gql: GraphqlClient;

beforeAll(async () => {
  app = await startTestApp();
  ({ apiKey, id: projectId } = await app.createProject('graphql'));
  gql = graphqlClient(app.baseUrl, apiKey);
});
afterAll(() => app.close());

const CREATE = /* GraphQL */ `
  mutation Create($input: CreateSecretInput!) {
    createSecret(input: $input) {
      __typename
      ... on CreateSecretSuccess {
        secret {
          id
          projectId
          name
          version
          createdAt
          updatedAt
        }
      }
      ... on Error {
        code
        message
      }
      ... on ValidationError {
        fields {
          path
          message
        }
      }
    }
  }
`;

const UPDATE = /* GraphQL */ `
  mutation Update($id: ID!, $input: UpdateSecretInput!) {
    updateSecret(id: $id, input: $input) {
      __typename
      ... on UpdateSecretSuccess {
        secret {
          id
          name
          version
          createdAt
          updatedAt
        }
      }
      ... on Error {
        code
        message
      }
      ... on ValidationError {
        fields {
          path
          message
        }
      }
    }
  }
`;

const GET = /* GraphQL */ `
  query Get($id: ID!) {
    secret(id: $id) {
      id
      projectId
      name
      version
      createdAt
      updatedAt
    }
  }
`;

const LIST = /* GraphQL */ `
  query List($first: Int, $after: String) {
    secrets(first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          name
        }
      }
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
    }
  }
`;

let seq = 0;
const uniqueName = (prefix = 'GQL') => `${prefix}_${Date.now()}_${++seq}`;

async function create(name = uniqueName(), value = 'gql-value') {
  const res = await gql(CREATE, { input: { name, value } });
  expect(res.body.data.createSecret.__typename).toBe('CreateSecretSuccess');
  return res.body.data.createSecret.secret;
}

describe('createSecret', () => {
  it('returns CreateSecretSuccess with the secret and stores it sealed', async () => {
    const name = uniqueName();
    const res = await gql(CREATE, { input: { name, value: 'gql-create-marker' } });
    expect(res.status).toBe(200);
    const result = res.body.data.createSecret;
    expect(result.__typename).toBe('CreateSecretSuccess');
    expect(result.secret).toMatchObject({ name, projectId, version: 1 });
    expect(result.secret.id).toMatch(/^[0-9a-f]{24}$/);
    expect(result.secret.createdAt).toBe(new Date(result.secret.createdAt).toISOString());
    expect(res.text).not.toContain('gql-create-marker');
    expect(await app.models.Secret.countDocuments({ _id: result.secret.id })).toBe(1);
    expect(await app.models.SecretVersion.countDocuments({ secretId: result.secret.id })).toBe(1);
  });

  it('returns ConflictError for a taken name, storing nothing', async () => {
    const name = uniqueName();
    await create(name);
    const versions = await app.models.SecretVersion.countDocuments({});
    const res = await gql(CREATE, { input: { name, value: 'again' } });
    expect(res.body.data.createSecret).toEqual({
      __typename: 'ConflictError',
      code: 'CONFLICT',
      message: `A secret with the name "${name}" already exists`,
    });
    expect(await app.models.Secret.countDocuments({ name })).toBe(1);
    expect(await app.models.SecretVersion.countDocuments({})).toBe(versions);
  });

  it('accepts a 255-character name and a 10,000-character value', async () => {
    const res = await gql(CREATE, { input: { name: `G${'9'.repeat(254)}`, value: 'v'.repeat(10_000) } });
    expect(res.body.data.createSecret.__typename).toBe('CreateSecretSuccess');
  });

  const cases: [string, { name: string; value: string }, string[][]][] = [
    ['a 256-character name', { name: `G${'9'.repeat(255)}`, value: 'v' }, [['input', 'name']]],
    ['a 10,001-character value', { name: 'GQL_LONG', value: 'v'.repeat(10_001) }, [['input', 'value']]],
    ['an empty value (as every REST door refuses it)', { name: 'GQL_EMPTY', value: '' }, [['input', 'value']]],
    ['a lowercase name', { name: 'lower_case', value: 'v' }, [['input', 'name']]],
    ['a name starting with a digit', { name: '9LIVES', value: 'v' }, [['input', 'name']]],
    ['a name with a hyphen', { name: 'MY-KEY', value: 'v' }, [['input', 'name']]],
    [
      'an empty name (two rules)',
      { name: '', value: 'v' },
      [
        ['input', 'name'],
        ['input', 'name'],
      ],
    ],
    [
      'a bad name and a long value',
      { name: 'a b', value: 'v'.repeat(10_001) },
      [
        ['input', 'name'],
        ['input', 'value'],
      ],
    ],
  ];
  it.each(cases)('returns ValidationError with one FieldError per broken rule for %s, storing nothing', async (_l, input, paths) => {
    const before = await app.models.SecretVersion.countDocuments({});
    const res = await gql(CREATE, { input });
    const result = res.body.data.createSecret;
    expect(result.__typename).toBe('ValidationError');
    expect(result.code).toBe('VALIDATION_FAILED');
    expect(result.message).toMatch(/^Invalid input: /);
    expect(result.fields.map((f: { path: string[] }) => f.path)).toEqual(paths);
    for (const field of result.fields) expect(field.message.length).toBeGreaterThan(0);
    expect(await app.models.SecretVersion.countDocuments({})).toBe(before);
    expect(await app.models.Secret.countDocuments({ name: input.name })).toBe(0);
  });

  it('rejects wrong GraphQL types before any resolver runs', async () => {
    const res = await gql(CREATE, { input: { name: 42, value: 'v' } });
    expect(res.body.errors?.[0]?.message).toMatch(/String/);
    expect(res.body.data).toBeUndefined();
    const missing = await gql(CREATE, { input: { name: 'ONLY_NAME' } });
    expect(missing.body.errors?.length).toBeGreaterThan(0);
    expect(await app.models.Secret.countDocuments({ name: 'ONLY_NAME' })).toBe(0);
  });
});

describe('updateSecret', () => {
  it('returns UpdateSecretSuccess with a new version and updatedAt', async () => {
    const secret = await create();
    await new Promise((r) => setTimeout(r, 5));
    const res = await gql(UPDATE, { id: secret.id, input: { value: 'gql-update-marker' } });
    const result = res.body.data.updateSecret;
    expect(result.__typename).toBe('UpdateSecretSuccess');
    expect(result.secret).toMatchObject({ id: secret.id, name: secret.name, version: 2, createdAt: secret.createdAt });
    expect(Date.parse(result.secret.updatedAt)).toBeGreaterThan(Date.parse(secret.updatedAt));
    expect(res.text).not.toContain('gql-update-marker');
    expect(await app.models.SecretVersion.countDocuments({ secretId: secret.id })).toBe(2);
  });

  it.each([
    ['an unknown id', 'abcdefabcdefabcdefabcdef'],
    ['a malformed id', 'definitely-not-an-id'],
    ['an empty id', ''],
  ])('returns NotFoundError for %s', async (_l, id) => {
    const res = await gql(UPDATE, { id, input: { value: 'v' } });
    expect(res.body.data.updateSecret).toEqual({ __typename: 'NotFoundError', code: 'NOT_FOUND', message: 'Secret not found' });
  });

  it("returns NotFoundError for another project's id and leaves that secret unchanged", async () => {
    const other = await app.createProject('other');
    const theirs = await graphql(app.baseUrl, CREATE, { input: { name: uniqueName('THEIRS'), value: 'theirs' } }, { apiKey: other.apiKey });
    const id = theirs.body.data.createSecret.secret.id;
    const res = await gql(UPDATE, { id, input: { value: 'overwrite' } });
    expect(res.body.data.updateSecret.__typename).toBe('NotFoundError');
    expect(await app.models.SecretVersion.countDocuments({ secretId: id })).toBe(1);
    expect((await gql(GET, { id })).body.data.secret).toBeNull();
    const still = await graphql(app.baseUrl, GET, { id }, { apiKey: other.apiKey });
    expect(still.body.data.secret).toMatchObject({ id, version: 1 });
  });

  it('returns ValidationError for a broken value rule, storing nothing', async () => {
    const secret = await create();
    for (const value of ['x'.repeat(10_001), '']) {
      const res = await gql(UPDATE, { id: secret.id, input: { value } });
      expect(res.body.data.updateSecret.__typename).toBe('ValidationError');
      expect(res.body.data.updateSecret.fields).toEqual([{ path: ['input', 'value'], message: expect.any(String) }]);
    }
    expect(await app.models.SecretVersion.countDocuments({ secretId: secret.id })).toBe(1);
  });
});

describe('secret(id)', () => {
  it('returns the secret, or null for unknown, malformed and foreign ids', async () => {
    const secret = await create();
    expect((await gql(GET, { id: secret.id })).body.data.secret).toEqual({ ...secret });
    for (const id of ['000000000000000000000000', 'xyz', '']) {
      const res = await gql(GET, { id });
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data.secret).toBeNull();
    }
  });
});

describe('secrets(first, after)', () => {
  it("pages through the project's secrets in name order", async () => {
    const pager = await app.createProject('pager');
    const names = ['C_PAGE', 'A_PAGE', 'E_PAGE', 'B_PAGE', 'D_PAGE'];
    for (const name of names) {
      await graphql(app.baseUrl, CREATE, { input: { name, value: 'v' } }, { apiKey: pager.apiKey });
    }
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const res = await gql(LIST, { first: 2, after }, { apiKey: pager.apiKey });
      const { edges, pageInfo } = res.body.data.secrets;
      seen.push(...edges.map((e: { node: { name: string } }) => e.node.name));
      pages += 1;
      expect(pageInfo.endCursor).toBe(edges.at(-1)?.cursor ?? null);
      expect(pageInfo.startCursor).toBe(edges[0]?.cursor ?? null);
      expect(pageInfo.hasPreviousPage).toBe(false);
      if (!pageInfo.hasNextPage) break;
      after = pageInfo.endCursor;
    }
    expect(seen).toEqual([...names].sort());
    expect(pages).toBe(3);
  });

  it('nameStartsWith keeps the names that begin with it, paged like the rest; an empty one keeps all', async () => {
    const filtered = await app.createProject('filtered');
    for (const name of ['STRIPE_LIVE', 'STRIPE_TEST', 'STRIPE_WEBHOOK', 'SENTRY_DSN']) {
      await graphql(app.baseUrl, CREATE, { input: { name, value: 'v' } }, { apiKey: filtered.apiKey });
    }
    const query =
      'query($p: String, $after: String) { secrets(first: 2, after: $after, nameStartsWith: $p) { edges { node { name } } pageInfo { hasNextPage endCursor } } }';
    const names = (res: any) => res.body.data.secrets.edges.map((e: any) => e.node.name);
    const first = await gql(query, { p: 'STRIPE_' }, { apiKey: filtered.apiKey });
    expect([names(first), first.body.data.secrets.pageInfo.hasNextPage]).toEqual([['STRIPE_LIVE', 'STRIPE_TEST'], true]);
    const rest = await gql(query, { p: 'STRIPE_', after: first.body.data.secrets.pageInfo.endCursor }, { apiKey: filtered.apiKey });
    expect([names(rest), rest.body.data.secrets.pageInfo.hasNextPage]).toEqual([['STRIPE_WEBHOOK'], false]);
    expect(names(await gql(query, { p: 'stripe' }, { apiKey: filtered.apiKey }))).toEqual([]);
    expect(names(await gql(query.replace('first: 2', 'first: 10'), { p: '' }, { apiKey: filtered.apiKey }))).toHaveLength(4);
  });

  it('defaults to a page of 50 and an empty project gives an empty page', async () => {
    const empty = await app.createProject('empty');
    const res = await gql(LIST, {}, { apiKey: empty.apiKey });
    expect(res.body.data.secrets).toEqual({ edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null } });
  });

  it.each([[0], [-1], [101]])('rejects first: %i with BAD_USER_INPUT', async (first) => {
    const res = await gql(LIST, { first });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.body.data).toBeNull();
  });

  it.each([
    ['last', 'secrets(last: 2) { edges { cursor } }'],
    ['before', 'secrets(first: 2, before: "QQ") { edges { cursor } }'],
  ])('refuses %s (pages go forward only) with BAD_USER_INPUT, running nothing', async (_arg, selection) => {
    const res = await gql(`{ ${selection} }`, {});
    expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.body.errors?.[0]?.message).toContain('Pages go forward only: use first and after');
    expect(res.body.data).toBeNull();
  });

  it('rejects a cursor it did not make with BAD_USER_INPUT', async () => {
    const res = await gql(LIST, { first: 1, after: '%%%not a cursor' });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('authentication', () => {
  it.each([
    ['no credentials', {}],
    ['a malformed key', { authorization: 'Bearer nope' }],
    ['an unknown key', { 'x-auth-token': `sk-lw-${'Z'.repeat(43)}` }],
  ])('answers HTTP 401 with UNAUTHENTICATED for %s, running nothing', async (_l, headers) => {
    const name = uniqueName('UNAUTH');
    const res = await graphql(app.baseUrl, CREATE, { input: { name, value: 'v' } }, { headers });
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.body.data).toBeUndefined();
    expect(await app.models.Secret.countDocuments({ name })).toBe(0);
  });

  it('accepts X-Auth-Token as well as Bearer', async () => {
    const res = await graphql(app.baseUrl, LIST, {}, { headers: { 'x-auth-token': apiKey } });
    expect(res.status).toBe(200);
    expect(res.body.data.secrets.edges.length).toBeGreaterThan(0);
  });
});

describe('the endpoint', () => {
  it('serves GraphiQL to a browser on GET /graphql', async () => {
    const res = await request(app.baseUrl, 'GET', '/graphql', { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.text).toContain('GraphiQL');
  });

  it.each([
    ['broken JSON', '{"query": "{ secrets', 400],
    ['a body over 1 MB', JSON.stringify({ query: `{ secrets { edges { cursor } } }${' '.repeat(1_100_000)}` }), 413],
  ])('answers %s with a GraphQL-shaped 4xx', async (_l, rawBody, status) => {
    const res = await request(app.baseUrl, 'POST', '/graphql', { rawBody, headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` } });
    expect(res.status).toBe(status);
    expect(res.body.errors[0]).toEqual({ message: expect.any(String), extensions: { code: 'BAD_REQUEST' } });
  });

  it('masks unexpected failures: a generic message to the client, the cause in the log', async () => {
    // A real failure: a key document whose project id is not an ObjectId,
    // written behind the service's back, breaks authentication's mapping.
    const key = generateApiKey();
    await app.connection.db!.collection('api_keys').insertOne({
      projectId: 'corrupt-project-id',
      name: 'corrupt',
      hash: hashApiKey(key),
      prefix: key.slice(0, 10),
      createdAt: new Date(),
    });
    const res = await graphql(app.baseUrl, LIST, {}, { apiKey: key });
    expect(res.status).toBe(500);
    expect(res.body.errors?.[0]?.message).toBe('Unexpected error.');
    expect(res.text).not.toMatch(/toHexString|corrupt/);
    // The key is checked before the body is read, so the failure is logged as the request's.
    const logged = app.logs.filter((line) => line.includes('"msg":"request failed"'));
    expect(logged.join('\n')).toMatch(/toHexString/);
  });

  it('answers 503 SERVICE_UNAVAILABLE when the database cannot be reached', async () => {
    const broken = await startTestApp();
    const key = (await broken.createProject('broken')).apiKey;
    await broken.connection.close();
    try {
      const res = await graphql(broken.baseUrl, LIST, {}, { apiKey: key });
      expect(res.status).toBe(503);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    } finally {
      await broken.close().catch(() => {});
    }
  });
});
