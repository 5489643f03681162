// An environment at any moment: environmentAt, environmentDiff and
// restoreEnvironment through GraphQL, the values door's ?at= and
// `secrets export --at`, on a history T0…T3 of creates, updates, a rename,
// deletions and a reference. A restore to T1 gives exactly T1 (on a node that
// holds only the master key rotated to since); its dry run sends no write; a
// write in flight on one secret refuses it with nothing changed; moments past
// what is kept answer so.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandStartedEvent } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/process.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { graphqlClient } from '../helpers/doors.ts';
import { request } from '../helpers/http.ts';
import { rotateMasterKey } from '../helpers/rotation.ts';

const MARKER = `history-${randomBytes(6).toString('hex')}`;
const v = (name: string) => `${MARKER}-${name}`;
const ENV = 'prod';
const oldKey = randomBytes(32);
const newKey = randomBytes(32);

let app: TestApp;
let admin: string;
const ids: Record<string, string> = {};
const moments: Date[] = [];

const gql = (key: string, on: TestApp = app) => graphqlClient(on.baseUrl, key);

/** A moment between writes, a few milliseconds clear of each (versions and events are stamped in ms). */
async function mark(): Promise<void> {
  await sleep(15);
  moments.push(new Date());
  await sleep(15);
}

async function create(name: string, value: string) {
  const res = await gql(admin)(
    'mutation($e: String, $n: String!, $v: String!) { r: createSecret(environment: $e, input: {name: $n, value: $v}) { __typename ... on CreateSecretSuccess { secret { id } } } }',
    { e: ENV, n: name, v: value },
  );
  expect(res.body.data.r.__typename).toBe('CreateSecretSuccess');
  ids[name] = res.body.data.r.secret.id;
}
async function update(name: string, value: string) {
  const res = await gql(admin)('mutation($e: String, $id: ID!, $v: String!) { r: updateSecret(environment: $e, id: $id, input: {value: $v}) { __typename } }', {
    e: ENV,
    id: ids[name],
    v: value,
  });
  expect(res.body.data.r.__typename).toBe('UpdateSecretSuccess');
}
async function remove(name: string) {
  const res = await gql(admin)('mutation($e: String, $id: ID!) { r: deleteSecret(environment: $e, id: $id) { __typename } }', { e: ENV, id: ids[name] });
  expect(res.body.data.r.__typename).toBe('DeleteSecretSuccess');
}
async function rename(name: string, to: string) {
  const res = await gql(admin)(
    'mutation($e: String, $id: ID!, $n: String!) { r: updateSecretMetadata(environment: $e, id: $id, input: {name: $n}) { __typename } }',
    { e: ENV, id: ids[name], n: to },
  );
  expect(res.body.data.r.__typename).toBe('UpdateSecretMetadataSuccess');
}

const AT = `query($e: String!, $at: DateTime!, $reveal: Boolean) {
  r: environmentAt(environment: $e, at: $at, reveal: $reveal) {
    __typename ... on Error { message }
    ... on EnvironmentAt { environment secrets { id name version value } }
  }
}`;
const RESTORE = `mutation($input: RestoreEnvironmentInput!) {
  r: restoreEnvironment(input: $input) {
    __typename ... on Error { message }
    ... on RestoreEnvironmentSuccess { dryRun changes { secretId action name previousName fromVersion toVersion newVersion } }
  }
}`;

/** The environment's values at a moment, by name, through GraphQL. */
async function valuesAt(at: Date, on: TestApp = app): Promise<Record<string, string>> {
  const res = await gql(admin, on)(AT, { e: ENV, at: at.toISOString(), reveal: true });
  expect(res.body.data.r.__typename, JSON.stringify(res.body)).toBe('EnvironmentAt');
  return Object.fromEntries(res.body.data.r.secrets.map((s: { name: string; value: string }) => [s.name, s.value]));
}
const valuesNow = async (on: TestApp = app) =>
  (await request(on.baseUrl, 'GET', '/api/secrets/values?resolve=false', { apiKey: admin, headers: { 'x-secrets-environment': ENV } })).body.values;

