// What a request costs, counted: every command the driver sends (its command
// monitoring) while writers work concurrently through every door and GraphQL.
// Counts are deterministic where timings are not, so this file asserts counts
// and the shape of each command's filter, never a duration.
//
// - Every find/update/delete/findAndModify/count/aggregate/distinct on a
//   request's path is a point lookup: its filter is `{_id: …}` or
//   `{_id: {$in: …}}`, or it is on ALLOWED below with the reason it may scan.
// - Commands per request, at 1, 8 and 32 concurrent writers: create ≤ 5,
//   update ≤ 6, read value ≤ 2, get ≤ 1, beside the key cache's lookups
//   (counted apart: a miss at most once per key per 2 s).
import { REST_DOOR_SLUGS } from '../../src/auth/caller.ts';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from 'graphql-sse';
import type { CommandStartedEvent } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type DoorClient, doorClient, type GraphqlClient, graphqlClient } from '../helpers/doors.ts';
import { waitUntil } from '../helpers/service-process.ts';

interface Sent {
  readonly command: string;
  readonly collection: string;
  /** The filters the command selects documents by (one per statement of an update or delete). */
  readonly filters: readonly unknown[];
}

const SELECTING = new Set(['find', 'update', 'delete', 'findAndModify', 'count', 'aggregate', 'distinct']);

function sentOf(event: CommandStartedEvent): Sent {
  const cmd = event.command as Record<string, any>;
  const collection = String(cmd[event.commandName] ?? '');
  const filters = ((): unknown[] => {
    switch (event.commandName) {
      case 'find':
        return [cmd.filter ?? {}];
      case 'update':
        return (cmd.updates as { q: unknown }[]).map((u) => u.q);
      case 'delete':
        return (cmd.deletes as { q: unknown }[]).map((d) => d.q);
      case 'findAndModify':
      case 'count':
      case 'distinct':
        return [cmd.query ?? {}];
      // A pipeline is a point lookup only when it is one $match by _id.
      case 'aggregate':
        return cmd.pipeline.length === 1 && cmd.pipeline[0].$match ? [cmd.pipeline[0].$match] : [{ pipeline: cmd.pipeline }];
      default:
        return [];
    }
  })();
  return { command: event.commandName, collection, filters };
}

const isScalar = (v: unknown) => typeof v === 'string' || typeof v === 'number' || (typeof v === 'object' && v !== null && v.constructor?.name === 'ObjectId');

/** `{_id: v}` or `{_id: {$in: [...]}}` and nothing else. */
export function isPointFilter(filter: unknown): boolean {
  if (typeof filter !== 'object' || filter === null) return false;
  const keys = Object.keys(filter);
  if (keys.length !== 1 || keys[0] !== '_id') return false;
  const id = (filter as { _id: unknown })._id;
  if (isScalar(id)) return true;
  return typeof id === 'object' && id !== null && Object.keys(id).length === 1 && Array.isArray((id as { $in?: unknown }).$in);
}

/** A filter's field names, sorted; for a pipeline, its first stage's $match's, after "pipeline:". */
function keysOf(filter: unknown): string {
  const pipeline = (filter as { pipeline?: Record<string, unknown>[] }).pipeline;
  if (pipeline)
    return `pipeline:${Object.keys(pipeline[0]?.$match ?? {})
      .sort()
      .join(',')}`;
  return Object.keys(filter as object)
    .sort()
    .join(',');
}

/** The commands that may select by more than _id, each with why. */
const ALLOWED: readonly { collection: string; command: string; keys: string; why: string }[] = [
  { collection: 'api_keys', command: 'find', keys: 'hash', why: "the key cache's miss: a presented key is found by its hash, at most once per key per 2 s" },
  {
    collection: 'secrets',
    command: 'find',
    keys: '$or,deletedAt,environment,projectId',
    why: 'a list page: the live secrets of one environment, by the {projectId, environment, …} index',
  },
  {
    collection: 'webhooks',
    command: 'aggregate',
    keys: 'pipeline:projectId',
    why: "a webhook's creation counts the project's webhooks (WEBHOOKS_PER_PROJECT_MAX, at most 20): once per webhook made, never on a secret's path",
  },
  {
    collection: 'secrets',
    command: 'aggregate',
    keys: 'pipeline:deletedAt,environment,projectId',
    why: "a delete's count of the environment's deleted secrets (their limit): once per environment per minute per node, or near the limit",
  },
  { collection: 'webhooks', command: 'find', keys: '', why: "the webhook dispatcher's tick (background, not a request): the registered webhooks" },
  { collection: 'webhook_deliveries', command: 'find', keys: 'nextAttemptAt,status', why: "the dispatcher's tick (background): the deliveries due" },
];

