// Online master-key rotation while another process keeps reading: enough
// secrets to cross several of the script's batches of 200. On the embedded
// FerretDB every update scans the whole collection, so a large run takes
// minutes: ROTATION_TEST_SECRETS=2000 measures one (see the README).
import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import { describe, expect, it } from 'vitest';
import { apiKeyPrefix, generateApiKey, hashApiKey } from '../../src/auth/api-key.ts';
import { createKeyring, sealValue } from '../../src/crypto/envelope.ts';
import { request } from '../helpers/http.ts';
import { startTestApp } from '../helpers/app.ts';
import { rotateMasterKey } from '../helpers/rotation.ts';

const COUNT = Number(process.env.ROTATION_TEST_SECRETS ?? 450);

describe('npm run rotate-master-key', () => {
  it('re-wraps every data key while reads go on, with zero failed reads; the old key is then removable', async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const oldRing = createKeyring('old', [['old', oldKey]]);
    // The node that serves during rotation holds both keys, the new one active.
    const app = await startTestApp({ masterKeys: [['new', newKey], ['old', oldKey]] });
    const dbName = app.connection.name;
    const apiKey = generateApiKey();
    const projectId = new Types.ObjectId();
    await app.models.ApiKey.collection.insertOne({ projectId, name: 'rotation', hash: hashApiKey(apiKey), prefix: apiKeyPrefix(apiKey), createdAt: new Date() });
    const ids: string[] = [];
    const secrets = [];
    const versions = [];
    for (let i = 0; i < COUNT; i++) {
      const _id = new Types.ObjectId();
      ids.push(_id.toHexString());
      const at = new Date();
      const keys = { nameKey: `${projectId.toHexString()}/ROTATED_${i}`, slot: i, slotKey: `${projectId.toHexString()}/${i}` };
      secrets.push({ _id, projectId, name: `ROTATED_${i}`, version: 1, description: null, provider: null, createdBy: 'seed', lastUpdatedBy: 'seed', createdAt: at, updatedAt: at, deletedAt: null, purgeAt: null, ...keys });
      versions.push({ projectId, secretId: _id, version: 1, ...sealValue(oldRing, `rotated-value-${i}`, { projectId: projectId.toHexString(), secretId: _id.toHexString(), version: 1 }), createdAt: at, createdBy: 'seed' });
    }
    await app.models.SecretVersion.collection.insertMany(versions);
    await app.models.Secret.collection.insertMany(secrets);

    let reading = true;
    let reads = 0;
    const failures: number[] = [];
    const reader = (async () => {
      while (reading) {
        const i = Math.floor(Math.random() * COUNT);
        const res = await request(app.baseUrl, 'GET', `/api/secrets/${ids[i]}/value`, { apiKey });
        reads += 1;
        if (res.status !== 200 || res.body.value !== `rotated-value-${i}`) failures.push(res.status);
      }
    })();

    const rotation = await rotateMasterKey(dbName, [['new', newKey], ['old', oldKey]]);
    reading = false;
    await reader;
    console.log(`rotation of ${COUNT}: ${rotation.out.trim().split('\n').at(-2)}; ${reads} reads served meanwhile, ${failures.length} failed`);
    try {
      expect(rotation.out).toContain(`re-wrapped ${COUNT}; skipped (no key opens them) 0; remaining under other keys: 0`);
      expect(rotation.code).toBe(0);
      expect(rotation.out).not.toContain('rotated-value');
      expect(reads).toBeGreaterThan(10);
      expect(failures).toEqual([]);
      expect(await app.models.SecretVersion.countDocuments({ keyId: 'old' })).toBe(0);

      // A node with the new key alone reads every value.
      const after = await startTestApp({ masterKeys: [['new', newKey]], dbName });
      try {
        const all = await request(after.baseUrl, 'GET', '/api/secrets/values', { apiKey });
        expect(Object.keys(all.body.values)).toHaveLength(COUNT);
        for (let i = 0; i < COUNT; i += 97) expect(all.body.values[`ROTATED_${i}`]).toBe(`rotated-value-${i}`);
      } finally {
        await after.close({ keepDatabase: true });
      }
    } finally {
      await app.close();
    }
  }, 600_000);
});
