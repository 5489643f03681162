// Secrets stored before names and slots were keys of the secret document are
// given those keys at start-up, idempotently, before the unique indexes.
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
      _id: new Types.ObjectId(), projectId, name, version: 1, description: null, provider: null, createdBy: 'k', lastUpdatedBy: 'k',
      createdAt: at, updatedAt: at, deletedAt: null, purgeAt: null, ...extra,
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
