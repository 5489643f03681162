// Change events over GraphQL subscriptions (SSE), read with graphql-sse's own
// client: two nodes on one database, a change through a seed door on one, the
// event on the other; resumed from a cursor with no gap and no duplicate;
// limited to the key's project and environment; never a value.
import { randomBytes } from 'node:crypto';
import { createClient, type Client } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../helpers/service-process.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { graphql, request } from '../helpers/http.ts';

const MARKER = `event-marker-${randomBytes(8).toString('hex')}`;
const EVENTS = `subscription($environment: String, $after: String) {
  secretEvents(environment: $environment, after: $after) { id type environment at actorKeyId secret { id name version } }
}`;

interface Received {
  id: string;
  type: string;
  environment: string;
  actorKeyId: string | null;
  secret: { id: string; name: string; version: number };
}

let nodeA: TestApp;
let nodeB: TestApp;
let apiKey: string;
const clients: Client[] = [];

/** Subscribes on `baseUrl`; `events` fills as they come; `raw` keeps every payload as text. */
function subscribe(baseUrl: string, key: string, variables: Record<string, unknown> = {}) {
  const client = createClient({ url: `${baseUrl}/graphql`, headers: { authorization: `Bearer ${key}` }, retryAttempts: 0 });
  clients.push(client);
  const events: Received[] = [];
  const errors: unknown[] = [];
  const raw: string[] = [];
  let completed = false;
  const unsubscribe = client.subscribe<{ secretEvents: Received }>(
    { query: EVENTS, variables },
    {
      next: (result) => {
        raw.push(JSON.stringify(result));
        if (result.data) events.push(result.data.secretEvents);
        if (result.errors) errors.push(...result.errors);
      },
      // A refusal before the stream starts is an HTTP error: graphql-sse's client reports its response.
      error: (err) => void errors.push(err instanceof Error && 'response' in err ? { status: (err.response as Response | undefined)?.status } : err),
      complete: () => void (completed = true),
    },
  );
  return { events, errors, raw, unsubscribe, completed: () => completed };
}

/** waitUntil with this file's bound against a hang. */
const until = (check: () => boolean, boundMs = 10_000) => waitUntil(check, boundMs);