/** What the environment held at T0 and T1, by name (F's reference as stored). */
const T0 = { A: v('a1'), B: v('b1'), C: v('c1'), F: 'url:${A}' };
const T1 = { A: v('a2'), B: v('b1'), C: v('c1'), D: v('d1'), F: 'url:${A}' };

beforeAll(async () => {
  app = await startTestApp({ masterKeys: [['old', oldKey]] });
  ({ apiKey: admin } = await app.createProject('history'));
  const env = await gql(admin)('mutation { createEnvironment(input: {slug: "prod", name: "Prod"}) { __typename } }');
  expect(env.body.data.createEnvironment.__typename).toBe('CreateEnvironmentSuccess');
  for (const [name, value] of Object.entries(T0)) await create(name, value);
  await mark(); // T0
  await update('A', v('a2'));
  await create('D', v('d1'));
  await mark(); // T1
  await update('A', v('a3'));
  await remove('B');
  await rename('C', 'C2');
  await update('D', v('d2'));
  await create('E', v('e1'));
  await mark(); // T2
  await update('A', v('a4'));
  await remove('D');
  await mark(); // T3
}, 120_000);

afterAll(async () => {
  await app?.close();
});

describe('environmentAt', () => {
  it('gives the names, versions and values of each moment exactly, the renamed and the deleted included', async () => {
    expect(await valuesAt(moments[0]!)).toEqual(T0);
    expect(await valuesAt(moments[1]!)).toEqual(T1);
    expect(await valuesAt(moments[2]!)).toEqual({ A: v('a3'), C2: v('c1'), D: v('d2'), E: v('e1'), F: 'url:${A}' });
    expect(await valuesAt(moments[3]!)).toEqual({ A: v('a4'), C2: v('c1'), E: v('e1'), F: 'url:${A}' });
    const res = await gql(admin)(AT, { e: ENV, at: moments[1]!.toISOString() });
    expect(res.body.data.r.secrets.map((s: { name: string; version: number; value: unknown }) => [s.name, s.version, s.value])).toEqual([
      ['A', 2, null],
      ['B', 1, null],
      ['C', 1, null],
      ['D', 1, null],
      ['F', 1, null],
    ]);
  });

  it('reveals only with secrets:reveal, and audits each value revealed', async () => {
    const minted = await gql(admin)('mutation { r: createApiKey(input: {name: "reader", scopes: ["secrets:read"]}) { ... on CreateApiKeySuccess { key } } }');
    const reader = minted.body.data.r.key;
    const refused = await gql(reader)(AT, { e: ENV, at: moments[1]!.toISOString(), reveal: true });
    expect(refused.body.data.r.__typename).toBe('ForbiddenError');
    const before = await app.models.AuditEvent.countDocuments({ operation: 'reveal_at' });
    await valuesAt(moments[1]!);
    expect(await app.models.AuditEvent.countDocuments({ operation: 'reveal_at' })).toBe(before + Object.keys(T1).length);
  });

  it('answers a moment past the events kept, or one whose version was pruned, as past what is kept; a future one is a ValidationError', async () => {
    const old = await gql(admin)(AT, { e: ENV, at: new Date(Date.now() - 8 * 86_400_000).toISOString() });
    expect(old.body.data.r.__typename).toBe('PastRetentionError');
    const future = await gql(admin)(AT, { e: ENV, at: new Date(Date.now() + 60_000).toISOString() });
    expect(future.body.data.r.__typename).toBe('ValidationError');

    const small = await startTestApp({ limits: { versionsKept: 2 } });
    try {
      const { apiKey } = await small.createProject('pruned');
      const c = await graphqlClient(
        small.baseUrl,
        apiKey,
      )('mutation { r: createSecret(input: {name: "X", value: "x1"}) { ... on CreateSecretSuccess { secret { id } } } }');
      const id = c.body.data.r.secret.id;
      await sleep(15);
      const first = new Date();
      await sleep(15);
      for (const value of ['x2', 'x3', 'x4']) {
        await graphqlClient(small.baseUrl, apiKey)('mutation($id: ID!, $v: String!) { updateSecret(id: $id, input: {value: $v}) { __typename } }', {
          id,
          v: value,
        });
      }
      const pruned = await graphqlClient(small.baseUrl, apiKey)(AT, { e: 'default', at: first.toISOString(), reveal: true });
      expect(pruned.body.data.r.__typename).toBe('PastRetentionError');
      expect(JSON.stringify(pruned.body)).not.toContain('x1');
    } finally {
      await small.close();
    }
  });
});

