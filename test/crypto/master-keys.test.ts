// A node with another master key than the others refuses to start (a key
// check per key id); a value no key of a node opens is an error about that
// one secret, never a 500 for a whole list; the rotation skips and reports
// it; and the README's rolling-rotation order keeps every node able to read
// every write.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createKeyring } from '../../src/crypto/envelope.ts';
import { MasterKeyMismatchError } from '../../src/crypto/key-check.ts';
import { connectDatabase } from '../../src/db/connect.ts';
import { createServices } from '../../src/services.ts';
import { graphql, request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { rotateMasterKey } from '../helpers/rotation.ts';
import { runCli } from '../cli/process.ts';

const apps: TestApp[] = [];
afterAll(async () => {
  for (const app of apps.reverse()) await app.close({ keepDatabase: app !== apps[0] });
});
const start = async (...args: Parameters<typeof startTestApp>) => {
  const app = await startTestApp(...args);
  apps.push(app);
  return app;
};

describe('the key check of each master key id', () => {
  it('a node whose key under an id is not the one the data was written with refuses to start, and says why', async () => {
    const first = await start({ masterKeys: [['default', randomBytes(32)]] });
    const connection = await connectDatabase(inject('mongoUri'), { dbName: first.connection.name });
    try {
      const wrong = createKeyring('default', [['default', randomBytes(32)]]);
      const refused = createServices({ connection, keyring: wrong }).catch((err: unknown) => err);
      const err = await refused;
      expect(err).toBeInstanceOf(MasterKeyMismatchError);
      expect((err as Error).message).toContain('The master key "default" of this node is not the one this database\'s data was written with');
      // A new id beside the right key is fine: its check is stored on first use.
      const ring = createKeyring('default', [
        ['default', first.keyring.keys.get('default')!],
        ['next', randomBytes(32)],
      ]);
      await createServices({ connection, keyring: ring });
      expect((await first.models.MasterKeyCheck.find({}).lean()).map((c) => c._id).sort()).toEqual(['default', 'next']);
    } finally {
      await connection.close();
    }
  });
});

describe('a value this node cannot open', () => {
  it('is an error about that one secret: lists and values still answer, it is named in the log and to the caller', async () => {
    const app = await start();
    const { apiKey } = await app.createProject('unreadable');
    for (const name of ['GOOD_ONE', 'BAD_ONE']) {
      expect((await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name, value: `value of ${name}-MARKER` } })).status).toBe(201);
    }
    // A version written by a node with another key under the same id.
    const badId = await app.sealUnderForeignKey('BAD_ONE', 'default');

    const values = await request(app.baseUrl, 'GET', '/api/secrets/values', { apiKey });
    expect(values.status).toBe(200);
    expect({ ...values.body, sources: undefined }).toEqual({ values: { GOOD_ONE: 'value of GOOD_ONE-MARKER' }, unreadable: ['BAD_ONE'] });
    const v1 = await request(app.baseUrl, 'GET', '/api/v1/user/secrets', { headers: { 'x-api-key': apiKey } });
    expect(v1.status).toBe(200);
    expect(v1.body.secrets.find((s: { name: string }) => s.name === 'BAD_ONE').masked_value).toBe('••••••••');
    const one = await request(app.baseUrl, 'GET', `/api/secrets/${badId}/value`, { apiKey });
    expect(one.status).toBe(500);
    expect(one.body).toEqual({ error: 'value_unreadable', message: 'The value of the secret "BAD_ONE" cannot be opened with this node\'s master keys' });
    const gql = await graphql(app.baseUrl, 'query($id: ID!) { revealSecret(id: $id) { __typename ... on Error { code } } }', { id: badId }, { apiKey });
    expect(gql.body.data.revealSecret).toEqual({ __typename: 'UnreadableValueError', code: 'VALUE_UNREADABLE' });
    const logged = app.logs.filter((l) => l.includes("a stored value cannot be opened with this node's master keys"));
    expect(logged.length).toBeGreaterThanOrEqual(3);
    expect(JSON.parse(logged[0]!)).toMatchObject({ secretName: 'BAD_ONE', secretId: badId, keyId: 'default', version: 1 });
    expect(app.logs.join('\n')).not.toContain('MARKER');

    // The CLI does not run a command without it, and says which.
    const cli = await runCli(['run', '--', 'true'], { env: { SECRETS_URL: app.baseUrl, SECRETS_API_KEY: apiKey } });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('cannot open the value of BAD_ONE');
  });
});