function offending(sent: readonly Sent[]) {
  return sent
    .filter((s) => SELECTING.has(s.command))
    .flatMap((s) =>
      s.filters
        .filter((f) => !isPointFilter(f) && !ALLOWED.some((a) => a.collection === s.collection && a.command === s.command && a.keys === keysOf(f)))
        .map((f) => `${s.command} ${s.collection} ${JSON.stringify(f)}`),
    );
}

/** Records every command sent on the app's connection until stopped. */
function record(app: TestApp) {
  const client = app.connection.getClient();
  const sent: Sent[] = [];
  const listener = (event: CommandStartedEvent) => void sent.push(sentOf(event));
  client.on('commandStarted', listener);
  return { sent, stop: () => void client.off('commandStarted', listener) };
}

/** A request's commands, beside the key cache's (counted apart) and the handshakes. */
const requestCommands = (sent: readonly Sent[]) =>
  sent.filter((s) => s.collection !== 'api_keys' && !['hello', 'isMaster', 'ping', 'endSessions'].includes(s.command));

let app: TestApp;
let apiKey: string;

/** Every door of the registry, and GraphQL: a new REST door is refused by the compiler until doors() has its client. */
const DOOR_NAMES = [...REST_DOOR_SLUGS, 'graphql'] as const;

/** The ids of secrets by name, through LangWatch's list: for a door whose create answers none. */
async function idsOf(on: TestApp, key: string, names: readonly string[]): Promise<string[]> {
  const listed = (await doorClient(on.baseUrl, key, 'x-auth-token')('GET', '/api/secrets')).body as { id: string; name: string }[];
  return names.map((name) => listed.find((s) => s.name === name)!.id);
}

/** One door's operations; each resolves to the status it got (and the id made, for a create). */
interface Door {
  create(name: string, value: string): Promise<{ status: number; id?: string }>;
  update?(id: string, name: string, value: string): Promise<number>;
  rename?(id: string, name: string, to: string): Promise<number>;
  get?(id: string): Promise<number>;
  readValue?(id: string): Promise<number>;
  list(): Promise<number>;
  remove(id: string, name: string): Promise<number>;
}