describe('environmentDiff', () => {
  it('lists the names added, changed (by version) and removed between two moments', async () => {
    const res = await gql(admin)(
      `query($e: String!, $from: DateTime!, $to: DateTime!) { r: environmentDiff(environment: $e, from: $from, to: $to) {
        __typename ... on EnvironmentDiff { added { name fromVersion toVersion } changed { name fromVersion toVersion } removed { name fromVersion toVersion } } } }`,
      { e: ENV, from: moments[1]!.toISOString(), to: moments[3]!.toISOString() },
    );
    expect(res.body.data.r).toEqual({
      __typename: 'EnvironmentDiff',
      added: [
        { name: 'C2', fromVersion: null, toVersion: 1 },
        { name: 'E', fromVersion: null, toVersion: 1 },
      ],
      changed: [{ name: 'A', fromVersion: 2, toVersion: 4 }],
      removed: [
        { name: 'B', fromVersion: 1, toVersion: null },
        { name: 'C', fromVersion: 1, toVersion: null },
        { name: 'D', fromVersion: 1, toVersion: null },
      ],
    });
  });
});

describe('secrets export --at', () => {
  it('writes the values of that moment, references expanded in it', async () => {
    const env = { SECRETS_URL: app.baseUrl, SECRETS_API_KEY: admin };
    const out = await runCli(['export', '--format', 'json', '--env', ENV, '--at', moments[1]!.toISOString()], { env });
    expect(JSON.parse(out.stdout)).toEqual({ ...T1, F: `url:${v('a2')}` });
    const bad = await runCli(['export', '--env', ENV, '--at', 'yesterday'], { env });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('not a time');
  });
});

