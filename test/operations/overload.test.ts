// A node whose event loop lags sheds requests with 503 and Retry-After, in
// each door's own body, instead of queueing them; /healthz and /metrics still
// answer, and the delay it measured is a metric. The lag is made here by
// holding the (shared, in-process) event loop in slices, as a busy node's is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doorClient, graphqlClient } from '../helpers/doors.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

// Well above what a machine busy with the rest of the suite lags by, well below the slices held here.
const THRESHOLD_MS = 250;
const SLICE_MS = 600;

let app: TestApp;
let apiKey: string;

beforeAll(async () => {
  app = await startTestApp({ overload: { maxEventLoopDelayMs: THRESHOLD_MS, sampleIntervalMs: 50 } });
  // Starting lags the loop too: wait until this node serves.
  await servedAgain(() => fetch(`${app.baseUrl}/api/secrets`).then((res) => res.status), 401);
  ({ apiKey } = await app.createProject('overload'));
});
afterAll(() => app.close());

/** Asks until `status` answers `wanted` (at most 250 times, 20 ms apart); the last answer. */
async function servedAgain(status: () => Promise<number>, wanted: number): Promise<number> {
  let last = await status();
  for (let i = 0; i < 250 && last !== wanted; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    last = await status();
  }
  return last;
}

/** Holds the event loop in slices of `sliceMs` until `stop()`, letting one turn of the loop run between them. */
function lag(sliceMs: number) {
  let running = true;
  const done = (async () => {
    while (running) {
      const until = performance.now() + sliceMs;
      while (performance.now() < until) {
        /* busy, as a heavy request would be */
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  return async () => {
    running = false;
    await done;
  };
}

describe('load shedding', () => {
  it("sheds with 503 + Retry-After in the door's body while /healthz and /metrics answer, and recovers", async () => {
    const door = doorClient(app.baseUrl, apiKey);
    const gql = graphqlClient(app.baseUrl, apiKey);
    expect(await servedAgain(async () => (await door('GET', '/api/secrets')).status, 200)).toBe(200);

    const stop = lag(SLICE_MS);
    const seen: { rest?: Awaited<ReturnType<typeof door>>; graphql?: Awaited<ReturnType<typeof gql>> } = {};
    const health: number[] = [];
    let metrics = '';
    try {
      for (let i = 0; i < 50 && !(seen.rest && seen.graphql && metrics); i++) {
        const [rest, graphql, healthz] = await Promise.all([
          door('GET', '/api/secrets'),
          gql('{ secrets(first: 1) { edges { cursor } } }'),
          fetch(`${app.baseUrl}/healthz`),
        ]);
        if (rest.status === 503) seen.rest = rest;
        if (graphql.status === 503) seen.graphql = graphql;
        health.push(healthz.status);
        if (seen.rest) {
          const res = await fetch(`${app.baseUrl}/metrics`);
          expect(res.status).toBe(200);
          metrics = await res.text();
        }
      }
    } finally {
      await stop();
    }
    expect(seen.rest?.status).toBe(503);
    expect(seen.rest?.headers.get('retry-after')).toBe('5');
    expect(seen.rest?.body).toEqual({ error: 'service_unavailable', message: 'The service is overloaded; retry after 5 s.' });
    expect(seen.graphql?.headers.get('retry-after')).toBe('5');
    expect(seen.graphql?.body.errors?.[0]).toMatchObject({
      message: 'The service is overloaded; retry after 5 s.',
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
    expect(health.every((status) => status === 200)).toBe(true);
    expect(metrics).toMatch(/^http_requests_shed_total \d+/m);
    // +Inf when the loop was held through a whole sample.
    const delay = metrics.match(/^event_loop_delay_seconds (\S+)/m)?.[1];
    expect(delay === '+Inf' ? Infinity : Number(delay)).toBeGreaterThan(THRESHOLD_MS / 1000);

    // Once the loop is free again, the node serves.
    expect(await servedAgain(async () => (await door('GET', '/api/secrets')).status, 200)).toBe(200);
  });
});