describe('rolling rotation, as the README orders it', () => {
  it('new key added as a non-active member on every node first, then made active: every node reads every write at each step', async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    let apiKey = '';
    // What a node reveals, by name (where each came from is another test's).
    const values = async (app: TestApp) => ({ ...(await request(app.baseUrl, 'GET', '/api/secrets/values', { apiKey })).body, sources: undefined });
    const write = (app: TestApp, name: string) => request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name, value: name.toLowerCase() } });

    // Both nodes on the old key.
    const a0 = await start({ masterKeys: [['old', oldKey]] });
    const dbName = a0.connection.name;
    apiKey = (await a0.createProject('rolling')).apiKey;
    expect((await write(a0, 'BEFORE')).status).toBe(201);
    // Step 1, node by node: the new key joins every ring, not active yet.
    const b1 = await start({
      masterKeys: [
        ['old', oldKey],
        ['new', newKey],
      ],
      dbName,
    });
    expect((await write(b1, 'STEP_ONE')).status).toBe(201);
    expect(await values(a0)).toEqual({ values: { BEFORE: 'before', STEP_ONE: 'step_one' } });
    const a1 = await start({
      masterKeys: [
        ['old', oldKey],
        ['new', newKey],
      ],
      dbName,
    });
    // Step 2, node by node: the new key becomes the active one.
    const b2 = await start({
      masterKeys: [
        ['new', newKey],
        ['old', oldKey],
      ],
      dbName,
    });
    expect((await write(b2, 'STEP_TWO')).status).toBe(201);
    const all = { values: { BEFORE: 'before', STEP_ONE: 'step_one', STEP_TWO: 'step_two' } };
    expect(await values(a1)).toEqual(all);
    expect(await values(b1)).toEqual(all);
    const a2 = await start({
      masterKeys: [
        ['new', newKey],
        ['old', oldKey],
      ],
      dbName,
    });
    expect(await values(a2)).toEqual(all);
    // The order the README warns against: a node that has not got the new key yet cannot read what it wrapped.
    expect(await values(a0)).toEqual({ values: { BEFORE: 'before', STEP_ONE: 'step_one' }, unreadable: ['STEP_TWO'] });
  });
});

describe('npm run rotate-master-key over a value no key opens', () => {
  it('re-wraps the others, reports and skips that one, and exits 1', async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const app = await start({ masterKeys: [['old', oldKey]] });
    const { apiKey } = await app.createProject('rotation skip');
    for (const name of ['ROT_A', 'ROT_B', 'ROT_BROKEN']) await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name, value: name } });
    const brokenId = await app.sealUnderForeignKey('ROT_BROKEN', 'old');

    const run = await rotateMasterKey(app.connection.name, [
      ['new', newKey],
      ['old', oldKey],
    ]);
    expect(run.code).toBe(1);
    // Each value's data key twice: in its version document and in its secret's copy; the skipped one is named once.
    expect(run.out).toContain('re-wrapped 4; skipped (no key opens them) 1; remaining under other keys: 2 {"old":2}');
    expect(run.out).toContain(`skipped: secret ${brokenId} version 1: its data key is under "old"`);
    const keyIds = (await app.models.SecretVersion.find({}).lean()).map((v) => `${v.secretId.toHexString() === brokenId ? 'broken' : 'ok'}:${v.keyId}`).sort();
    expect(keyIds).toEqual(['broken:old', 'ok:new', 'ok:new']);
    const copies = (await app.models.Secret.find({}).lean()).map((s) => `${s._id.toHexString() === brokenId ? 'broken' : 'ok'}:${s.current?.keyId}`).sort();
    expect(copies).toEqual(['broken:old', 'ok:new', 'ok:new']);
  });
});
