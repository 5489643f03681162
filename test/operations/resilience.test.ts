// A database outage while requests flow, and a graceful shutdown.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { defaultEngineCacheDir } from '../../src/config.ts';
import { startFerretDb } from '../../src/db/engine/ferretdb.ts';
import { request } from '../helpers/http.ts';
import { startTestApp } from '../helpers/app.ts';
import { cleanEnv, processesMentioning, startService, waitUntil } from '../helpers/service-process.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(inject('engineKind') !== 'ferretdb')('database outage', () => {
  it('503 within a bounded time while the engine is down, recovery without a restart, no acknowledged write lost', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'secrets-outage-'));
    // Restarted on the same data folder, the engine serves on the same socket again.
    const engineOptions = { dataDir, cacheDir: defaultEngineCacheDir(process.env), log: () => {} };
    let engine = await startFerretDb(engineOptions);
    const app = await startTestApp({ mongoUri: engine.uri });
    try {
      const { apiKey } = await app.createProject('outage');
      const acknowledged: string[] = [];
      const statuses = new Map<number, number>();
      let slowest = 0;
      let flowing = true;
      let n = 0;
      const writer = async () => {
        while (flowing) {
          const started = performance.now();
          const res = await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: `OUTAGE_${n++}`, value: 'v' } });
          slowest = Math.max(slowest, performance.now() - started);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status === 201) acknowledged.push(res.body.id);
          if (res.status === 503) expect(res.body.error).toBe('service_unavailable');
          await sleep(50);
        }
      };
      const writers = [writer(), writer()];
      await sleep(1_500);

      await engine.stop();
      const downAt = performance.now();
      expect(await waitUntil(() => (statuses.get(503) ?? 0) > 0, 8_000)).toBe(true);
      const health = await request(app.baseUrl, 'GET', '/healthz');
      expect(health.status).toBe(503);
      const whileDown = performance.now();
      const get = await request(app.baseUrl, 'GET', '/api/secrets', { apiKey });
      expect(get.status).toBe(503);
      expect(performance.now() - whileDown).toBeLessThan(6_000);
      await sleep(Math.max(0, 10_000 - (performance.now() - downAt)));

      engine = await startFerretDb(engineOptions);
      let healthy = false;
      for (let i = 0; i < 60 && !healthy; i++) {
        healthy = (await request(app.baseUrl, 'GET', '/healthz')).status === 200;
        if (!healthy) await sleep(500);
      }
      expect(healthy).toBe(true);
      const createdBefore = statuses.get(201) ?? 0;
      expect(await waitUntil(() => (statuses.get(201) ?? 0) > createdBefore, 10_000)).toBe(true);
      flowing = false;
      await Promise.all(writers);

      expect([...statuses.keys()].sort()).toEqual([201, 503]);
      expect(slowest).toBeLessThan(6_000);
      // Every acknowledged create is there (one list, not a lookup each).
      const listed = new Set((await request(app.baseUrl, 'GET', '/api/secrets', { apiKey })).body.map((s: { id: string }) => s.id));
      expect(acknowledged.filter((id) => !listed.has(id))).toEqual([]);
    } finally {
      await app.close().catch(() => {});
      await engine.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('graceful shutdown', () => {
  it('SIGTERM drains in-flight requests, closes the database and the engine, and exits 0', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'secrets-shutdown-'));
    try {
      const env = cleanEnv({ DATA_DIR: dataDir, PORT: '0' });
      const service = startService('node', env);
      const [, base, key] = await service.waitFor(/ready on (http:\/\/127\.0\.0\.1:\d+)[\s\S]*Dev API key:\s+(sk-lw-[A-Za-z0-9]+)/);
      const sent = Array.from({ length: 30 }, (_, i) =>
        request(base!, 'POST', '/api/secrets', { apiKey: key, body: { name: `DRAIN_${i}`, value: 'v' } }).then(
          (res) => ({ status: res.status, id: res.body?.id as string | undefined }),
          () => ({ status: 0, id: undefined }), // refused: it arrived after the server stopped listening
        ));
      // Signalled once the server has said it is serving them (its request log), not after a guess of a sleep.
      await service.waitFor(/"url":"\/api\/secrets"[^\n]*"msg":"incoming request"/, 30_000);
      service.child.kill('SIGTERM');
      const results = await Promise.all(sent);
      const { code } = await service.exited();
      expect(code).toBe(0);
      expect(service.output()).toContain('"msg":"stopped"');
      // Accepted before the stop: 201. Arrived during it: 503 (Fastify's
      // return503OnClosing) or refused. Never a 500 nor a cut-off response.
      expect(results.filter((r) => ![201, 503, 0].includes(r.status))).toEqual([]);
      expect(results.some((r) => r.status === 201)).toBe(true);
      expect(await waitUntil(() => processesMentioning(dataDir).length === 0, 10_000)).toBe(true);

      // Every acknowledged create is there after a restart on the same data.
      const again = startService('node', env);
      const [, base2] = await again.waitFor(/ready on (http:\/\/127\.0\.0\.1:\d+)/);
      const listed = await request(base2!, 'GET', '/api/secrets', { apiKey: key });
      const ids = new Set(listed.body.map((s: { id: string }) => s.id));
      for (const r of results.filter((x) => x.status === 201)) expect(ids.has(r.id)).toBe(true);
      again.child.kill('SIGTERM');
      expect((await again.exited()).code).toBe(0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
