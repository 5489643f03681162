// npm run bench:live [-- --changes N --gap MS]
//
// How long a change takes to reach its watchers, as a user of two nodes sees
// it: two compiled service processes on one engine; a subscriber on node B
// (graphql-sse's client) and a webhook receiver (a local HTTP server); N
// changes through node A's LangWatch door, one every --gap ms. Prints, from
// the write's acknowledgement, the arrival of its event on node B and of its
// webhook delivery (p50, p95, max), with the service's default timings.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createClient } from 'graphql-sse';
import { projectRoot } from '../../src/config.ts';
import { freePort, startBenchEngine, startServerProcess } from './common.ts';

const { values: args } = parseArgs({ options: { changes: { type: 'string', default: '50' }, gap: { type: 'string', default: '200' } } });
const CHANGES = Number(args.changes);
const GAP_MS = Number(args.gap);
const adminToken = randomBytes(24).toString('hex');
const masterKey = randomBytes(32).toString('base64');

const engine = await startBenchEngine('secrets-bench-live-');
const nodes = [];
for (const name of ['node A', 'node B']) {
  const port = await freePort();
  const env = {
    ...process.env,
    MONGODB_URI: engine.uriOf('live'),
    SECRETS_MASTER_KEY: masterKey,
    ADMIN_TOKEN: adminToken,
    PORT: String(port),
    RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
  };
  nodes.push(await startServerProcess(name, 'dist/main.js', env, port, '/healthz'));
}
const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];

const post = async (base: string, pathname: string, body: unknown, headers: Record<string, string>) => {
  const res = await fetch(`${base}${pathname}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};
const { apiKey } = (await post(a.base, '/admin/projects', { name: 'live' }, { authorization: `Bearer ${adminToken}` })).body as { apiKey: string };

// Arrival times by secret name.
const events = new Map<string, number>();
const deliveries = new Map<string, number>();
const receiver = http.createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    const name = JSON.parse(body).data.secret.name as string;
    if (!deliveries.has(name)) deliveries.set(name, performance.now());
    res.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const hook = await post(
  a.base,
  '/graphql',
  {
    query: 'mutation($u: String!) { createWebhook(input: {url: $u, events: [CREATED]}) { __typename } }',
    variables: { u: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` },
  },
  { authorization: `Bearer ${apiKey}` },
);
if (hook.body.data?.createWebhook?.__typename !== 'CreateWebhookSuccess') throw new Error(`createWebhook: ${JSON.stringify(hook.body)}`);

const client = createClient({ url: `${b.base}/graphql`, headers: { authorization: `Bearer ${apiKey}` }, retryAttempts: 0 });
client.subscribe<{ secretEvents: { secret: { name: string } } }>(
  { query: 'subscription { secretEvents { secret { name } } }' },
  {
    next: (result) => {
      const name = result.data?.secretEvents.secret.name;
      if (name && !events.has(name)) events.set(name, performance.now());
    },
    error: (err) => console.error('subscription failed:', err),
    complete: () => {},
  },
);
await new Promise((resolve) => setTimeout(resolve, 1_000));

const acked = new Map<string, number>();
for (let i = 0; i < CHANGES; i++) {
  const name = `LIVE_${i}`;
  const res = await post(a.base, '/api/secrets', { name, value: 'v' }, { 'x-auth-token': apiKey });
  if (res.status !== 201) throw new Error(`create ${name}: ${res.status}`);
  acked.set(name, performance.now());
  await new Promise((resolve) => setTimeout(resolve, GAP_MS));
}
const deadline = performance.now() + 30_000;
while ((events.size < CHANGES || deliveries.size < CHANGES) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));

function summary(arrivals: Map<string, number>) {
  const waits = [...acked]
    .map(([name, at]) => (arrivals.get(name) ?? Number.NaN) - at)
    .filter(Number.isFinite)
    .sort((x, y) => x - y);
  const at = (q: number) => Math.round(waits[Math.min(waits.length - 1, Math.floor(q * waits.length))] ?? Number.NaN);
  return { received: waits.length, p50: at(0.5), p95: at(0.95), max: Math.round(waits.at(-1) ?? Number.NaN) };
}
const result = { engine: engine.kind, changes: CHANGES, gapMs: GAP_MS, event: summary(events), webhook: summary(deliveries) };
console.log(`engine: ${engine.kind}; ${CHANGES} creates through node A, one every ${GAP_MS} ms; from each create's 201:`);
console.log(
  `  event on node B's subscription: ${result.event.received}/${CHANGES} received, p50 ${result.event.p50} ms, p95 ${result.event.p95} ms, max ${result.event.max} ms`,
);
console.log(
  `  webhook delivery:               ${result.webhook.received}/${CHANGES} received, p50 ${result.webhook.p50} ms, p95 ${result.webhook.p95} ms, max ${result.webhook.max} ms`,
);
mkdirSync(path.join(projectRoot, 'results'), { recursive: true });
writeFileSync(path.join(projectRoot, 'results', 'bench-live.json'), `${JSON.stringify(result, null, 2)}\n`);

client.dispose();
receiver.close();
for (const node of nodes) await node.stop();
await engine.stop();
