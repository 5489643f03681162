// What a crash or a restart leaves behind, and how the store gets past it: a
// pending Idempotency-Key goes stale, an ambiguous last write is not undone,
// orphaned versions are collected, a lowered limit holds. These reach the
// MongoDB store's documents on purpose: they make the leftovers a crash of
// that store would leave.
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let clock = Date.parse('2034-01-01T00:00:00Z');
let app: TestApp;
let apiKey: string;
beforeAll(async () => {
  app = await startTestApp({ now: () => new Date(clock), limits: { versionsKept: 1 } });
  ({ apiKey } = await app.createProject('leftovers'));
});
afterAll(() => app.close());

const create = (name: string, value = `value of ${name}`, headers: Record<string, string> = {}) =>
  request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name, value }, headers });

describe('Idempotency-Key', () => {
  it('a record left pending by a request that vanished no longer blocks the key after a minute', async () => {
    const first = await create('IDEM_FIRST', 'v', { 'idempotency-key': 'crashed-once' });
    expect(first.status).toBe(201);
    // As a crash would leave it: the record still pending, nothing created under it.
    await app.models.IdempotencyKey.updateOne({ key: 'crashed-once' }, { $set: { state: 'pending', secret: null } });
    await request(app.baseUrl, 'DELETE', `/api/secrets/${first.body.id}`, { apiKey });
    const blocked = await create('IDEM_FIRST', 'v', { 'idempotency-key': 'crashed-once' });
    expect(blocked.status).toBe(409);
    clock += 61_000;
    const retried = await create('IDEM_FIRST', 'v', { 'idempotency-key': 'crashed-once' });
    expect(retried.status).toBe(201);
    expect(retried.body.id).not.toBe(first.body.id);
  });
});

describe('a create', () => {
  it('whose last write failed ambiguously, yet was applied, answers the secret it made and undoes nothing', async () => {
    const collection = app.models.Secret.collection;
    const insertOne = collection.insertOne.bind(collection);
    // The insert reaches the database; its answer is lost on the way back.
    collection.insertOne = (async (...args: Parameters<typeof insertOne>) => {
      await insertOne(...args);
      throw new Error('connection reset by peer');
    }) as typeof collection.insertOne;
    let res;
    try {
      res = await create('AMBIGUOUS');
    } finally {
      collection.insertOne = insertOne;
    }
    expect(res.status).toBe(201);
    expect(await app.models.SecretVersion.countDocuments({ secretId: res.body.id })).toBe(1);
    expect((await request(app.baseUrl, 'GET', `/api/secrets/${res.body.id}/value`, { apiKey })).body.value).toBe('value of AMBIGUOUS');
  });
});

describe('the sweep', () => {
  it("collects sealed versions a crash left without a secret, once they are a day old; never a live secret's", async () => {
    const live = await create('LIVE_ONE');
    const template = await app.models.SecretVersion.collection.findOne({ secretId: new Types.ObjectId(live.body.id) });
    const { _id: _ignored, ...sealed } = template!;
    const oldOrphan = new Types.ObjectId();
    const newOrphan = new Types.ObjectId();
    await app.models.SecretVersion.collection.insertMany([
      { ...sealed, secretId: oldOrphan, createdAt: new Date(clock - 2 * 86_400_000) },
      { ...sealed, secretId: newOrphan, createdAt: new Date(clock - 60_000) },
    ]);
    clock += 3_600_000;
    await app.secrets.sweep();
    expect(await app.models.SecretVersion.countDocuments({ secretId: oldOrphan })).toBe(0);
    expect(await app.models.SecretVersion.countDocuments({ secretId: newOrphan })).toBe(1);
    expect(await app.models.SecretVersion.countDocuments({ secretId: new Types.ObjectId(live.body.id) })).toBe(1);
  });
});

describe('PROJECT_SECRET_LIMIT lowered below the current count', () => {
  it('refuses creates until the project is back under it, however the slots were spread', async () => {
    const wide = await startTestApp({ limits: { projectSecretLimit: 10 } });
    let narrow: TestApp | undefined;
    try {
      const { apiKey: key } = await wide.createProject('lowered');
      const ids: string[] = [];
      for (let i = 0; i < 7; i++)
        ids.push((await request(wide.baseUrl, 'POST', '/api/secrets', { apiKey: key, body: { name: `WIDE_${i}`, value: 'v' } })).body.id);
      // The same database, restarted with a limit of 5.
      narrow = await startTestApp({ limits: { projectSecretLimit: 5 }, dbName: wide.connection.name, masterKey: wide.masterKey });
      const refused = await request(narrow.baseUrl, 'POST', '/api/secrets', { apiKey: key, body: { name: 'ONE_MORE', value: 'v' } });
      expect(refused.status).toBe(422);
      for (const id of ids.slice(0, 3)) await request(narrow.baseUrl, 'DELETE', `/api/secrets/${id}`, { apiKey: key });
      // 4 left: room for exactly one.
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) => request(narrow!.baseUrl, 'POST', '/api/secrets', { apiKey: key, body: { name: `AFTER_${i}`, value: 'v' } })),
      );
      expect(results.filter((r) => r.status === 201)).toHaveLength(1);
      expect(await narrow.models.Secret.countDocuments({ deletedAt: null })).toBe(5);
    } finally {
      await narrow?.close({ keepDatabase: true });
      await wide.close();
    }
  });
});