describe('restoreEnvironment', () => {
  it('a dry run lists what would change and sends no write to the database', async () => {
    const client = app.connection.getClient();
    const sent: string[] = [];
    const listener = (event: CommandStartedEvent) => void sent.push(event.commandName);
    const before = await valuesNow();
    client.on('commandStarted', listener);
    let res;
    try {
      res = await gql(admin)(RESTORE, { input: { environment: ENV, to: moments[1]!.toISOString(), dryRun: true } });
    } finally {
      client.off('commandStarted', listener);
    }
    expect(res.body.data.r.__typename, JSON.stringify(res.body)).toBe('RestoreEnvironmentSuccess');
    expect(res.body.data.r.dryRun).toBe(true);
    expect(res.body.data.r.changes.map((c: { action: string; name: string }) => [c.action, c.name])).toEqual([
      ['DELETE', 'E'],
      ['RENAME', 'C'],
      ['RESTORE', 'B'],
      ['RESTORE', 'D'],
      ['UPDATE', 'A'],
    ]);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.filter((c) => ['insert', 'update', 'delete', 'findAndModify'].includes(c))).toEqual([]);
    expect(await valuesNow()).toEqual(before);
  });

  it('a write in flight on one secret it touches refuses it as a ConflictError, with nothing changed', async () => {
    const before = await valuesNow();
    const versionsBefore = await app.models.SecretVersion.countDocuments({ void: { $ne: true } });
    // Another writer has taken A's next version number (its change not yet current).
    const a = await app.models.Secret.findById(ids.A).lean();
    const inFlight = `${ids.A}:${a!.version + 1}`;
    await app.models.SecretVersion.collection.insertOne({
      ...(await app.models.SecretVersion.findById(`${ids.A}:${a!.version}`).lean()),
      _id: inFlight,
      version: a!.version + 1,
    } as never);
    try {
      const res = await gql(admin)(RESTORE, { input: { environment: ENV, to: moments[1]!.toISOString() } });
      expect(res.body.data.r.__typename).toBe('ConflictError');
      expect(res.body.data.r.message).toContain('"A"');
    } finally {
      await app.models.SecretVersion.deleteOne({ _id: inFlight });
    }
    expect(await valuesNow()).toEqual(before);
    expect(await app.models.SecretVersion.countDocuments({ void: { $ne: true } })).toBe(versionsBefore);
    expect(await app.models.AuditEvent.countDocuments({ operation: 'restore_environment', outcome: 'success' })).toBe(0);
  });

  it('after a master-key rotation, restores T1 exactly on a node holding only the new key: one audit record and one event per secret changed', async () => {
    const rotation = await rotateMasterKey(app.connection.name, [
      ['new', newKey],
      ['old', oldKey],
    ]);
    expect(rotation.code, rotation.out).toBe(0);
    const node = await startTestApp({ masterKeys: [['new', newKey]], dbName: app.connection.name });
    try {
      const started = new Date();
      const res = await gql(admin, node)(RESTORE, { input: { environment: ENV, to: moments[1]!.toISOString() } });
      expect(res.body.data.r.__typename, JSON.stringify(res.body)).toBe('RestoreEnvironmentSuccess');
      const changes = res.body.data.r.changes;
      expect(changes.map((c: { action: string; name: string; newVersion: number | null }) => [c.action, c.name, c.newVersion])).toEqual([
        ['UPDATE', 'A', 5],
        ['RESTORE', 'B', null],
        ['RENAME', 'C', null],
        // D's version 3 was given up by the refused restore above (its number stays taken).
        ['RESTORE', 'D', 4],
        ['DELETE', 'E', null],
      ]);
      expect(await valuesNow(node)).toEqual(T1);
      expect(JSON.stringify(res.body)).not.toContain(MARKER);
      const audit = await node.models.AuditEvent.find({ operation: 'restore_environment', outcome: 'success' }).lean();
      expect(audit.map((a) => a.secretName).sort()).toEqual(['A', 'B', 'C', 'D', 'E']);
      const events = await node.models.SecretEvent.find({ at: { $gte: started } })
        .sort({ seq: 1 })
        .lean();
      expect(events.map((e) => [e.type, e.secretName]).sort()).toEqual([
        ['deleted', 'E'],
        ['renamed', 'C'],
        ['restored', 'B'],
        ['restored', 'D'],
        ['updated', 'A'],
      ]);
      expect(events.find((e) => e.type === 'renamed')?.previousName).toBe('C2');
      // The restore is history too: the moment before it is still T3's.
      expect(await valuesAt(started, node)).toEqual({ A: v('a4'), C2: v('c1'), E: v('e1'), F: 'url:${A}' });
    } finally {
      await node.close({ keepDatabase: true });
    }
  }, 120_000);
});

