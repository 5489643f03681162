// Bounds on what one request walks over (issue 22), each asserted by its
// refusal: environments and webhooks per project, the names a matrix is
// asked for. (Reference expansion: test/environments/reference-bounds.test.ts;
// subscriptions: test/events/subscriptions.test.ts and hub.test.ts; load
// shedding: overload.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphqlClient, type GraphqlClient } from '../helpers/doors.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
let gql: GraphqlClient;

beforeAll(async () => {
  app = await startTestApp({ limits: { environmentsPerProject: 3, webhooksPerProject: 2 } });
  gql = graphqlClient(app.baseUrl, (await app.createProject('bounds')).apiKey);
});
afterAll(() => app.close());

describe('bounds per project and per request', () => {
  it('ENVIRONMENTS_PER_PROJECT_MAX: default counts; past it a ConflictError, nothing made, audited', async () => {
    const create = async (slug: string) =>
      (await gql('mutation($s: String!) { createEnvironment(input: {slug: $s, name: $s}) { __typename ... on Error { message } } }', { s: slug })).body.data
        .createEnvironment;
    expect((await create('one')).__typename).toBe('CreateEnvironmentSuccess');
    expect((await create('two')).__typename).toBe('CreateEnvironmentSuccess');
    expect(await create('three')).toEqual({
      __typename: 'ConflictError',
      message: 'This project already has its limit of 3 environments (ENVIRONMENTS_PER_PROJECT_MAX): delete one first',
    });
    const listed = (await gql('{ environments { slug } }')).body.data.environments.map((e: { slug: string }) => e.slug);
    expect(listed).toEqual(['default', 'one', 'two']);
    expect(await app.models.AuditEvent.countDocuments({ operation: 'create_environment', environment: 'three', outcome: 'conflict' })).toBe(1);
    expect((await gql('mutation { deleteEnvironment(slug: "two") { __typename } }')).body.data.deleteEnvironment.__typename).toBe('DeleteEnvironmentSuccess');
    expect((await create('three')).__typename).toBe('CreateEnvironmentSuccess');
  });

  it('WEBHOOKS_PER_PROJECT_MAX: past it a ConflictError; a deleted one frees its place', async () => {
    const create = async (path: string) =>
      (
        await gql(
          'mutation($u: String!) { createWebhook(input: {url: $u, events: [UPDATED]}) { __typename ... on CreateWebhookSuccess { webhook { id } } ... on Error { message } } }',
          { u: `http://127.0.0.1:9/${path}` },
        )
      ).body.data.createWebhook;
    const first = await create('a');
    expect(first.__typename).toBe('CreateWebhookSuccess');
    expect((await create('b')).__typename).toBe('CreateWebhookSuccess');
    expect(await create('c')).toEqual({
      __typename: 'ConflictError',
      message: 'This project already has its limit of 2 webhooks (WEBHOOKS_PER_PROJECT_MAX): delete one first',
    });
    expect((await gql('{ webhooks { id } }')).body.data.webhooks).toHaveLength(2);
    expect((await gql('mutation($id: ID!) { deleteWebhook(id: $id) { __typename } }', { id: first.webhook.id })).body.data.deleteWebhook.__typename).toBe(
      'DeleteWebhookSuccess',
    );
    expect((await create('c')).__typename).toBe('CreateWebhookSuccess');
  });

  it('environmentMatrix takes at most 100 names, each at most a name long: a 400 naming the argument, no value quoted', async () => {
    const matrix = (names: string[]) => gql('query($n: [String!]) { environmentMatrix(names: $n) { name } }', { n: names });
    expect((await matrix(Array.from({ length: 100 }, (_, i) => `N${i}`))).body.data.environmentMatrix).toEqual([]);
    const tooMany = await matrix(Array.from({ length: 101 }, (_, i) => `N${i}`));
    expect(tooMany.body.errors?.[0]?.message).toContain('At most 100 names');
    const tooLong = await matrix([`LONG_MARKER_${'x'.repeat(300)}`]);
    expect(tooLong.body.errors?.[0]?.message).toContain('A name is at most 255 characters');
    expect(tooLong.text).not.toContain('LONG_MARKER');
  });
});
