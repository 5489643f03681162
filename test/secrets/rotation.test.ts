// Online master-key rotation (src/cli/rotate-master-key.ts) against the real
// app: while another process keeps reading, across several of the script's
// batches of 200; killed mid-run and run again; and its exit code while data
// keys remain under other keys. The large run is a benchmark, not a test:
// npm run bench:rotation (see the README).
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Types } from 'mongoose';
import { describe, expect, it } from 'vitest';
import { apiKeyPrefix, generateApiKey, hashApiKey } from '../../src/auth/api-key.ts';
import { createKeyring, openValue, sealValue } from '../../src/crypto/envelope.ts';
import { sealedBytesOf } from '../../src/db/models/secret-version.ts';
import type { WebhookDoc } from '../../src/db/models/webhook.ts';
import { secretContextOf } from '../../src/webhooks/service.ts';
import { graphql, request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { rotateMasterKey, startRotation } from '../helpers/rotation.ts';
import { insertSeeded, seedDocuments } from '../../src/secrets/mongo/store.ts';

const COUNT = 450;
/** Two batches: killed in the first, the second run crosses into the next. */
const RESUMED = 300;
/** Each value's data key is kept twice: in its version document and in its secret's copy of the current value. */
const keysOf = (values: number) => 2 * values;

/** Writes secrets straight into the app's database, each value sealed under `keyIds[i % keyIds.length]` of `ring`; returns a key that reads them. */
async function seed(app: TestApp, count: number, ring: Map<string, Buffer>, keyIds = [...ring.keys()]) {
  const apiKey = generateApiKey();
  const projectId = new Types.ObjectId();
  await app.models.ApiKey.collection.insertOne({ projectId, name: 'rotation', hash: hashApiKey(apiKey), prefix: apiKeyPrefix(apiKey), createdAt: new Date() });
  const ids: string[] = [];
  const values: Record<string, string> = {};
  const seeded = [];
  for (let i = 0; i < count; i++) {
    values[`ROTATED_${i}`] = `rotated-value-${i}`;
    const keyId = keyIds[i % keyIds.length]!;
    const docs = seedDocuments(
      { projectId: projectId.toHexString(), environment: 'default' },
      { name: `ROTATED_${i}`, slot: i, createdBy: 'seed' },
      (context) => sealValue(createKeyring(keyId, [[keyId, ring.get(keyId)!]]), `rotated-value-${i}`, context),
    );
    ids.push(docs.secret._id.toHexString());
    seeded.push(docs);
  }
  await insertSeeded(app.models, seeded);
  return { apiKey, ids, values };
}

/** Every value, as a node holding `ring` alone reads it. */
async function valuesWith(app: TestApp, ring: [string, Buffer][], apiKey: string) {
  const node = await startTestApp({ masterKeys: ring, dbName: app.connection.name });
  try {
    return (await request(node.baseUrl, 'GET', '/api/secrets/values', { apiKey })).body;
  } finally {
    await node.close({ keepDatabase: true });
  }
}

describe('npm run rotate-master-key', () => {
  it('re-wraps every data key while reads go on, with zero failed reads; the old key is then removable', async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    // The node that serves during rotation holds both keys, the new one active.
    const app = await startTestApp({
      masterKeys: [
        ['new', newKey],
        ['old', oldKey],
      ],
    });
    const { apiKey, ids, values } = await seed(app, COUNT, new Map([['old', oldKey]]));
    // A webhook whose signing secret is sealed under the old key (made by a node where it was active).
    const before = await startTestApp({
      masterKeys: [
        ['old', oldKey],
        ['new', newKey],
      ],
      dbName: app.connection.name,
    });
    const made = await graphql(
      before.baseUrl,
      'mutation { createWebhook(input: {url: "http://127.0.0.1:9/hook"}) { ... on CreateWebhookSuccess { signingSecret webhook { id } } } }',
      {},
      { apiKey: (await before.createProject('hooks')).apiKey },
    );
    await before.close({ keepDatabase: true });
    const { signingSecret, webhook } = made.body.data.createWebhook;

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

    const rotation = await rotateMasterKey(app.connection.name, [
      ['new', newKey],
      ['old', oldKey],
    ]);
    reading = false;
    await reader;
    try {
      expect(rotation.out).toContain(`re-wrapped ${keysOf(COUNT) + 1}; skipped (no key opens them) 0; remaining under other keys: 0`);
      expect(rotation.code).toBe(0);
      // The webhook's signing secret opens with the new key alone.
      const hook = (await app.models.Webhook.collection.findOne({ _id: new Types.ObjectId(webhook.id) })) as unknown as WebhookDoc;
      expect(openValue(createKeyring('new', [['new', newKey]]), sealedBytesOf(hook.secret), secretContextOf(hook))).toBe(signingSecret);
      expect(rotation.out).not.toContain('rotated-value');
      expect(reads).toBeGreaterThan(10);
      expect(failures).toEqual([]);
      expect(await app.models.SecretVersion.countDocuments({ keyId: 'old' })).toBe(0);

      // A node with the new key alone reads every value.
      expect({ ...(await valuesWith(app, [['new', newKey]], apiKey)), sources: undefined }).toEqual({ values });
    } finally {
      await app.close();
    }
  }, 600_000);

  it('killed mid-run, it starts again where it stopped: the second run re-wraps the rest and exits 0, and the new key alone opens every value', async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const ring: [string, Buffer][] = [
      ['new', newKey],
      ['old', oldKey],
    ];
    const app = await startTestApp({ masterKeys: ring });
    try {
      const { apiKey, values } = await seed(app, RESUMED, new Map([['old', oldKey]]));
      const first = startRotation(app.connection.name, ring);
      // Off a terminal the script prints no progress: the database shows it. Killed as a crash would, at once.
      for (let polls = 0; (await app.models.SecretVersion.countDocuments({ keyId: 'new' })) === 0; polls++) {
        expect(first.child.exitCode, first.output()).toBeNull();
        expect(polls, 'bounded polling: a guard against hanging only').toBeLessThan(3000);
        await sleep(20);
      }
      first.child.kill('SIGKILL');
      const killed = await first.done;
      expect(killed.signal).toBe('SIGKILL');
      expect(killed.out).toBe(`${keysOf(RESUMED)} data keys to re-wrap under "new"\n`);

      const second = await rotateMasterKey(app.connection.name, ring);
      const left = Number(second.out.match(/^(\d+) data keys to re-wrap under "new"$/m)?.[1]);
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThan(keysOf(RESUMED));
      expect(second.out).toContain(`re-wrapped ${left}; skipped (no key opens them) 0; remaining under other keys: 0\n`);
      expect(second.code).toBe(0);
      expect(await app.models.SecretVersion.countDocuments({ keyId: { $ne: 'new' } })).toBe(0);
      expect(await app.models.Secret.countDocuments({ 'current.keyId': { $ne: 'new' } })).toBe(0);
      expect({ ...(await valuesWith(app, [['new', newKey]], apiKey)), sources: undefined }).toEqual({ values });
    } finally {
      await app.close();
    }
  }, 300_000);

  it('exits 1 while data keys remain under a key id its ring lacks, counting them by id; with that key in the ring it finishes and exits 0', async () => {
    const [oldKey, newKey, ancientKey] = [randomBytes(32), randomBytes(32), randomBytes(32)];
    const app = await startTestApp({
      masterKeys: [
        ['new', newKey],
        ['old', oldKey],
      ],
    });
    try {
      const { apiKey, values } = await seed(
        app,
        3,
        new Map([
          ['old', oldKey],
          ['ancient', ancientKey],
        ]),
        ['old', 'old', 'ancient'],
      );
      const partial = await rotateMasterKey(app.connection.name, [
        ['new', newKey],
        ['old', oldKey],
      ]);
      expect(partial.code).toBe(1);
      expect(partial.out).toContain('re-wrapped 4; skipped (no key opens them) 0; remaining under other keys: 2 {"ancient":2}\n');
      expect(partial.out).not.toContain('can now be removed');

      const full = await rotateMasterKey(app.connection.name, [
        ['new', newKey],
        ['old', oldKey],
        ['ancient', ancientKey],
      ]);
      expect(full.code).toBe(0);
      expect(full.out).toContain('re-wrapped 2; skipped (no key opens them) 0; remaining under other keys: 0\n');
      expect(full.out).toContain('the other keys can now be removed from SECRETS_MASTER_KEYS');
      expect({ ...(await valuesWith(app, [['new', newKey]], apiKey)), sources: undefined }).toEqual({ values });
    } finally {
      await app.close();
    }
  }, 120_000);
});
