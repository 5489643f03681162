// Start-up as a user meets it: `npm start` with no configuration, restarts on
// the same data, clean stops, and refusals of bad configuration.
import { mkdtemp, readFile, rename, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyring, openValue } from '../src/crypto/envelope.ts';
import { graphql, request } from './helpers/http.ts';
import { cleanEnv } from './helpers/clean-env.ts';
import { processesMentioning, startService, waitUntil } from './helpers/service-process.ts';

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'secrets-startup-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const READY =
  /ready on (http:\/\/127\.0\.0\.1:\d+)[\s\S]*Dev API key:\s+(sk-lw-[A-Za-z0-9]+)[\s\S]*curl -s -X POST \S+ -H 'X-Auth-Token: (sk-lw-[A-Za-z0-9]+)'/;
const env = () => cleanEnv({ DATA_DIR: dataDir, PORT: '0' });

describe('npm start on a fresh data folder, then again', () => {
  let createdId: string;
  let firstKey: string;

  it('becomes healthy, prints a working dev key, a curl line, the console and GraphiQL addresses; SIGTERM to its group stops it and its engine', async () => {
    const service = startService('npm', env());
    try {
      const [, base, key, curlKey] = await service.waitFor(READY);
      expect(curlKey).toBe(key);
      expect(service.output()).toContain(`GraphiQL:      ${base}/graphql`);
      expect(service.output()).toContain(`Console:       ${base}/console/`);
      const page = await fetch(`${base}/console/`);
      expect([page.status, page.headers.get('content-type'), await page.text()]).toEqual([
        200,
        'text/html; charset=utf-8',
        expect.stringContaining('<div id="root">'),
      ]);
      expect(service.output()).toMatch(/SECRETS_MASTER_KEY is not set/);
      expect((await request(base!, 'GET', '/healthz')).status).toBe(200);

      const created = await request(base!, 'POST', '/api/secrets', { apiKey: key, body: { name: 'SURVIVES_RESTART', value: 'restart-value-42' } });
      expect(created.status).toBe(201);
      createdId = created.body.id;
      firstKey = key!;

      const keyFile = await stat(path.join(dataDir, 'master.key'));
      expect(keyFile.mode & 0o777).toBe(0o600);
      expect(processesMentioning(dataDir).length).toBeGreaterThan(0);
    } finally {
      process.kill(-service.child.pid!, 'SIGTERM');
    }
    // The terminal's Ctrl-C reaches the whole process group too. npm reports
    // the signal it got; the service itself logs its clean stop.
    await service.exited();
    expect(service.output()).toContain('"msg":"stopped"');
    expect(await waitUntil(() => processesMentioning(dataDir).length === 0, 10_000)).toBe(true);
    expect(service.output()).not.toContain('restart-value-42');
  });

  it('started again on the same data: same key, the secret is there and its value still opens', async () => {
    const service = startService('node', env());
    try {
      const [, base, key] = await service.waitFor(READY);
      expect(key).toBe(firstKey);
      const got = await request(base!, 'GET', `/api/secrets/${createdId}`, { apiKey: key });
      expect(got.status).toBe(200);
      expect(got.body.name).toBe('SURVIVES_RESTART');

      // Read the sealed value straight from the engine and open it with the kept dev key.
      const uri = service.output().match(/"uri":"(mongodb:\/\/[^"]+)"/)![1]!;
      const masterKey = Buffer.from((await readFile(path.join(dataDir, 'master.key'), 'utf8')).trim(), 'base64');
      const connection = await mongoose.createConnection(uri, { dbName: 'secrets' }).asPromise();
      try {
        const version = await connection.db!.collection('secret_versions').findOne({ secretId: new mongoose.Types.ObjectId(createdId) });
        const value = openValue(
          createKeyring('default', [['default', masterKey]]),
          { keyId: version!.keyId, wrappedKey: Buffer.from(version!.wrappedKey.buffer), ciphertext: Buffer.from(version!.ciphertext.buffer) },
          { projectId: got.body.projectId, secretId: createdId, version: 1 },
        );
        expect(value).toBe('restart-value-42');
      } finally {
        await connection.close();
      }
    } finally {
      service.child.kill('SIGTERM');
    }
    expect((await service.exited()).code).toBe(0);
  });

  it('killed outright (SIGKILL), leaves no engine running', async () => {
    const service = startService('node', env());
    await service.waitFor(READY);
    expect(processesMentioning(dataDir).length).toBeGreaterThan(0);
    service.child.kill('SIGKILL');
    await service.exited();
    expect(await waitUntil(() => processesMentioning(dataDir).length === 0, 10_000)).toBe(true);
  });

  it('a revoked dev key is replaced on the next start, not printed as working', async () => {
    const first = startService('node', env());
    let revoked = '';
    try {
      const [, base, key] = await first.waitFor(READY);
      revoked = key!;
      const keys = await graphql(base!, '{ apiKeys(first: 50) { edges { node { id name revokedAt } } } }', {}, { apiKey: key });
      const dev = keys.body.data.apiKeys.edges
        .map((e: { node: { id: string; name: string } }) => e.node)
        .find((k: { name: string }) => k.name === 'development');
      const res = await graphql(base!, 'mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }', { id: dev.id }, { apiKey: key });
      expect(res.body.data.revokeApiKey.__typename).toBe('RevokeApiKeySuccess');
    } finally {
      first.child.kill('SIGTERM');
    }
    await first.exited();
    const second = startService('node', env());
    try {
      const [, base, key] = await second.waitFor(READY);
      expect(key).not.toBe(revoked);
      expect((await request(base!, 'GET', '/api/secrets', { apiKey: key })).status).toBe(200);
      expect((await readFile(path.join(dataDir, 'dev-api-key'), 'utf8')).trim()).toBe(key);
      expect((await stat(path.join(dataDir, 'dev-api-key'))).mode & 0o777).toBe(0o600);
    } finally {
      second.child.kill('SIGTERM');
    }
    expect((await second.exited()).code).toBe(0);
  });

  it('will not read or write its dev API key through a symbolic link: exit 1, naming the file', async () => {
    const keyFile = path.join(dataDir, 'dev-api-key');
    const elsewhere = path.join(dataDir, 'elsewhere');
    await rename(keyFile, `${keyFile}.kept`);
    await symlink(elsewhere, keyFile);
    try {
      const service = startService('node', env());
      expect((await service.exited()).code).toBe(1);
      expect(service.output()).toContain(`${keyFile} is a symbolic link: refusing to read or write a key through it`);
      await expect(stat(elsewhere)).rejects.toThrow(/ENOENT/);
      expect(await waitUntil(() => processesMentioning(dataDir).length === 0, 10_000)).toBe(true);
    } finally {
      await rm(keyFile, { force: true });
      await rename(`${keyFile}.kept`, keyFile);
    }
  });

  it('with its development master.key regenerated, refuses to start (exit 1) and says why, rather than write what no one can read', async () => {
    const keyFile = path.join(dataDir, 'master.key');
    await rename(keyFile, `${keyFile}.kept`);
    try {
      const service = startService('node', env());
      const { code } = await service.exited();
      expect(code).toBe(1);
      expect(service.output()).toContain('The master key "default" of this node is not the one this database\'s data was written with');
      expect(service.output()).toContain(`This start used the development master key in ${dataDir}; was it regenerated?`);
      expect(service.output()).not.toMatch(/\n\s+at /);
      expect(await waitUntil(() => processesMentioning(dataDir).length === 0, 10_000)).toBe(true);
    } finally {
      await rename(`${keyFile}.kept`, keyFile);
    }
  });
});