function doors(key: string, on: TestApp = app): Record<(typeof DOOR_NAMES)[number], Door> {
  const langwatch = doorClient(on.baseUrl, key, 'x-auth-token');
  const together = doorClient(on.baseUrl, key, 'bearer', '/v1/deployments/secrets');
  const v1 = doorClient(on.baseUrl, key, 'bearer', '/api/v1/user/secrets');
  const openhands = doorClient(on.baseUrl, key, 'x-session-api-key', '/api/secrets');
  const gql = graphqlClient(on.baseUrl, key);
  const status = async (p: ReturnType<DoorClient>) => (await p).status;
  const gqlOutcome = async (p: ReturnType<GraphqlClient>, field: string) => {
    const res = await p;
    const typename = res.body.data?.[field]?.__typename as string | undefined;
    return typename?.endsWith('Success') ? 200 : typename === 'ValidationError' || typename === 'QuotaExceededError' ? 422 : 400;
  };
  return {
    langwatch: {
      create: async (name, value) => {
        const r = await langwatch('POST', '/api/secrets', { body: { name, value } });
        return { status: r.status, id: r.body?.id };
      },
      update: (id, _name, value) => status(langwatch('PUT', `/api/secrets/${id}`, { body: { value } })),
      get: (id) => status(langwatch('GET', `/api/secrets/${id}`)),
      readValue: (id) => status(langwatch('GET', `/api/secrets/${id}/value`)),
      list: () => status(langwatch('GET', '/api/secrets')),
      remove: (id) => status(langwatch('DELETE', `/api/secrets/${id}`)),
    },
    together: {
      create: async (name, value) => {
        const r = await together('POST', '', { body: { name, value } });
        return { status: r.status, id: r.body?.id };
      },
      update: (id, _name, value) => status(together('PATCH', `/${id}`, { body: { value } })),
      rename: (id, _name, to) => status(together('PATCH', `/${id}`, { body: { name: to } })),
      get: (id) => status(together('GET', `/${id}`)),
      list: () => status(together('GET', '')),
      remove: (id) => status(together('DELETE', `/${id}`)),
    },
    'user-secrets-v1': {
      create: async (name, value) => {
        const r = await v1('POST', '', { body: { name, value } });
        return { status: r.status, id: r.body?.id };
      },
      update: (id, _name, value) => status(v1('PUT', `/${id}`, { body: { value } })),
      get: (id) => status(v1('GET', `/${id}`)),
      list: () => status(v1('GET', '')),
      remove: (id) => status(v1('DELETE', `/${id}`)),
    },
    openhands: {
      // OpenHands answers a create with a message only: its id is looked up afterwards (idsOf).
      create: async (name, value) => ({ status: (await openhands('POST', '', { body: { name, value } })).status }),
      rename: (_id, name, to) => status(openhands('PUT', `/${name}`, { body: { name: to } })),
      list: () => status(openhands('GET', '')),
      remove: (_id, name) => status(openhands('DELETE', `/${name}`)),
    },
    graphql: {
      create: async (name, value) => {
        const r = await gql(
          'mutation($name: String!, $value: String!) { createSecret(input: {name: $name, value: $value}) { __typename ... on CreateSecretSuccess { secret { id } } } }',
          { name, value },
        );
        const out = r.body.data?.createSecret;
        return {
          status:
            out?.__typename === 'CreateSecretSuccess' ? 201 : out?.__typename === 'QuotaExceededError' || out?.__typename === 'ValidationError' ? 422 : 400,
          id: out?.secret?.id,
        };
      },
      update: (id, _name, value) =>
        gqlOutcome(gql('mutation($id: ID!, $value: String!) { updateSecret(id: $id, input: {value: $value}) { __typename } }', { id, value }), 'updateSecret'),
      rename: (id, _name, to) =>
        gqlOutcome(
          gql('mutation($id: ID!, $to: String!) { updateSecretMetadata(id: $id, input: {name: $to}) { __typename } }', { id, to }),
          'updateSecretMetadata',
        ),
      get: async (id) => ((await gql('query($id: ID!) { secret(id: $id) { id name version } }', { id })).body.data?.secret ? 200 : 404),
      readValue: (id) => gqlOutcome(gql('query($id: ID!) { revealSecret(id: $id, reason: "cost test") { __typename } }', { id }), 'revealSecret'),
      list: async () => ((await gql('query { secrets(first: 20) { edges { node { id name } } } }')).body.data?.secrets ? 200 : 400),
      remove: (id) => gqlOutcome(gql('mutation($id: ID!) { deleteSecret(id: $id) { __typename } }', { id }), 'deleteSecret'),
    },
  };
}

async function restore(id: string) {
  const res = await graphqlClient(app.baseUrl, apiKey)('mutation($id: ID!) { restoreSecret(id: $id) { __typename } }', { id });
  return res.body.data?.restoreSecret?.__typename === 'RestoreSecretSuccess' ? 200 : 400;
}

let runs = 0;
/** Writer w's whole life of one secret through its door: every kind of request once. */
async function mixedWriter(door: Door, w: number): Promise<number[]> {
  const name = `MIX_${runs}_${w}`;
  const statuses: number[] = [];
  const created = await door.create(name, `value-${w}-one-long-enough`);
  statuses.push(created.status);
  const id = created.id ?? (await idsOf(app, apiKey, [name]))[0]!;
  if (door.get) statuses.push(await door.get(id));
  if (door.update) statuses.push(await door.update(id, name, `value-${w}-two-long-enough`));
  if (door.readValue) statuses.push(await door.readValue(id));
  if (door.rename) statuses.push(await door.rename(id, name, `${name}_R`));
  const current = door.rename ? `${name}_R` : name;
  statuses.push(await door.list());
  statuses.push(await door.remove(id, current));
  statuses.push(await restore(id));
  return statuses;
}