describe('snapshots', () => {
  it('pin the versions they name past SECRET_VERSIONS_KEPT, through a master-key rotation, until deleted', async () => {
    const oldRing: [string, Buffer][] = [['old', randomBytes(32)]];
    const fresh = randomBytes(32);
    const small = await startTestApp({ limits: { versionsKept: 2 }, masterKeys: oldRing });
    try {
      const { apiKey } = await small.createProject('snapshots');
      const q = graphqlClient(small.baseUrl, apiKey);
      const made: Record<string, string> = {};
      for (const name of ['X', 'Y']) {
        const r = await q(
          'mutation($n: String!, $v: String!) { r: createSecret(input: {name: $n, value: $v}) { ... on CreateSecretSuccess { secret { id } } } }',
          {
            n: name,
            v: v(`${name.toLowerCase()}1`),
          },
        );
        made[name] = r.body.data.r.secret.id;
      }
      const CREATE = `mutation($name: String!) { r: createSnapshot(input: {environment: "default", name: $name}) {
        __typename ... on Error { message } ... on CreateSnapshotSuccess { snapshot { id name createdAt secrets { name version } } } } }`;
      const taken = await q(CREATE, { name: 'release-1' });
      expect(taken.body.data.r.__typename, JSON.stringify(taken.body)).toBe('CreateSnapshotSuccess');
      const snapshot = taken.body.data.r.snapshot;
      expect(snapshot.secrets).toEqual([
        { name: 'X', version: 1 },
        { name: 'Y', version: 1 },
      ]);
      expect((await q(CREATE, { name: 'release-1' })).body.data.r.__typename).toBe('ConflictError');
      await sleep(15);
      for (const value of ['x2', 'x3', 'x4']) {
        await q('mutation($id: ID!, $v: String!) { updateSecret(id: $id, input: {value: $v}) { __typename } }', { id: made.X, v: v(value) });
      }
      // Version 1 of X is pruned (2 kept): only the snapshot's pin still holds it.
      // A second snapshot pins X's version 4, still kept: its copy is no version of its own.
      const second = await q(CREATE, { name: 'release-2' });
      expect(second.body.data.r.snapshot.secrets).toEqual([
        { name: 'X', version: 4 },
        { name: 'Y', version: 1 },
      ]);
      const listed = await q('query($id: ID!) { secret(id: $id) { versions { edges { node { version } } } } }', { id: made.X });
      expect(listed.body.data.secret.versions.edges.map((e: { node: { version: number } }) => e.node.version)).toEqual([4, 3]);
      const listing = await q('{ snapshots(environment: "default") { id name secrets { name version } } }');
      expect(listing.body.data.snapshots.map((t: { name: string }) => t.name)).toEqual(['release-2', 'release-1']);
      expect(listing.body.data.snapshots[1]).toEqual({ id: snapshot.id, name: 'release-1', secrets: snapshot.secrets });

      const rotation = await rotateMasterKey(small.connection.name, [['new', fresh], ...oldRing]);
      expect(rotation.code, rotation.out).toBe(0);
      const node = await startTestApp({ masterKeys: [['new', fresh]], dbName: small.connection.name, limits: { versionsKept: 2 } });
      try {
        const n = graphqlClient(node.baseUrl, apiKey);
        const then = await n(AT, { e: 'default', at: snapshot.createdAt, reveal: true });
        expect(then.body.data.r.secrets.map((s: { name: string; value: string }) => [s.name, s.value])).toEqual([
          ['X', v('x1')],
          ['Y', v('y1')],
        ]);
        const restored = await n(RESTORE, { input: { environment: 'default', snapshot: snapshot.id } });
        expect(restored.body.data.r.changes.map((c: { action: string; name: string }) => [c.action, c.name])).toEqual([['UPDATE', 'X']]);
        const now = await request(node.baseUrl, 'GET', '/api/secrets/values', { apiKey });
        expect(now.body.values).toEqual({ X: v('x1'), Y: v('y1') });
        const both = await n(RESTORE, { input: { environment: 'default', snapshot: snapshot.id, to: snapshot.createdAt } });
        expect(both.body.data.r.__typename).toBe('ValidationError');

        const deleted = await n('mutation($id: ID!) { r: deleteSnapshot(id: $id) { __typename ... on DeleteSnapshotSuccess { snapshot { name } } } }', {
          id: snapshot.id,
        });
        expect(deleted.body.data.r).toEqual({ __typename: 'DeleteSnapshotSuccess', snapshot: { name: 'release-1' } });
        // release-2's two pins stay.
        expect(await node.models.SecretVersion.countDocuments({ pin: { $exists: true } })).toBe(2);
        expect((await n(AT, { e: 'default', at: snapshot.createdAt, reveal: true })).body.data.r.__typename).toBe('PastRetentionError');
        expect((await n('mutation($id: ID!) { r: deleteSnapshot(id: $id) { __typename } }', { id: snapshot.id })).body.data.r.__typename).toBe('NotFoundError');
      } finally {
        await node.close({ keepDatabase: true });
      }
    } finally {
      await small.close();
    }
  }, 120_000);
});
