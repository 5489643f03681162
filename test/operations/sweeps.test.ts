// Background work: the sweep runs on each node's own timer, unasked, and it
// forgets Idempotency-Keys once their 24 hours are over.
import { randomBytes } from 'node:crypto';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { connectDatabase } from '../../src/db/connect.ts';
import { graphql, request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { cleanEnv } from '../helpers/clean-env.ts';
import { type ServiceProcess, startService, waitUntil } from '../helpers/service-process.ts';

const DAY = 24 * 3600 * 1000;

describe('the sweep timer of the real process', () => {
  const adminToken = randomBytes(24).toString('hex');
  const MARKER = `sweep-marker-${randomBytes(6).toString('hex')}`;
  const dbName = `sweeps_${randomBytes(4).toString('hex')}`;
  let node: ServiceProcess;
  let base: string;
  let db: Connection;

  beforeAll(async () => {
    node = startService(
      'node',
      cleanEnv({
        MONGODB_URI: `${inject('mongoUri').replace(/\/[^/]*$/, '')}/${dbName}`,
        SECRETS_MASTER_KEY: randomBytes(32).toString('base64'),
        ADMIN_TOKEN: adminToken,
        PORT: '0',
        LOG_FORMAT: 'json',
        SWEEP_INTERVAL_SECONDS: '1',
        // About 8.6 s: long enough to see the expiry's record, short enough to see an older one go.
        AUDIT_RETENTION_DAYS: '0.0001',
      }),
    );
    base = (await node.waitFor(/ready on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    db = await connectDatabase(inject('mongoUri'), { dbName });
  }, 60_000);
  afterAll(async () => {
    node.child.kill('SIGTERM');
    await node.exited();
    await db.dropDatabase().catch(() => {});
    await db.close();
  });

  it('defaults to every minute', () => {
    expect(loadConfig({}).sweepIntervalMs).toBe(60_000);
    expect(() => loadConfig({ SWEEP_INTERVAL_SECONDS: '0' })).toThrow(/SWEEP_INTERVAL_SECONDS/);
  });

  it('marks a secret nobody touches as expired, and forgets audit events past their retention, with no request asking', async () => {
    const project = await request(base, 'POST', '/admin/projects', { headers: { authorization: `Bearer ${adminToken}` }, body: { name: 'swept' } });
    expect(project.status).toBe(201);
    const events = db.collection('audit_events');
    expect(await events.countDocuments({ operation: 'create_project' })).toBe(1);
    const created = await graphql(
      base,
      'mutation($v: String!, $at: DateTime!) { createSecret(input: {name: "SWEPT", value: $v, expiresAt: $at}) { ... on CreateSecretSuccess { secret { id } } } }',
      { v: MARKER, at: new Date(Date.now() + 1_500).toISOString() },
      { apiKey: project.body.apiKey },
    );
    const id = created.body.data.createSecret.secret.id as string;

    // From here on the service hears nothing: only its own timer can write the expiry or drop a record.
    const expired = await waitUntil(
      async () => (await events.countDocuments({ door: 'system', operation: 'expire', outcome: 'expired', secretName: 'SWEPT' })) === 1,
    );
    expect(expired, 'the expiry recorded by a sweep').toBe(true);
    const secret = await db.collection('secrets').findOne({ name: 'SWEPT' });
    expect(secret?._id.toHexString()).toBe(id);
    expect(secret?.deletedAt).toEqual(secret?.expiresAt);
    const forgotten = await waitUntil(async () => (await events.countDocuments({ operation: 'create_project' })) === 0);
    expect(forgotten, "the project's creation forgotten by a sweep past the retention").toBe(true);

    expect(node.output()).not.toContain('sweep failed');
    expect(node.output()).not.toContain(MARKER);
  }, 90_000);
});

describe('Idempotency-Keys past their 24 hours', () => {
  const MARKER = `idempotent-marker-${randomBytes(6).toString('hex')}`;
  let clock = Date.parse('2032-05-01T00:00:00Z');
  let app: TestApp;
  let apiKey: string;
  const answers: string[] = [];
  beforeAll(async () => {
    app = await startTestApp({ now: () => new Date(clock) });
    ({ apiKey } = await app.createProject('idempotency'));
  });
  afterAll(() => app.close());

  const create = async (key: string, body: { name: string; value: string }) => {
    const res = await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, headers: { 'idempotency-key': key }, body });
    answers.push(res.text);
    return res;
  };

  it('the sweep forgets a key once its 24 hours are over, and keeps a younger one', async () => {
    expect((await create('old-key', { name: 'OLD_KEYED', value: MARKER })).status).toBe(201);
    clock += 12 * 3600 * 1000;
    expect((await create('young-key', { name: 'YOUNG_KEYED', value: MARKER })).status).toBe(201);
    clock += 12 * 3600 * 1000 + 1_000;
    await app.secrets.sweep();
    const left = await app.models.IdempotencyKey.find({ key: { $in: ['old-key', 'young-key'] } }).lean();
    expect(left.map((k) => k.key)).toEqual(['young-key']);
  });

  it.each([
    { when: 'once the sweep has purged it', tag: 'SWEPT', settle: () => app.secrets.sweep() },
    { when: 'before any sweep', tag: 'LAZY', settle: async () => 0 },
  ])('after 24 hours a key serves a new request, $when', async ({ tag, settle }) => {
    const key = `deploy-${tag}`;
    const first = { name: `FIRST_${tag}`, value: `${MARKER}-1` };
    const made = await create(key, first);
    expect(made.status).toBe(201);
    // Within the 24 hours the key is the first request's.
    clock += DAY - 1_000;
    expect((await create(key, first)).body.id).toBe(made.body.id);
    expect((await create(key, { name: `OTHER_${tag}`, value: `${MARKER}-2` })).body).toMatchObject({ error: 'idempotency_key_reused' });

    clock += 2_000;
    await settle();
    // The same request is no replay now: a create anew, refused because the first one holds the name.
    expect((await create(key, first)).status).toBe(409);
    // And another request with the key is served, not refused as a reuse.
    const other = await create(key, { name: `OTHER_${tag}`, value: `${MARKER}-2` });
    expect(other.status).toBe(201);
    expect(other.body.id).not.toBe(made.body.id);
    const events = await app.models.AuditEvent.find({ secretName: `OTHER_${tag}`, operation: 'create' }).lean();
    expect(events.map((e) => e.outcome)).toEqual(['idempotency_key_reused', 'success']);
  });

  it('no answer or log line above holds a value', () => {
    expect(answers.length).toBeGreaterThan(0);
    for (const text of [answers.join('\n'), app.logs.join('\n')]) expect(text).not.toContain(MARKER);
  });
});