let sink: Server;
const delivered: string[] = [];
beforeAll(async () => {
  sink = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => void delivered.push(chunk.toString()));
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  app = await startTestApp({ webhooks: { timing: { intervalMs: 100 } } });
  ({ apiKey } = await app.createProject('cost'));
});
afterAll(async () => {
  await app.close();
  await new Promise((resolve) => sink.close(resolve));
});

describe('every command on a request path is a point lookup, or allowed with a reason', () => {
  it.each([8, 32])('%i concurrent writers through every door and GraphQL, a subscription open and a webhook registered', async (writers) => {
    const gql = graphqlClient(app.baseUrl, apiKey);
    const recording = record(app);
    try {
      const hook = await gql('mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { __typename } }', {
        input: { url: `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hook-${writers}` },
      });
      expect(hook.body.data.createWebhook.__typename).toBe('CreateWebhookSuccess');
      const events: string[] = [];
      const client = createClient({ url: `${app.baseUrl}/graphql`, headers: { authorization: `Bearer ${apiKey}` }, retryAttempts: 0 });
      const unsubscribe = client.subscribe<{ secretEvents: { id: string } }>(
        { query: 'subscription { secretEvents { id type } }' },
        {
          next: (result) => void (result.data && events.push(result.data.secretEvents.id)),
          error: () => {},
          complete: () => {},
        },
      );
      // The subscription is open once it has seen a change.
      const probe = await doors(apiKey).langwatch.create(`PROBE_${writers}`, 'probe-value-long-enough');
      await waitUntil(() => events.length > 0, 10_000);

      runs++;
      const all = doors(apiKey);
      const statuses = await Promise.all(Array.from({ length: writers }, (_, w) => mixedWriter(all[DOOR_NAMES[w % DOOR_NAMES.length]!]!, w)));
      expect(
        statuses.map((s, w) => [DOOR_NAMES[w % DOOR_NAMES.length], s.filter((code) => code < 200 || code >= 300)]).filter(([, bad]) => bad!.length),
      ).toEqual([]);
      // Each writer's create, update, rename, delete and restore is an event: the subscription sees them all.
      await waitUntil(() => events.length > writers * 3, 10_000);
      unsubscribe();
      client.dispose();
      expect(probe.status).toBe(201);
    } finally {
      recording.stop();
    }
    expect(offending(recording.sent)).toEqual([]);
    // The control: the measure sees selecting commands at all.
    expect(recording.sent.filter((s) => SELECTING.has(s.command)).length).toBeGreaterThan(writers * 5);
  });

  it('the check itself: a filter with another field, or a sort over a project, is not a point lookup', () => {
    expect(isPointFilter({ _id: 'a' })).toBe(true);
    expect(isPointFilter({ _id: { $in: ['a', 'b'] } })).toBe(true);
    expect(isPointFilter({ _id: 'a', deletedAt: null })).toBe(false);
    expect(isPointFilter({ projectId: 'p' })).toBe(false);
    expect(isPointFilter({ _id: { $gt: 'a' } })).toBe(false);
  });
});

