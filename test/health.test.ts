import { describe, expect, it } from 'vitest';
import { request } from './helpers/http.ts';
import { startTestApp } from './helpers/app.ts';

describe('GET /healthz', () => {
  it('200 while the database answers, 503 once it does not', async () => {
    const app = await startTestApp();
    try {
      const ok = await request(app.baseUrl, 'GET', '/healthz');
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual({ status: 'ok' });
      await app.connection.close();
      const down = await request(app.baseUrl, 'GET', '/healthz');
      expect(down.status).toBe(503);
      expect(down.body.status).toBe('unavailable');
    } finally {
      await app.close().catch(() => {});
    }
  });

  it('carries a request id on every response', async () => {
    const app = await startTestApp();
    try {
      const res = await request(app.baseUrl, 'GET', '/healthz');
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await app.close();
    }
  });
});
