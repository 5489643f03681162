// A database outage while requests flow, on an engine of the kind the suite
// resolved (graceful shutdown: shutdown.test.ts).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { defaultEngineCacheDir } from '../../src/config.ts';
import { startFerretDb } from '../../src/db/engine/ferretdb.ts';
import { startMongod } from '../../src/db/engine/mongod.ts';
import { resolveDatabase } from '../../src/db/engine/resolve.ts';
import { graphql, request } from '../helpers/http.ts';
import { startTestApp } from '../helpers/app.ts';
import { doorClient } from '../helpers/doors.ts';
import { waitUntil } from '../helpers/service-process.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MARKER = `outage-marker-${randomBytes(8).toString('hex')}`;

/**
 * An engine this test alone uses, so that it may stop and restart it: of the
 * kind the suite resolved. With MONGODB_URI (your server, which no test
 * stops) it is the embedded engine the service would use without it.
 */
async function stoppableEngine(dataDir: string) {
  const kind = inject('engineKind');
  const cacheDir = defaultEngineCacheDir(process.env);
  const first = await resolveDatabase({
    mongodbUri: undefined,
    engine: kind === 'external' ? 'auto' : (kind as 'mongod' | 'ferretdb'),
    dataDir,
    cacheDir,
    log: () => {},
  });
  // Restarted on the same data (and, for mongod, the same port), it is found where it was.
  const port = first.kind === 'mongod' ? Number(new URL(first.uri).port) : undefined;
  const restart = () =>
    first.kind === 'mongod'
      ? startMongod({ dataDir: path.join(dataDir, 'mongod'), port })
      : startFerretDb({ dataDir: path.join(dataDir, 'ferretdb'), cacheDir, log: () => {} });
  return { first, restart };
}

const dbUp = async (baseUrl: string) => (await (await fetch(`${baseUrl}/metrics`)).text()).match(/^db_up (\d)$/m)?.[1];

describe('database outage', () => {
  it('while the engine is away: every door answers 503 in its own body, /healthz 503, db_up 0; it recovers without a restart and loses no acknowledged write', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'secrets-outage-'));
    const { first, restart } = await stoppableEngine(dataDir);
    let engine: { stop(): Promise<void> } = first;
    const app = await startTestApp({ mongoUri: first.uri });
    let flowing = true;
    let writers: Promise<void>[] = [];
    try {
      const { apiKey } = await app.createProject('outage');
      const acknowledged: string[] = [];
      const statuses = new Map<number, number>();
      let n = 0;
      const writer = async () => {
        while (flowing) {
          const res = await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: `OUTAGE_${n++}`, value: MARKER } });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status === 201) acknowledged.push(res.body.id);
          await sleep(50);
        }
      };
      writers = [writer(), writer()];
      expect(await waitUntil(() => (statuses.get(201) ?? 0) >= 5)).toBe(true);
      expect(await dbUp(app.baseUrl)).toBe('1');

      await engine.stop();
      expect(await waitUntil(() => (statuses.get(503) ?? 0) > 0)).toBe(true);
      expect(await waitUntil(async () => (await dbUp(app.baseUrl)) === '0')).toBe(true);
      expect(await request(app.baseUrl, 'GET', '/healthz')).toMatchObject({
        status: 503,
        body: { status: 'unavailable', message: 'The database is not reachable.' },
      });

      const bearer = doorClient(app.baseUrl, apiKey, 'bearer');
      const secret = { name: 'DOWN', value: MARKER };
      const message = 'The database is not reachable; retry shortly.';
      const doors: [string, () => Promise<{ status: number; body: unknown; text: string }>, unknown][] = [
        ['LangWatch', () => request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: secret }), { error: 'service_unavailable', message }],
        [
          'Together',
          () => bearer('POST', '/v1/deployments/secrets', { body: secret }),
          { error: { message, type: 'service_unavailable', param: null, code: null } },
        ],
        ['v1', () => bearer('POST', '/api/v1/user/secrets', { body: secret }), { code: 503, detail: message, type: 'service_unavailable_error' }],
        [
          'Dreadnode',
          () => request(app.baseUrl, 'GET', '/api/v1/user/secrets', { headers: { 'x-api-key': apiKey } }),
          { code: 503, detail: message, type: 'service_unavailable_error' },
        ],
        ['OpenHands V0', () => request(app.baseUrl, 'POST', '/api/secrets', { headers: { 'x-session-api-key': apiKey }, body: secret }), { detail: message }],
        [
          'OpenHands V1',
          () => request(app.baseUrl, 'POST', '/api/v1/secrets', { headers: { 'x-session-api-key': apiKey }, body: secret }),
          { detail: message },
        ],
        // With the key still in the node's cache the mutation runs and fails (data: null); without, the lookup does (no data).
        [
          'GraphQL',
          () => graphql(app.baseUrl, 'mutation($v: String!) { createSecret(input: {name: "DOWN", value: $v}) { __typename } }', { v: MARKER }, { apiKey }),
          expect.objectContaining({ errors: [{ message, extensions: { code: 'SERVICE_UNAVAILABLE' } }] }),
        ],
        [
          'admin',
          () => request(app.baseUrl, 'POST', '/admin/projects', { headers: { authorization: `Bearer ${app.adminToken}` }, body: { name: 'down' } }),
          { error: 'service_unavailable', message },
        ],
      ];
      // At once: each waits out the driver's server selection (3 s).
      const answers = await Promise.all(doors.map(async ([door, call]) => ({ door, res: await call() })));
      for (const [i, { door, res }] of answers.entries()) {
        expect({ door, status: res.status, body: res.body }).toEqual({ door, status: 503, body: doors[i]![2] });
        expect(res.text).not.toContain(MARKER);
        expect((res.body as { data?: unknown }).data ?? null).toBeNull();
      }

      engine = await restart();
      // The last answer is kept, so that a failure here says what the node answered instead.
      let health: unknown;
      const healthy = await waitUntil(async () => {
        const res = await request(app.baseUrl, 'GET', '/healthz').catch((err: Error) => ({ status: 0, body: err.message }));
        health = { status: res.status, body: res.body };
        return res.status === 200;
      }, 60_000);
      expect({ healthy, health, logs: healthy ? [] : app.logs.slice(-20) }).toMatchObject({ healthy: true });
      expect(await waitUntil(async () => (await dbUp(app.baseUrl)) === '1')).toBe(true);
      const createdBefore = statuses.get(201) ?? 0;
      expect(await waitUntil(() => (statuses.get(201) ?? 0) > createdBefore)).toBe(true);
      flowing = false;
      await Promise.all(writers);

      // Nothing but created and unavailable, never a 500; and every acknowledged create is there.
      // With the errors logged meanwhile, should another status show: they say which failure was not seen as the engine's absence.
      const errors = app.logs.filter((line) => /"level":(50|60)/.test(line)).slice(-5);
      expect({ statuses: [...statuses.keys()].sort(), errors: statuses.size === 2 ? [] : errors }).toEqual({ statuses: [201, 503], errors: [] });
      const listed = new Set((await request(app.baseUrl, 'GET', '/api/secrets', { apiKey })).body.map((s: { id: string }) => s.id));
      expect(acknowledged.filter((id) => !listed.has(id))).toEqual([]);
      expect(app.logs.join('\n')).not.toContain(MARKER);
    } finally {
      // Failed midway, the writers still run: they stop before the app does.
      flowing = false;
      await Promise.allSettled(writers);
      await app.close().catch(() => {});
      await engine.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
    // A bound against hanging only: on a loaded machine the restarts alone take a while.
  }, 300_000);
});