describe('commands per request, counted at 1, 8 and 32 concurrent writers', () => {
  const BUDGET = { create: 5, update: 6, readValue: 2, get: 1 } as const;
  let key: string;
  let n = 0;
  // An app of its own, with no dispatcher ticking beside the requests.
  let counted: TestApp;
  beforeAll(async () => {
    // A quota far from full: a blind slot pick rarely collides.
    counted = await startTestApp({ limits: { projectSecretLimit: 100_000 } });
    ({ apiKey: key } = await counted.createProject('counted'));
    // The first write of a node in a project finds where its events stand: counted once, here.
    await doors(key, counted).langwatch.create('WARM_UP', 'warm-up-value-long-enough');
  });
  afterAll(() => counted.close());

  /**
   * The commands of `count` concurrent calls of `call`, per call, beside two
   * amortised costs counted apart: the event head's move (one write per
   * HEAD_EVERY events) and a create's retry when its blind pick of a quota
   * slot hit a taken one (one insert and one lookup of the name's pointer; a
   * pick collides as often as the quota is full, here a fraction of a percent).
   */
  async function perRequest(count: number, call: (i: number) => Promise<number>): Promise<number> {
    const recording = record(counted);
    let statuses: number[];
    try {
      statuses = await Promise.all(Array.from({ length: count }, (_, i) => call(i)));
    } finally {
      recording.stop();
    }
    expect(statuses.filter((s) => s < 200 || s >= 300)).toEqual([]);
    const sent = requestCommands(recording.sent);
    const headMoves = sent.filter((s) => s.collection === 'secret_event_heads').length;
    const inserts = sent.filter((s) => s.command === 'insert' && s.collection === 'secrets').length;
    const slotRetries = inserts > count ? inserts - count : 0;
    expect({ headMoves, slotRetries }).toEqual({ headMoves: expect.toSatisfy((n: number) => n <= 1), slotRetries: expect.toSatisfy((n: number) => n <= 2) });
    return (sent.length - headMoves - 2 * slotRetries) / count;
  }

  const cases = DOOR_NAMES.flatMap((door) => [1, 8, 32].map((writers) => [door, writers] as const));
  it.each(cases)('%s at %i writers: create ≤ 5, update ≤ 6, read value ≤ 2, get ≤ 1', async (doorName, writers) => {
    const door = doors(key, counted)[doorName]!;
    const batch = n++;
    const names = Array.from({ length: writers }, (_, i) => `COUNT_${batch}_${i}`);
    let ids: string[] = [];
    const measured: Record<string, number> = {
      create: await perRequest(writers, async (i) => {
        const made = await door.create(names[i]!, `counted-value-${i}-long-enough`);
        if (made.id) ids[i] = made.id;
        return made.status;
      }),
    };
    if (ids.length < writers) ids = await idsOf(counted, key, names);
    if (door.update) measured.update = await perRequest(writers, (i) => door.update!(ids[i]!, names[i]!, `counted-value-${i}-changed-enough`));
    else measured.update = await perRequest(writers, (i) => door.rename!(ids[i]!, names[i]!, `${names[i]}_R`));
    if (door.readValue) measured.readValue = await perRequest(writers, (i) => door.readValue!(ids[i]!));
    if (door.get) measured.get = await perRequest(writers, (i) => door.get!(ids[i]!));
    const over = Object.entries(measured).filter(([op, cost]) => cost > BUDGET[op as keyof typeof BUDGET]);
    expect({ doorName, writers, over }).toEqual({ doorName, writers, over: [] });
  });

  it('the measure counts: a create through LangWatch sends its five commands and no more', async () => {
    const door = doors(key, counted).langwatch;
    expect(await perRequest(1, async () => (await door.create('EXACTLY_FIVE', 'five-commands-long-enough')).status)).toBe(5);
  });
});

describe('20 parallel creates at the quota limit − 1', () => {
  it('exactly one is created (201), the other 19 are refused (422), and every one answers', async () => {
    const limited = await startTestApp({ limits: { projectSecretLimit: 5 } });
    try {
      const { apiKey: limitedKey } = await limited.createProject('at the limit');
      const langwatch = doorClient(limited.baseUrl, limitedKey, 'x-auth-token');
      for (let i = 0; i < 4; i++) expect((await langwatch('POST', '/api/secrets', { body: { name: `HELD_${i}`, value: 'v' } })).status).toBe(201);
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, i) => langwatch('POST', '/api/secrets', { body: { name: `RACE_${i}`, value: 'v' } }).then((r) => r.status)),
      );
      expect(outcomes.filter((s) => s === 201)).toHaveLength(1);
      expect(outcomes.filter((s) => s === 422)).toHaveLength(19);
    } finally {
      await limited.close();
    }
  });
});