describe('bad configuration', () => {
  it('no database at all (no MONGODB_URI, no mongod, no go): one error naming the three ways', async () => {
    const emptyCache = await mkdtemp(path.join(tmpdir(), 'secrets-no-engine-'));
    try {
      // A PATH with node alone: no `go` to build the engine into the empty cache;
      // and a mongod download that fails even where MongoDB's site is reachable.
      const env = cleanEnv({
        DATA_DIR: dataDir,
        ENGINE_CACHE_DIR: emptyCache,
        PATH: path.dirname(process.execPath),
        MONGOMS_DOWNLOAD_URL: 'http://127.0.0.1:9/mongod.tgz',
      });
      delete env.MONGOMS_SYSTEM_BINARY;
      const service = startService('node', env);
      const { code } = await service.exited();
      expect(code).toBe(1);
      const output = service.output();
      expect(output).toContain('No database is available. Tried, in order:');
      expect(output).toMatch(/1\. MONGODB_URI: not set/);
      expect(output).toMatch(/2\. mongodb-memory-server/);
      expect(output).toMatch(/3\. embedded FerretDB: .*`go` was not found/);
      expect(output).not.toMatch(/^\s+at /m);
    } finally {
      await rm(emptyCache, { recursive: true, force: true });
    }
  });

  it('MONGODB_URI without SECRETS_MASTER_KEY: refuses to start, saying how to make a key', async () => {
    const service = startService('node', cleanEnv({ MONGODB_URI: 'mongodb://127.0.0.1:1/x', DATA_DIR: dataDir }));
    const { code } = await service.exited();
    expect(code).toBe(1);
    expect(service.output()).toMatch(/SECRETS_MASTER_KEY is required when MONGODB_URI is set/);
    expect(service.output()).toContain('openssl rand -base64 32');
    expect(service.output()).not.toMatch(/^\s+at /m);
  });

  it.each([
    ['PORT', { PORT: 'eighty' }, /PORT: must be a whole number/],
    ['SECRETS_MASTER_KEY', { SECRETS_MASTER_KEY: 'dG9vIHNob3J0' }, /SECRETS_MASTER_KEY: must be 32 random bytes/],
  ])('a bad %s: a clear error, exit code 1, no stack trace', async (_name, extra, message) => {
    const service = startService('node', cleanEnv({ DATA_DIR: dataDir, ...extra }));
    const { code } = await service.exited();
    expect(code).toBe(1);
    expect(service.output()).toMatch(message);
    expect(service.output()).not.toMatch(/^\s+at /m);
    expect(service.output()).not.toContain('dG9vIHNob3J0');
  });
});
