// Webhooks against a real receiver (a local HTTP server): exactly the
// expected deliveries, signed as Standard Webhooks says (checked with the
// specification's own library and with node:crypto), retried after a
// failure, none lost or doubled across a restart of the node, no redirect
// followed, no internal address reached unless allowed, never a value.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../helpers/service-process.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { graphql, request } from '../helpers/http.ts';

const MARKER = `webhook-marker-${randomBytes(8).toString('hex')}`;
const FAST = { intervalMs: 100, retryBaseMs: 300, timeoutMs: 2_000 };

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  answered: number;
}

/** A receiver that records every request and answers with `answer(request)` (200 unless told otherwise). */
async function receiver() {
  const requests: Received[] = [];
  let answer: (req: Received) => { status: number; headers?: Record<string, string> } = () => ({ status: 200 });
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const received: Received = { path: req.url ?? '', headers: req.headers, body, answered: 0 };
      const { status, headers } = answer(received);
      received.answered = status;
      requests.push(received);
      res.writeHead(status, headers).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    answerWith: (fn: typeof answer) => void (answer = fn),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** waitUntil with this file's bound against a hang. */
const until = (check: () => boolean | Promise<boolean>, boundMs = 15_000) => waitUntil(check, boundMs);

const CREATE = `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) {
  __typename ... on CreateWebhookSuccess { signingSecret webhook { id url events environment } }
  ... on ValidationError { fields { path message } } ... on Error { code message } } }`;
const DELIVERIES = `query($id: ID!) { webhookDeliveries(id: $id, first: 50) { __typename ... on WebhookDeliveryConnection {
  edges { node { id eventId eventType status attempts lastResponseCode lastError deliveredAt } } } } }`;

/** Whether webhook-signature holds an HMAC-SHA256 of "id.timestamp.body" under the secret, by node:crypto alone. */
function signedBy(secret: string, req: Received): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${req.headers['webhook-id']}.${req.headers['webhook-timestamp']}.${req.body}`).digest();
  return String(req.headers['webhook-signature'])
    .split(' ')
    .some((sig) => {
      const [version, value] = sig.split(',');
      const given = Buffer.from(value ?? '', 'base64');
      return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
    });
}

let node: TestApp;
let apiKey: string;
let sink: Awaited<ReturnType<typeof receiver>>;

beforeAll(async () => {
  node = await startTestApp({ webhooks: { timing: FAST } });
  apiKey = (await node.createProject('webhooks')).apiKey;
  sink = await receiver();
});
afterAll(async () => {
  await sink.close();
  await node.close();
});

async function createWebhook(app: TestApp, input: Record<string, unknown>, key = apiKey) {
  return (await graphql(app.baseUrl, CREATE, { input }, { apiKey: key })).body.data.createWebhook;
}

describe('webhooks', () => {
  it('sends exactly the events asked for, signed, with no value; a failed attempt is retried', async () => {
    const path = '/hook-one';
    const created = await createWebhook(node, { url: `${sink.url}${path}`, events: ['CREATED', 'UPDATED'] });
    expect(created.__typename).toBe('CreateWebhookSuccess');
    expect(created.signingSecret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const hookId = created.webhook.id as string;
    // The first attempt of the created event's delivery fails.
    let failed = false;
    sink.answerWith((req) => (req.path === path && !failed && req.body.includes('"secret.created"') ? ((failed = true), { status: 500 }) : { status: 200 }));

    const secret = await request(node.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'HOOKED', value: MARKER } });
    expect(secret.status).toBe(201);
    expect((await request(node.baseUrl, 'PUT', `/api/secrets/${secret.body.id}`, { apiKey, body: { value: `${MARKER}-2` } })).status).toBe(200);
    expect((await request(node.baseUrl, 'DELETE', `/api/secrets/${secret.body.id}`, { apiKey })).status).toBe(200);

    const mine = () => sink.requests.filter((r) => r.path === path);
    const ok = await until(() => mine().filter((r) => r.answered === 200).length === 2);
    expect(ok).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 800));
    // Three requests: the created event twice (500, then 200), the updated one once (maybe before the retry:
    // deliveries carry their event's id to order by); the deletion was not asked for.
    expect(
      mine()
        .map((r) => [JSON.parse(r.body).type, r.answered])
        .sort(),
    ).toEqual([
      ['secret.created', 200],
      ['secret.created', 500],
      ['secret.updated', 200],
    ]);
    const [first, retry] = mine().filter((r) => JSON.parse(r.body).type === 'secret.created');
    expect(retry!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(retry!.body).toBe(first!.body);
    for (const req of mine()) {
      expect(new Webhook(created.signingSecret).verify(req.body, req.headers as Record<string, string>)).toMatchObject({
        type: expect.stringMatching(/^secret\./),
      });
      expect(signedBy(created.signingSecret, req)).toBe(true);
      expect(req.body).not.toContain(MARKER);
    }
    expect(JSON.parse(mine().find((r) => JSON.parse(r.body).type === 'secret.updated')!.body)).toMatchObject({
      type: 'secret.updated',
      data: { type: 'updated', environment: 'default', secret: { id: secret.body.id, name: 'HOOKED', version: 2 }, actorKeyId: expect.any(String) },
    });

    const deliveries = (await graphql(node.baseUrl, DELIVERIES, { id: hookId }, { apiKey })).body.data.webhookDeliveries.edges.map(
      (e: { node: unknown }) => e.node,
    );
    expect(deliveries).toEqual([
      expect.objectContaining({ eventType: 'UPDATED', status: 'DELIVERED', attempts: 1, lastResponseCode: 200, lastError: null }),
      expect.objectContaining({ eventType: 'CREATED', status: 'DELIVERED', attempts: 2, lastResponseCode: 200, lastError: null }),
    ]);
    // Pages: the endCursor of one page gives the next; a cursor of another webhook is refused.
    const PAGE = `query($id: ID!, $after: String) { webhookDeliveries(id: $id, first: 1, after: $after) { __typename
      ... on WebhookDeliveryConnection { edges { node { eventType } } pageInfo { hasNextPage endCursor } } ... on ValidationError { fields { path } } } }`;
    const page1 = (await graphql(node.baseUrl, PAGE, { id: hookId }, { apiKey })).body.data.webhookDeliveries;
    expect(page1).toMatchObject({ edges: [{ node: { eventType: 'UPDATED' } }], pageInfo: { hasNextPage: true } });
    const page2 = (await graphql(node.baseUrl, PAGE, { id: hookId, after: page1.pageInfo.endCursor }, { apiKey })).body.data.webhookDeliveries;
    expect(page2).toMatchObject({ edges: [{ node: { eventType: 'CREATED' } }], pageInfo: { hasNextPage: false } });
    const foreign = `${'0'.repeat(24)}:${page1.pageInfo.endCursor.split(':')[1]}`;
    expect((await graphql(node.baseUrl, PAGE, { id: hookId, after: foreign }, { apiKey })).body.data.webhookDeliveries).toEqual({
      __typename: 'ValidationError',
      fields: [{ path: ['after'] }],
    });
    expect([...node.logs].join('\n')).not.toContain(MARKER);
    expect(
      (await graphql(node.baseUrl, 'mutation($id: ID!) { deleteWebhook(id: $id) { __typename } }', { id: hookId }, { apiKey })).body.data.deleteWebhook
        .__typename,
    ).toBe('DeleteWebhookSuccess');
  });

  it('loses and doubles nothing across a restart of the node: what was due is sent by the node that starts next', async () => {
    const path = '/hook-restart';
    const created = await createWebhook(node, { url: `${sink.url}${path}` });
    // The receiver is down (503) while three changes are made and the node stops.
    sink.answerWith((req) => ({ status: req.path === path ? 503 : 200 }));
    const names = ['AR1', 'AR2', 'AR3'];
    for (const name of names) expect((await request(node.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name, value: MARKER } })).status).toBe(201);
    const mine = () => sink.requests.filter((r) => r.path === path);
    expect(await until(() => mine().length >= 3)).toBe(true);
    await node.dispatcher.stop();
    await node.close({ keepDatabase: true });

    sink.answerWith(() => ({ status: 200 }));
    node = await startTestApp({ dbName: node.connection.name, masterKey: node.masterKey, webhooks: { timing: FAST } });
    expect(
      await until(
        () =>
          new Set(
            mine()
              .filter((r) => r.answered === 200)
              .map((r) => r.headers['webhook-id']),
          ).size === 3,
      ),
    ).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const delivered = mine().filter((r) => r.answered === 200);
    expect(delivered.map((r) => JSON.parse(r.body).data.secret.name).sort()).toEqual(names);
    // Each delivered once, and each under its one webhook-id on every attempt.
    expect(new Set(delivered.map((r) => r.headers['webhook-id'])).size).toBe(delivered.length);
    for (const req of mine()) expect(signedBy(created.signingSecret, req)).toBe(true);
    await graphql(node.baseUrl, 'mutation($id: ID!) { deleteWebhook(id: $id) { __typename } }', { id: created.webhook.id }, { apiKey });
  });

  it('follows no redirect: a 3xx is a failed attempt, and its Location is never asked', async () => {
    const created = await createWebhook(node, { url: `${sink.url}/hook-redirect`, events: ['CREATED'] });
    sink.answerWith((req) => (req.path === '/hook-redirect' ? { status: 302, headers: { location: `${sink.url}/elsewhere` } } : { status: 200 }));
    expect((await request(node.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'REDIRECTED', value: 'v' } })).status).toBe(201);
    expect(
      await until(async () => {
        const edges = (await graphql(node.baseUrl, DELIVERIES, { id: created.webhook.id }, { apiKey })).body.data.webhookDeliveries.edges;
        return edges.length === 1 && edges[0].node.attempts >= 1;
      }),
    ).toBe(true);
    const edges = (await graphql(node.baseUrl, DELIVERIES, { id: created.webhook.id }, { apiKey })).body.data.webhookDeliveries.edges;
    expect(edges[0].node).toMatchObject({ status: 'PENDING', lastResponseCode: 302, lastError: 'answered 302' });
    expect(sink.requests.some((r) => r.path === '/elsewhere')).toBe(false);
    await graphql(node.baseUrl, 'mutation($id: ID!) { deleteWebhook(id: $id) { __typename } }', { id: created.webhook.id }, { apiKey });
  });

  it('refuses loopback, private, link-local and metadata addresses unless WEBHOOK_ALLOWED_HOSTS names them; needs webhooks:manage', async () => {
    const strict = await startTestApp({ dbName: node.connection.name, masterKey: node.masterKey, webhooks: { allowedHosts: [], timing: FAST } });
    try {
      for (const url of [
        sink.url,
        'http://localhost:9/',
        'http://10.1.2.3/',
        'http://192.168.0.1/',
        'http://[::1]/',
        'http://169.254.169.254/latest/meta-data/',
        'http://[fd00:ec2::254]/',
        'http://[::ffff:127.0.0.1]/',
        'ftp://example.com/',
        'http://user:pass@example.com/',
      ]) {
        const refused = await createWebhook(strict, { url });
        expect({ url, typename: refused.__typename }).toEqual({ url, typename: 'ValidationError' });
        expect(refused.fields[0].path).toEqual(['input', 'url']);
      }
      expect((await createWebhook(node, { url: `${sink.url}/allowed` })).__typename).toBe('CreateWebhookSuccess');

      const key = await graphql(
        node.baseUrl,
        'mutation { createApiKey(input: {name: "r", scopes: ["secrets:read"]}) { ... on CreateApiKeySuccess { key } } }',
        {},
        { apiKey },
      );
      const forbidden = await createWebhook(node, { url: `${sink.url}/x` }, key.body.data.createApiKey.key);
      expect(forbidden).toMatchObject({ __typename: 'ForbiddenError', message: expect.stringContaining('webhooks:manage') });
      const listed = await graphql(node.baseUrl, '{ webhooks { id url } }', {}, { apiKey });
      expect(listed.body.data.webhooks.map((w: { url: string }) => w.url)).toEqual([`${sink.url}/allowed`]);
    } finally {
      await strict.close({ keepDatabase: true });
    }
  });
  it("a webhook on an environment is sent its parents' changes too, naming where each was made; one on an unrelated environment is not", async () => {
    for (const input of [
      { slug: 'hook-base', name: 'Base' },
      { slug: 'hook-child', name: 'Child', parent: 'hook-base' },
      { slug: 'hook-other', name: 'Other' },
    ]) {
      const made = await graphql(
        node.baseUrl,
        'mutation($input: CreateEnvironmentInput!) { r: createEnvironment(input: $input) { __typename } }',
        { input },
        { apiKey },
      );
      expect(made.body.data.r.__typename).toBe('CreateEnvironmentSuccess');
    }
    const child = await createWebhook(node, { url: `${sink.url}/hook-child`, events: ['CREATED'], environment: 'hook-child' });
    const other = await createWebhook(node, { url: `${sink.url}/hook-other`, events: ['CREATED'], environment: 'hook-other' });
    expect([child.__typename, other.__typename]).toEqual(['CreateWebhookSuccess', 'CreateWebhookSuccess']);
    const created = await request(node.baseUrl, 'POST', '/api/secrets', {
      apiKey,
      headers: { 'x-secrets-environment': 'hook-base' },
      body: { name: 'INHERITED_HOOK', value: MARKER },
    });
    expect(created.status).toBe(201);
    const sent = () => sink.requests.filter((r) => r.path === '/hook-child' && r.body.includes('INHERITED_HOOK'));
    expect(await until(() => sent().length === 1)).toBe(true);
    expect(JSON.parse(sent()[0]!.body).data).toMatchObject({ type: 'created', environment: 'hook-base', secret: { name: 'INHERITED_HOOK' } });
    expect(sent()[0]!.body).not.toContain(MARKER);
    // The unrelated hook's cursor passed the event without a delivery.
    const { seq } = (await node.models.SecretEvent.findOne({ secretName: 'INHERITED_HOOK' }).lean())!;
    expect(await until(async () => ((await node.models.Webhook.findById(other.webhook.id).lean()) as { cursor: number }).cursor >= seq)).toBe(true);
    expect(sink.requests.filter((r) => r.path === '/hook-other')).toEqual([]);
  });
});
