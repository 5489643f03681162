// Start-up migrations of older stored shapes, each idempotent: names and slots
// as keys of the secret document; then lookups by _id (version ids, sealed
// copies, name pointers, idempotency ids).
import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { connectDatabase } from '../../src/db/connect.ts';
import { request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const apps: TestApp[] = [];
afterAll(async () => {
  for (const app of apps.reverse()) await app.close({ keepDatabase: app !== apps[0] });
});

describe('start-up migration of secret keys', () => {
  it('gives old secrets their nameKey and slot (their old slot claim where they had one), retires deleted ones, and demotes a duplicate name', async () => {
    // A database as an older version left it: secrets, and their claims beside them.
    const dbName = `t_${randomBytes(6).toString('hex')}`;
    const connection = await connectDatabase(inject('mongoUri'), { dbName });
    const projectId = new Types.ObjectId();
    const at = new Date();
    const secret = (name: string, extra: Record<string, unknown> = {}) => ({
      _id: new Types.ObjectId(),
      projectId,
      name,
      version: 1,
      description: null,
      provider: null,
      createdBy: 'k',
      lastUpdatedBy: 'k',
      createdAt: at,
      updatedAt: at,
      deletedAt: null,
      purgeAt: null,
      ...extra,
    });
    const kept = secret('KEPT');
    const unslotted = secret('NO_SLOT_CLAIM');
    const gone = secret('GONE', { deletedAt: at, purgeAt: new Date(at.getTime() + 86_400_000) });
    const twin = secret('KEPT');
    await connection.db!.collection('secrets').insertMany([kept, unslotted, gone, twin]);
    await connection.db!.collection('secret_slots').insertOne({ projectId, slot: 7, secretId: kept._id, createdAt: at });
    await connection.close();

    const first = await startTestApp({ dbName, limits: { projectSecretLimit: 10 } });
    apps.push(first);
    const docs = new Map((await first.models.Secret.find({}).lean()).map((d) => [d._id.toHexString(), d]));
    const p = projectId.toHexString();
    expect(docs.get(kept._id.toHexString())).toMatchObject({ nameKey: `${p}/KEPT`, slot: 7, slotKey: `${p}/7`, deletedAt: null });
    expect(docs.get(unslotted._id.toHexString())).toMatchObject({ nameKey: `${p}/NO_SLOT_CLAIM`, slot: 0, slotKey: `${p}/0` });
    expect(docs.get(gone._id.toHexString())).toMatchObject({ nameKey: `deleted/${gone._id.toHexString()}`, slot: null });
    expect(docs.get(twin._id.toHexString())).toMatchObject({ nameKey: `deleted/${twin._id.toHexString()}`, deletedAt: expect.any(Date) });

    // A second start changes nothing, and the unique keys hold from then on.
    const second = await startTestApp({ dbName, limits: { projectSecretLimit: 10 }, masterKey: first.masterKey });
    apps.push(second);
    expect((await second.models.Secret.find({}).lean()).map((d) => d.nameKey).sort()).toEqual([...docs.values()].map((d) => d.nameKey).sort());
    const key = (await second.createProject('after')).apiKey;
    await second.models.ApiKey.updateOne({ prefix: key.slice(0, 10) }, { $set: { projectId } });
    const taken = await request(second.baseUrl, 'POST', '/api/secrets', { apiKey: key, body: { name: 'KEPT', value: 'v' } });
    expect(taken.status).toBe(409);
  });
});

describe('start-up migration to lookups by _id', () => {
  it('keys old value versions "<secretId>:<version>", gives secrets their sealed current value and names their pointers, re-keys idempotency records; a second start changes nothing', async () => {
    const before = await startTestApp({});
    apps.push(before);
    const { apiKey } = await before.createProject('old shapes');
    const made = await request(before.baseUrl, 'POST', '/api/secrets', {
      apiKey,
      body: { name: 'OLD_ONE', value: 'one-1' },
      headers: { 'idempotency-key': 'old-idem' },
    });
    expect(made.status).toBe(201);
    expect((await request(before.baseUrl, 'PUT', `/api/secrets/${made.body.id}`, { apiKey, body: { value: 'one-2' } })).status).toBe(200);
    expect((await request(before.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'OLD_TWO', value: 'two-1' } })).status).toBe(201);
    // Back to the shapes an older version stored: ObjectId _ids under a unique
    // (secretId, version) index, no sealed copy, no name pointers.
    const db = before.connection.db!;
    await db.collection('secret_versions').dropIndex('secretId_1_version_-1_list');
    for (const v of await db.collection('secret_versions').find({}).toArray()) {
      await db.collection('secret_versions').deleteOne({ _id: v._id });
      await db.collection('secret_versions').insertOne({ ...v, _id: new Types.ObjectId() });
    }
    await db.collection('secret_versions').createIndex({ secretId: 1, version: -1 }, { unique: true });
    await db.collection('secrets').updateMany({}, { $unset: { current: '' } });
    await db.collection('secret_names').deleteMany({});
    for (const r of await db.collection('idempotency_keys').find({}).toArray()) {
      await db.collection('idempotency_keys').deleteOne({ _id: r._id });
      await db.collection('idempotency_keys').insertOne({ ...r, _id: new Types.ObjectId() });
    }
    await before.close({ keepDatabase: true });
    apps.splice(apps.indexOf(before), 1);

    const after = await startTestApp({ dbName: before.connection.name, masterKey: before.masterKey });
    apps.push(after);
    const ids = (await after.models.SecretVersion.find({}, { _id: 1 }).lean()).map((v) => v._id);
    expect(ids.filter((id) => id.startsWith(made.body.id)).sort()).toEqual([`${made.body.id}:1`, `${made.body.id}:2`]);
    expect(ids.filter((id) => !id.startsWith(made.body.id))).toEqual([expect.stringMatching(/^[0-9a-f]{24}:1$/)]);
    expect(await after.models.Secret.countDocuments({ current: { $exists: false } })).toBe(0);
    expect((await after.models.SecretName.find({}).lean()).map((n) => n._id).sort()).toEqual([
      expect.stringMatching(/\/OLD_ONE$/),
      expect.stringMatching(/\/OLD_TWO$/),
    ]);
    const values = await request(after.baseUrl, 'GET', '/api/secrets/values', { apiKey });
    expect(values.body.values).toEqual({ OLD_ONE: 'one-2', OLD_TWO: 'two-1' });
    expect((await request(after.baseUrl, 'GET', '/api/v1/user/secrets/OLD_ONE/value', { headers: { 'x-api-key': apiKey } })).status).not.toBe(500);
    const versions = await request(after.baseUrl, 'GET', `/api/secrets/${made.body.id}/versions`, { apiKey });
    expect(versions.body.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    // The idempotency record still replays, under its new _id.
    const replay = await request(after.baseUrl, 'POST', '/api/secrets', {
      apiKey,
      body: { name: 'OLD_ONE', value: 'one-1' },
      headers: { 'idempotency-key': 'old-idem' },
    });
    expect(replay.status).toBe(201);
    expect(replay.body.id).toBe(made.body.id);
    // A value written after the migration is a new version under the new _id.
    expect((await request(after.baseUrl, 'PUT', `/api/secrets/${made.body.id}`, { apiKey, body: { value: 'one-3' } })).status).toBe(200);
    expect(await after.models.SecretVersion.exists({ _id: `${made.body.id}:3` })).toBeTruthy();

    const counts = await after.storedCounts();
    const again = await startTestApp({ dbName: before.connection.name, masterKey: before.masterKey });
    apps.push(again);
    expect(await again.storedCounts()).toEqual(counts);
    expect((await request(again.baseUrl, 'GET', '/api/secrets/values', { apiKey })).body.values).toEqual({ OLD_ONE: 'one-3', OLD_TWO: 'two-1' });
  });
});