const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename ... on CreateApiKeySuccess { key } } }`;
async function keyWith(scopes: string[], extra: Record<string, unknown> = {}) {
  const res = await graphql(nodeA.baseUrl, CREATE_KEY, { input: { name: 'k', scopes, ...extra } }, { apiKey });
  return res.body.data.createApiKey.key as string;
}

beforeAll(async () => {
  nodeA = await startTestApp();
  nodeB = await startTestApp({ dbName: nodeA.connection.name, masterKey: nodeA.masterKey });
  apiKey = (await nodeA.createProject('events')).apiKey;
  const env = await graphql(nodeA.baseUrl, 'mutation { createEnvironment(input: {slug: "production", name: "Production"}) { __typename } }', {}, { apiKey });
  expect(env.body.data.createEnvironment.__typename).toBe('CreateEnvironmentSuccess');
});
afterAll(async () => {
  for (const client of clients) client.dispose();
  await nodeB.close({ keepDatabase: true });
  await nodeA.close();
});

describe('secretEvents', () => {
  it('an event written through node A reaches a subscriber on node B; every kind of change, in order, never a value', async () => {
    const sub = subscribe(nodeB.baseUrl, apiKey);
    // The subscription is live once it has its cursor: an event made before would not be sent.
    await nodeB.subscribed(1);
    const started = Date.now();
    const created = await request(nodeA.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'EV_ONE', value: MARKER } });
    expect(created.status).toBe(201);
    expect(await until(() => sub.events.length === 1, 5_000)).toBe(true);
    console.log(`event from node A to a subscriber on node B: ${Date.now() - started} ms after the create was sent`);
    const id = created.body.id as string;
    expect(sub.events[0]).toMatchObject({ type: 'CREATED', environment: 'default', secret: { id, name: 'EV_ONE', version: 1 } });
    expect(sub.events[0]!.actorKeyId).toEqual(expect.any(String));

    // Updated, re-described, renamed, deleted, restored: each one event, in order.
    const updated = await request(nodeA.baseUrl, 'PUT', `/api/secrets/${id}`, { apiKey, body: { value: `${MARKER}-2` } });
    expect(updated.status, updated.text).toBe(200);
    const describe = `mutation { updateSecretMetadata(id: "${id}", input: {description: "about it"}) { __typename } }`;
    expect((await graphql(nodeB.baseUrl, describe, {}, { apiKey })).body.data.updateSecretMetadata.__typename).toBe('UpdateSecretMetadataSuccess');
    // Changing nothing is no event.
    expect((await graphql(nodeB.baseUrl, describe, {}, { apiKey })).body.data.updateSecretMetadata.__typename).toBe('UpdateSecretMetadataSuccess');
    const renamed = await graphql(nodeA.baseUrl, `mutation { updateSecretMetadata(id: "${id}", input: {name: "EV_RENAMED"}) { __typename } }`, {}, { apiKey });
    expect(renamed.body.data.updateSecretMetadata.__typename).toBe('UpdateSecretMetadataSuccess');
    expect((await request(nodeA.baseUrl, 'DELETE', `/api/secrets/${id}`, { apiKey })).status).toBe(200);
    const restored = await graphql(nodeB.baseUrl, `mutation { restoreSecret(id: "${id}") { __typename } }`, {}, { apiKey });
    expect(restored.body.data.restoreSecret.__typename).toBe('RestoreSecretSuccess');

    // Events come in order: once a later one is here, any extra one (say, for the change of nothing) would be too.
    expect((await request(nodeA.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'EV_LAST', value: 'v' } })).status).toBe(201);
    expect(await until(() => sub.events.at(-1)?.secret.name === 'EV_LAST')).toBe(true);
    expect(sub.events.slice(0, -1).map((e) => [e.type, e.secret.name, e.secret.version])).toEqual([
      ['CREATED', 'EV_ONE', 1],
      ['UPDATED', 'EV_ONE', 2],
      ['DESCRIBED', 'EV_ONE', 2],
      ['RENAMED', 'EV_RENAMED', 2],
      ['DELETED', 'EV_RENAMED', 2],
      ['RESTORED', 'EV_RENAMED', 2],
    ]);
    const seqs = sub.events.map((e) => Number(e.id.split(':')[1]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(sub.errors).toEqual([]);
    expect(sub.raw.join('\n')).not.toContain(MARKER);
    expect([...nodeA.logs, ...nodeB.logs].join('\n')).not.toContain(MARKER);
    sub.unsubscribe();
  });

  it('resumes after a cursor with no gap and no duplicate, across nodes', async () => {
    const first = subscribe(nodeA.baseUrl, apiKey);
    await nodeA.subscribed(1);
    for (const name of ['R1', 'R2', 'R3'])
      expect((await request(nodeA.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name, value: 'v' } })).status).toBe(201);
    expect(await until(() => first.events.length === 3)).toBe(true);
    first.unsubscribe();
    const cursor = first.events[0]!.id;

    // Two more while nobody listens, then resume on the other node after R1.
    for (const name of ['R4', 'R5']) expect((await request(nodeB.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name, value: 'v' } })).status).toBe(201);
    const resumed = subscribe(nodeB.baseUrl, apiKey, { after: cursor });
    expect(await until(() => resumed.events.length === 4)).toBe(true);
    expect((await request(nodeA.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'R6', value: 'v' } })).status).toBe(201);
    expect(await until(() => resumed.events.at(-1)?.secret.name === 'R6')).toBe(true);
    expect(resumed.events.map((e) => e.secret.name)).toEqual(['R2', 'R3', 'R4', 'R5', 'R6']);
    resumed.unsubscribe();
  });

  it('one environment when asked, or the bound one; needs secrets:read; a foreign cursor is refused', async () => {
    const bound = await keyWith(['secrets:read', 'secrets:write'], { environment: 'production' });
    const boundSub = subscribe(nodeB.baseUrl, bound);
    const asked = subscribe(nodeB.baseUrl, apiKey, { environment: 'default' });
    await nodeB.subscribed(2);
    expect((await request(nodeA.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'IN_DEFAULT', value: 'v' } })).status).toBe(201);
    expect((await request(nodeA.baseUrl, 'POST', '/api/secrets', { apiKey: bound, body: { name: 'IN_PRODUCTION', value: 'v' } })).status).toBe(201);
    // A last change in each environment: once it is here, anything of the other environment would have come before it.
    expect((await request(nodeA.baseUrl, 'POST', '/api/secrets', { apiKey: bound, body: { name: 'LAST_PRODUCTION', value: 'v' } })).status).toBe(201);
    expect((await request(nodeA.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'LAST_DEFAULT', value: 'v' } })).status).toBe(201);
    expect(await until(() => boundSub.events.at(-1)?.secret.name === 'LAST_PRODUCTION' && asked.events.at(-1)?.secret.name === 'LAST_DEFAULT')).toBe(true);
    expect(boundSub.events.map((e) => [e.environment, e.secret.name])).toEqual([
      ['production', 'IN_PRODUCTION'],
      ['production', 'LAST_PRODUCTION'],
    ]);
    expect(asked.events.map((e) => [e.environment, e.secret.name])).toEqual([
      ['default', 'IN_DEFAULT'],
      ['default', 'LAST_DEFAULT'],
    ]);
    boundSub.unsubscribe();
    asked.unsubscribe();

    const other = subscribe(nodeB.baseUrl, bound, { environment: 'default' });
    const writeOnly = subscribe(nodeB.baseUrl, await keyWith(['secrets:write']));
    const foreign = subscribe(nodeB.baseUrl, apiKey, { after: '000000000000000000000000:1' });
    expect(await until(() => other.errors.length > 0 && writeOnly.errors.length > 0 && foreign.errors.length > 0)).toBe(true);
    expect(other.errors).toEqual([{ status: 403 }]);
    expect(writeOnly.errors).toEqual([{ status: 403 }]);
    expect(JSON.stringify(foreign.errors)).toContain('Invalid cursor');
    expect([other, writeOnly, foreign].map((s) => s.events.length)).toEqual([0, 0, 0]);
  });

  it('ends with an error once its key is revoked', async () => {
    const made = await graphql(
      nodeA.baseUrl,
      `
        mutation {
          createApiKey(input: { name: "watcher", scopes: ["secrets:read"] }) {
            ... on CreateApiKeySuccess {
              key
              apiKey {
                id
              }
            }
          }
        }
      `,
      {},
      { apiKey },
    );
    const { key, apiKey: info } = made.body.data.createApiKey;
    const sub = subscribe(nodeB.baseUrl, key);
    await nodeB.subscribed(1);
    expect((await request(nodeA.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'BEFORE_REVOKE', value: 'v' } })).status).toBe(201);
    expect(await until(() => sub.events.length === 1)).toBe(true);
    const revoked = await graphql(nodeA.baseUrl, 'mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }', { id: info.id }, { apiKey });
    expect(revoked.body.data.revokeApiKey.__typename).toBe('RevokeApiKeySuccess');
    expect(await until(() => sub.completed() || sub.errors.length > 0, 15_000)).toBe(true);
    expect(JSON.stringify(sub.errors)).toContain('revoked');
    // The stream has ended: a later change reaches no one, on this node or the other.
    expect((await request(nodeA.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'AFTER_REVOKE', value: 'v' } })).status).toBe(201);
    await nodeB.subscribed(0);
    expect(sub.events.map((e) => e.secret.name)).toEqual(['BEFORE_REVOKE']);
  });

  it('caps the subscriptions a key and a node hold open (429), and counts an ended one out', async () => {
    const nodeC = await startTestApp({ dbName: nodeA.connection.name, masterKey: nodeA.masterKey, subscriptions: { perKey: 2, perNode: 3 } });
    const opened = clients.length;
    try {
      const [first, second, third] = [await keyWith(['secrets:read']), await keyWith(['secrets:read']), await keyWith(['secrets:read'])];
      const held = [subscribe(nodeC.baseUrl, first), subscribe(nodeC.baseUrl, first)];
      // Each is admitted when it is: the next is asked for once an event shows the last one live
      // (changes are made until each has seen one, or was refused: a subscription starts from now).
      const live = async (subs: ReturnType<typeof subscribe>[], name: string) => {
        for (let i = 0; i < 25 && !subs.every((sub) => sub.events.length > 0 || sub.errors.length > 0); i++) {
          expect((await request(nodeA.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: `${name}_${i}`, value: 'v' } })).status).toBe(201);
          await until(() => subs.every((sub) => sub.events.length > 0 || sub.errors.length > 0), 400);
        }
        expect(subs.every((sub) => sub.events.length > 0 || sub.errors.length > 0)).toBe(true);
      };
      await live(held, 'CAP_1');
      expect(held.map((sub) => sub.errors)).toEqual([[], []]);

      const overKey = subscribe(nodeC.baseUrl, first);
      expect(await until(() => overKey.errors.length > 0)).toBe(true);
      expect(overKey.errors).toEqual([{ status: 429 }]);
      const other = subscribe(nodeC.baseUrl, second);
      await live([other], 'CAP_2');
      expect(other.errors).toEqual([]);
      const overNode = subscribe(nodeC.baseUrl, third);
      expect(await until(() => overNode.errors.length > 0)).toBe(true);
      expect(overNode.errors).toEqual([{ status: 429 }]);

      // One of the first key's ends: the key may open another (once this node saw it go).
      held[0]!.unsubscribe();
      let again: ReturnType<typeof subscribe> | undefined;
      for (let attempt = 0; attempt < 20; attempt++) {
        again = subscribe(nodeC.baseUrl, first);
        await live([again], `CAP_AGAIN_${attempt}`);
        if (again.errors.length === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(again!.errors).toEqual([]);
      expect(again!.events.length).toBeGreaterThan(0);
    } finally {
      // Open streams would hold the node's close.
      for (const client of clients.slice(opened)) client.dispose();
      await nodeC.close({ keepDatabase: true });
    }
  });
});
