// Graceful shutdown of the real process. A request is made to be in flight
// for as long as the test needs by holding back half of its body, so the
// signal never races the request: the server has logged it before the
// signal is sent, and it ends only when the test sends the rest.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http.ts';
import { cleanEnv } from '../helpers/clean-env.ts';
import { processesMentioning, type ServiceProcess, startService, waitUntil } from '../helpers/service-process.ts';

const MARKER = `shutdown-marker-${randomBytes(8).toString('hex')}`;
let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'secrets-shutdown-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function start(): Promise<{ service: ServiceProcess; base: string; key: string }> {
  // Load shedding off: on a busy machine its 503 would answer the late request before the drain's does.
  const service = startService('node', cleanEnv({ DATA_DIR: dataDir, PORT: '0', LOG_FORMAT: 'json', OVERLOAD_EVENT_LOOP_DELAY_MS: '0' }));
  const [, base, key] = await service.waitFor(/ready on (http:\/\/127\.0\.0\.1:\d+)[\s\S]*Dev API key:\s+(sk-lw-[A-Za-z0-9]+)/);
  return { service, base: base!, key: key! };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/** A create whose body is sent in two halves: in flight until `finish()`. */
function heldCreate(base: string, key: string, name: string) {
  const body = JSON.stringify({ name, value: MARKER });
  const url = new URL('/api/secrets', base);
  const req = http.request(url, {
    method: 'POST',
    headers: { 'x-auth-token': key, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) }));
    });
    req.on('error', reject);
  });
  req.write(body.slice(0, 10));
  return { answer, finish: () => req.end(body.slice(10)) };
}

/**
 * A connection that has sent the first line of a request and no more: not
 * idle, so the server keeps it when it stops listening; the rest of the
 * request arrives whenever the test says, during the drain.
 */
async function heldRequestLine(base: string, key: string) {
  const { port } = new URL(base);
  const socket = net.connect(Number(port), '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  let raw = '';
  socket.on('data', (chunk) => (raw += chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write('GET /api/secrets HTTP/1.1\r\n');
  return {
    async finish(): Promise<{ statusLine: string; headers: Record<string, string>; body: any }> {
      socket.write(`Host: 127.0.0.1\r\nX-Auth-Token: ${key}\r\n\r\n`);
      await closed;
      const [head, body] = raw.split('\r\n\r\n');
      const [statusLine, ...lines] = head!.split('\r\n');
      const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      return { statusLine: statusLine!, headers, body: JSON.parse(body!) };
    },
  };
}

describe('graceful shutdown', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    "%s drains: the request in flight finishes (201, Connection: close), one arriving meanwhile gets the door's 503, then exit 0",
    async (signal) => {
      const { service, base, key } = await start();
      const name = `DRAIN_${signal}`;
      const held = heldCreate(base, key, name);
      const late = await heldRequestLine(base, key);
      // The server has the held create (its request log) before the signal.
      await service.waitFor(/"msg":"incoming request"/);
      service.child.kill(signal);
      await service.waitFor(new RegExp(`"signal":"${signal}"[^\\n]*shutting down`));

      const refused = await late.finish();
      expect(refused.statusLine).toBe('HTTP/1.1 503 Service Unavailable');
      expect(refused.headers).toMatchObject({ connection: 'close', 'cache-control': 'no-store', 'x-request-id': expect.stringMatching(/^[0-9a-f-]{36}$/) });
      expect(refused.body).toEqual({ error: 'service_unavailable', message: 'The service is shutting down; retry shortly.' });

      held.finish();
      const created = await held.answer;
      expect(created.status).toBe(201);
      expect(created.headers.connection).toBe('close');
      expect(created.body.name).toBe(name);

      expect((await service.exited()).code).toBe(0);
      expect(service.output()).toContain('"msg":"stopped"');
      expect(await waitUntil(() => processesMentioning(dataDir).length === 0)).toBe(true);
      expect(service.output()).not.toContain(MARKER);

      // What was acknowledged is there after a restart on the same data.
      const again = await start();
      const listed = await request(again.base, 'GET', '/api/secrets', { apiKey: again.key });
      expect(listed.body.map((s: { id: string }) => s.id)).toContain(created.body.id);
      again.service.child.kill('SIGTERM');
      expect((await again.service.exited()).code).toBe(0);
    },
    90_000,
  );

  it('a second signal during the drain exits at once, with code 1', async () => {
    const { service, base, key } = await start();
    const held = heldCreate(base, key, 'NEVER_FINISHED');
    const cut = held.answer.then(
      () => 'answered',
      (err: NodeJS.ErrnoException) => err.code,
    );
    await service.waitFor(/"msg":"incoming request"/);
    service.child.kill('SIGTERM');
    await service.waitFor(/shutting down: draining requests/);
    // The held request keeps the drain open: only the second signal can end it now.
    service.child.kill('SIGINT');
    expect((await service.exited()).code).toBe(1);
    expect(service.output()).toContain('SIGINT again: exiting at once');
    expect(service.output()).not.toContain('"msg":"stopped"');
    expect(await cut).toBe('ECONNRESET');
    // Its embedded engine does not outlive it.
    expect(await waitUntil(() => processesMentioning(dataDir).length === 0)).toBe(true);
  }, 90_000);
});
