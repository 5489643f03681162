// The store contract: what the secret service relies on of any SecretStore,
// run on the MongoDB store (on the run's engine) and on the in-memory one.
// Only the interface is used: no test here knows how a store keys anything.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createKeyring, generateKey, openValue, rewrapDataKey, sealValue } from '../../src/crypto/envelope.ts';
import {
  EnvironmentNotFoundError,
  EnvironmentTakenError,
  QuotaExceededError,
  SecretNameTakenError,
  SecretNotFoundError,
  SnapshotNameTakenError,
  VersionMismatchError,
} from '../../src/secrets/errors.ts';
import {
  DEFAULT_ENVIRONMENT,
  type Namespace,
  type SealedVersion,
  type SecretDraft,
  type SecretRecord,
  type SecretStore,
  type Sealer,
} from '../../src/secrets/store.ts';
import { memoryStores, mongoStores } from '../helpers/stores.ts';

const keyring = createKeyring('k1', [['k1', generateKey()]]);
const sealer =
  (value: string): Sealer =>
  (context) =>
    sealValue(keyring, value, context);
const open = (v: SealedVersion | null | undefined) => (v ? openValue(keyring, v.sealed, v.context) : null);
const draft = (name: string, extra: Partial<SecretDraft> = {}): SecretDraft => ({
  name,
  description: null,
  provider: null,
  expiresAt: null,
  ttlSeconds: null,
  createdBy: 'key-a',
  ...extra,
});
const names = (items: { name: string }[]) => items.map((s) => s.name);
const later = (ms: number) => new Date(Date.now() + ms);

const kinds = [mongoStores(), memoryStores()];
afterAll(async () => {
  for (const kind of kinds) await kind.close();
});

describe.each(kinds)('$name', (kind) => {
  async function fresh(limits?: Parameters<typeof kind.make>[0]) {
    const made = await kind.make(limits);
    const ns: Namespace = { projectId: await made.newProject(), environment: DEFAULT_ENVIRONMENT };
    return { ...made, ns };
  }
  const create = (store: SecretStore, ns: Namespace, name: string, value = `v-${name}`, extra?: Partial<SecretDraft>) =>
    store.create(ns, draft(name, extra), sealer(value), new Date());

  describe('create and read', () => {
    it('creates version 1 and finds it by id, by name and by either', async () => {
      const { store, ns } = await fresh();
      const made = await create(store, ns, 'API_KEY', 'one');
      expect(made).toMatchObject({ projectId: ns.projectId, environment: DEFAULT_ENVIRONMENT, name: 'API_KEY', version: 1, deletedAt: null, purgeAt: null });
      const at = new Date();
      expect((await store.findLive(ns, { id: made.id }, at))?.name).toBe('API_KEY');
      expect((await store.findLive(ns, { name: 'API_KEY' }, at))?.id).toBe(made.id);
      expect((await store.findLive(ns, { idOrName: made.id }, at))?.name).toBe('API_KEY');
      expect((await store.findLive(ns, { idOrName: 'API_KEY' }, at))?.id).toBe(made.id);
      expect(await store.findLive(ns, { name: 'OTHER' }, at)).toBeNull();
      const sealed = await store.sealedVersion(made, 1);
      expect(sealed?.context).toEqual({ projectId: ns.projectId, secretId: made.id, version: 1 });
      expect(open(sealed)).toBe('one');
    });

    it('refuses a name a live secret holds, in its namespace only', async () => {
      const { store, ns, newProject } = await fresh();
      await store.environments.create(ns.projectId, 'staging', 'Staging', new Date());
      await create(store, ns, 'TOKEN');
      await expect(create(store, ns, 'TOKEN')).rejects.toBeInstanceOf(SecretNameTakenError);
      await create(store, { ...ns, environment: 'staging' }, 'TOKEN');
      await create(store, { projectId: await newProject(), environment: DEFAULT_ENVIRONMENT }, 'TOKEN');
      expect(names(await store.listAllLive(ns, new Date()))).toEqual(['TOKEN']);
    });

    it('lists live secrets in name order, a page at a time', async () => {
      const { store, ns } = await fresh();
      for (const name of ['C', 'A', 'E', 'B', 'D']) await create(store, ns, name);
      const at = new Date();
      const first = await store.listLive(ns, { first: 2 }, at);
      expect([names(first.items), first.hasNextPage]).toEqual([['A', 'B'], true]);
      const last = await store.listLive(ns, { first: 3, after: 'B' }, at);
      expect([names(last.items), last.hasNextPage]).toEqual([['C', 'D', 'E'], false]);
      expect(names(await store.listAllLive(ns, at))).toEqual(['A', 'B', 'C', 'D', 'E']);
    });

    it('lists only the names that begin with a prefix, in pages', async () => {
      const { store, ns } = await fresh();
      for (const name of ['STRIPE_A', 'STRIPE_B', 'STRIPEX', 'STRIP', 'SENTRY', 'TWILIO']) await create(store, ns, name, 'v');
      const at = new Date();
      const first = await store.listLive(ns, { first: 2, nameStartsWith: 'STRIPE' }, at);
      expect([names(first.items), first.hasNextPage]).toEqual([['STRIPEX', 'STRIPE_A'], true]);
      const rest = await store.listLive(ns, { first: 2, after: 'STRIPE_A', nameStartsWith: 'STRIPE' }, at);
      expect([names(rest.items), rest.hasNextPage]).toEqual([['STRIPE_B'], false]);
      expect(names((await store.listLive(ns, { first: 10, nameStartsWith: 'NONE' }, at)).items)).toEqual([]);
    });

    it('gives the sealed current values of many secrets at once, by id', async () => {
      const { store, ns } = await fresh();
      const a = await create(store, ns, 'A', 'alpha');
      const b = await create(store, ns, 'B', 'beta');
      const listed = await store.listAllLive(ns, new Date(), { sealed: true });
      const sealed = await store.sealedCurrent(listed);
      expect([open(sealed.get(a.id)), open(sealed.get(b.id))]).toEqual(['alpha', 'beta']);
    });

    it('creates into an environment that does not exist are refused', async () => {
      const { store, ns } = await fresh();
      await expect(create(store, { ...ns, environment: 'nowhere' }, 'X')).rejects.toBeInstanceOf(EnvironmentNotFoundError);
      expect(await store.listAllLive({ ...ns, environment: 'nowhere' }, new Date())).toEqual([]);
    });

    it('of racing creates of one name, exactly one succeeds', async () => {
      const { store, ns } = await fresh();
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => create(store, ns, 'RACE', `v${i}`)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(SecretNameTakenError);
      expect(names(await store.listAllLive(ns, new Date()))).toEqual(['RACE']);
    });
  });

  describe('quota', () => {
    it('refuses a create past the limit, and a delete makes room', async () => {
      const { store, ns } = await fresh({ projectSecretLimit: 3 });
      const made = [await create(store, ns, 'A'), await create(store, ns, 'B'), await create(store, ns, 'C')];
      await expect(create(store, ns, 'D')).rejects.toBeInstanceOf(QuotaExceededError);
      await store.softDelete(made[0]!, 'key-a', new Date());
      await create(store, ns, 'D');
      expect(names(await store.listAllLive(ns, new Date()))).toEqual(['B', 'C', 'D']);
    });

    it('of racing creates for the last free place, exactly one gets it', async () => {
      const { store, ns } = await fresh({ projectSecretLimit: 4 });
      for (const name of ['A', 'B', 'C']) await create(store, ns, name);
      const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => create(store, ns, `N${i}`)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(QuotaExceededError);
      expect(await store.listAllLive(ns, new Date())).toHaveLength(4);
    });
  });

  describe('change', () => {
    it('writes a new version with a value, keeps the version without one', async () => {
      const { store, ns } = await fresh();
      const made = await create(store, ns, 'K', 'one');
      const described = await store.change(made, { metadata: { description: 'the key' }, by: 'key-b' }, new Date());
      expect(described).toMatchObject({ version: 1, description: 'the key', lastUpdatedBy: 'key-b' });
      const two = await store.change(described, { metadata: {}, value: sealer('two'), by: 'key-c' }, new Date());
      expect(two.version).toBe(2);
      const found = await store.findLive(ns, { id: made.id }, new Date());
      expect(found).toMatchObject({ version: 2, description: 'the key', lastUpdatedBy: 'key-c' });
      expect(open((await store.sealedCurrent([found!])).get(made.id))).toBe('two');
      expect(open(await store.sealedVersion(found!, 1))).toBe('one');
      const versions = await store.listVersions(found!, { first: 10 });
      expect(versions.items.map((v) => [v.version, v.createdBy])).toEqual([
        [2, 'key-c'],
        [1, 'key-a'],
      ]);
    });

    it('with an expected version, only the writer that saw the current one wins', async () => {
      const { store, ns } = await fresh();
      const made = await create(store, ns, 'K', 'one');
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => store.change(made, { metadata: {}, value: sealer(`w${i}`), expected: 1, by: `w${i}` }, new Date())),
      );
      const won = results.filter((r): r is PromiseFulfilledResult<SecretRecord> => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(VersionMismatchError);
      const found = (await store.findLive(ns, { id: made.id }, new Date()))!;
      expect(found.version).toBe(2);
      expect(open((await store.sealedCurrent([found])).get(made.id))).toBe(won[0]!.value.lastUpdatedBy);
      await expect(store.change(made, { metadata: {}, value: sealer('stale'), expected: 1, by: 'late' }, new Date())).rejects.toBeInstanceOf(
        VersionMismatchError,
      );
    });

    it('without an expected version, racing writers each get a version of their own', async () => {
      const { store, ns } = await fresh();
      const made = await create(store, ns, 'K');
      const written = await Promise.all(
        Array.from({ length: 5 }, (_, i) => store.change(made, { metadata: {}, value: sealer(`w${i}`), by: `w${i}` }, new Date())),
      );
      expect(written.map((s) => s.version).sort()).toEqual([2, 3, 4, 5, 6]);
      expect((await store.findLive(ns, { id: made.id }, new Date()))?.version).toBe(6);
    });

    it('renames, refusing a name another live secret holds, with no new version current', async () => {
      const { store, ns } = await fresh();
      const a = await create(store, ns, 'A', 'a1');
      await create(store, ns, 'B');
      await expect(store.change(a, { metadata: {}, name: 'B', value: sealer('a2'), by: 'key-a' }, new Date())).rejects.toBeInstanceOf(SecretNameTakenError);
      const still = (await store.findLive(ns, { name: 'A' }, new Date()))!;
      expect(still.version).toBe(1);
      expect(open((await store.sealedCurrent([still])).get(a.id))).toBe('a1');
      const renamed = await store.change(still, { metadata: {}, name: 'C', by: 'key-a' }, new Date());
      expect(renamed.name).toBe('C');
      expect(await store.findLive(ns, { name: 'A' }, new Date())).toBeNull();
      expect((await store.findLive(ns, { name: 'C' }, new Date()))?.id).toBe(a.id);
      await create(store, ns, 'A');
    });

    it('a refused change gives its number up without refusing the next writer that expects the version still current', async () => {
      const { store, ns } = await fresh();
      const a = await create(store, ns, 'A', 'a1');
      await create(store, ns, 'B');
      await expect(store.change(a, { metadata: {}, name: 'B', value: sealer('a2'), by: 'key-a' }, new Date())).rejects.toBeInstanceOf(SecretNameTakenError);
      const next = await store.change(a, { metadata: {}, value: sealer('a3'), expected: 1, by: 'key-a' }, new Date());
      expect(next.version).toBeGreaterThan(1);
      expect(open(await store.sealedVersion(next, next.version))).toBe('a3');
    });

    it('a reserved version refuses writers that expect the version before it until it is made current or released', async () => {
      const { store, ns } = await fresh();
      const made = await create(store, ns, 'K', 'one');
      const races = await Promise.allSettled([1, 2, 3].map((i) => store.reserve(made, sealer(`r${i}`), 1, `r${i}`, new Date())));
      const held = races.filter((r) => r.status === 'fulfilled');
      expect(held).toHaveLength(1);
      for (const r of races) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(VersionMismatchError);
      const reservation = (held[0] as PromiseFulfilledResult<Awaited<ReturnType<SecretStore['reserve']>>>).value;
      await expect(store.change(made, { metadata: {}, value: sealer('cas'), expected: 1, by: 'w' }, new Date())).rejects.toBeInstanceOf(VersionMismatchError);
      // Still version 1 to every reader until the change that makes it current.
      expect((await store.findLive(ns, { id: made.id }, new Date()))?.version).toBe(1);
      const changed = await store.change(made, { metadata: {}, reserved: reservation, by: 'r' }, new Date());
      expect(changed.version).toBe(reservation.version);
      expect(open((await store.sealedCurrent([changed])).get(made.id))).toMatch(/^r\d$/);

      // Released: never current, and the version it followed can be written after it.
      const second = await store.reserve(changed, sealer('given-up'), changed.version, 'r', new Date());
      await store.release(second);
      const found = (await store.findLive(ns, { id: made.id }, new Date()))!;
      expect(found.version).toBe(changed.version);
      expect(open((await store.sealedCurrent([found])).get(made.id))).not.toBe('given-up');
      const after = await store.change(found, { metadata: {}, value: sealer('after'), expected: found.version, by: 'w' }, new Date());
      expect(open((await store.sealedCurrent([after])).get(made.id))).toBe('after');
      expect((await store.listVersions(after, { first: 10 })).items.map((v) => v.version)).not.toContain(second.version);
    });

    it('keeps SECRET_VERSIONS_KEPT versions: older ones are neither listed nor opened', async () => {
      const { store, ns } = await fresh({ versionsKept: 3 });
      let secret = await create(store, ns, 'K', 'v1');
      for (let v = 2; v <= 5; v++) secret = await store.change(secret, { metadata: {}, value: sealer(`v${v}`), by: 'key-a' }, new Date());
      const listed = await store.listVersions(secret, { first: 10 });
      expect(listed.items.map((v) => v.version)).toEqual([5, 4, 3]);
      const paged = await store.listVersions(secret, { first: 1, before: 5 });
      expect([paged.items.map((v) => v.version), paged.hasNextPage]).toEqual([[4], true]);
      expect(await store.sealedVersion(secret, 2)).toBeNull();
      expect(open(await store.sealedVersion(secret, 3))).toBe('v3');
    });
  });

  describe('delete, restore and purge', () => {
    it('a deleted secret frees its name, is listed with its window, and comes back under its id', async () => {
      const { store, ns } = await fresh();
      const made = await create(store, ns, 'K', 'kept');
      const at = new Date();
      const deleted = await store.softDelete(made, 'key-b', at);
      expect(deleted).toMatchObject({ id: made.id, lastUpdatedBy: 'key-b' });
      expect(deleted?.deletedAt?.getTime()).toBe(at.getTime());
      expect(deleted?.purgeAt?.getTime()).toBe(at.getTime() + 7 * 24 * 3600 * 1000);
      expect(await store.softDelete(made, 'key-b', new Date())).toBeNull();
      expect(await store.findLive(ns, { id: made.id }, new Date())).toBeNull();
      expect((await store.listDeleted(ns, { first: 10 }, new Date())).items.map((s) => s.id)).toEqual([made.id]);
      const restored = await store.restore(ns, made.id, 'key-c', new Date(), () => ({}));
      expect(restored).toMatchObject({ id: made.id, name: 'K', deletedAt: null, purgeAt: null, lastUpdatedBy: 'key-c' });
      const found = (await store.findLive(ns, { name: 'K' }, new Date()))!;
      expect(open((await store.sealedCurrent([found])).get(made.id))).toBe('kept');
      expect((await store.listDeleted(ns, { first: 10 }, new Date())).items).toEqual([]);
    });

    it('a restore is refused while another live secret holds the name, and for what is not there', async () => {
      const { store, ns, newProject } = await fresh();
      const made = await create(store, ns, 'K');
      await store.softDelete(made, 'key-a', new Date());
      await create(store, ns, 'K');
      await expect(store.restore(ns, made.id, 'key-a', new Date(), () => ({}))).rejects.toBeInstanceOf(SecretNameTakenError);
      expect(await store.restore({ projectId: await newProject(), environment: DEFAULT_ENVIRONMENT }, made.id, 'key-a', new Date(), () => ({}))).toBe(
        'not_found',
      );
      expect(await store.restore(ns, '0123456789abcdef01234567', 'key-a', new Date(), () => ({}))).toBe('not_found');
    });

    it('lists deletions newest first, a page at a time', async () => {
      const { store, ns } = await fresh();
      const made = [];
      for (const name of ['A', 'B', 'C']) made.push(await create(store, ns, name));
      for (const [i, secret] of made.entries()) await store.softDelete(secret, 'key-a', new Date(Date.now() + i));
      const first = await store.listDeleted(ns, { first: 2 }, later(10));
      expect([names(first.items), first.hasNextPage]).toEqual([['C', 'B'], true]);
      const last = first.items.at(-1)!;
      const rest = await store.listDeleted(ns, { first: 2, after: { deletedAt: last.deletedAt!, id: last.id } }, later(10));
      expect([names(rest.items), rest.hasNextPage]).toEqual([['A'], false]);
    });

    it('with no recovery window, a delete purges at once', async () => {
      const { store, ns } = await fresh({ recoveryWindowMs: 0 });
      const made = await create(store, ns, 'K');
      expect(await store.softDelete(made, 'key-a', new Date())).not.toBeNull();
      expect((await store.listDeleted(ns, { first: 10 }, new Date())).items).toEqual([]);
      expect(await store.restore(ns, made.id, 'key-a', new Date(), () => ({}))).toBe('not_found');
    });

    it('keeps at most PROJECT_DELETED_LIMIT deletions: the oldest go first', async () => {
      const { store, ns } = await fresh({ projectDeletedLimit: 2 });
      for (const [i, name] of ['A', 'B', 'C'].entries()) await store.softDelete(await create(store, ns, name), 'key-a', new Date(Date.now() + i));
      expect(names((await store.listDeleted(ns, { first: 10 }, later(10))).items)).toEqual(['C', 'B']);
    });

    it('the sweep purges what is past its window, and a purged secret cannot be restored', async () => {
      const { store, ns } = await fresh({ recoveryWindowMs: 1_000 });
      const gone = await create(store, ns, 'GONE');
      const kept = await create(store, ns, 'KEPT');
      const at = new Date();
      await store.softDelete(gone, 'key-a', at);
      expect(await store.restore(ns, gone.id, 'key-a', new Date(at.getTime() + 2_000), () => ({}))).toBe('not_found');
      expect(await store.sweep(new Date(at.getTime() + 2_000), 100, 10_000)).toBe(1);
      expect((await store.listDeleted(ns, { first: 10 }, new Date(at.getTime() + 2_000))).items).toEqual([]);
      expect(names(await store.listAllLive(ns, new Date()))).toEqual([kept.name]);
    });
  });

  describe('expiry', () => {
    it('an expired secret is gone at its expiry, reported once, and restorable with new expiry fields', async () => {
      const { store, ns, expired } = await fresh();
      const expiresAt = later(60_000);
      const made = await create(store, ns, 'SHORT', 'v', { expiresAt });
      const past = new Date(expiresAt.getTime() + 1);
      expect(await store.findLive(ns, { id: made.id }, past)).toBeNull();
      expect(await store.listAllLive(ns, past)).toEqual([]);
      const deleted = await store.listDeleted(ns, { first: 10 }, past);
      expect(deleted.items.map((s) => [s.id, s.deletedAt?.getTime()])).toEqual([[made.id, expiresAt.getTime()]]);
      expect(expired.map((s) => s.id)).toEqual([made.id]);
      await store.sweep(past, 100, 10_000);
      expect(expired).toHaveLength(1);
      const restored = await store.restore(ns, made.id, 'key-a', past, () => ({ expiresAt: null }));
      expect(restored).toMatchObject({ id: made.id, expiresAt: null, deletedAt: null });
      expect((await store.findLive(ns, { name: 'SHORT' }, later(120_000)))?.id).toBe(made.id);
    });

    it('an expired holder gives its name up to a create', async () => {
      const { store, ns } = await fresh();
      const expiresAt = later(5);
      const old = await create(store, ns, 'NAME', 'v', { expiresAt });
      const past = new Date(expiresAt.getTime() + 1);
      const made = await store.create(ns, draft('NAME'), sealer('new'), past);
      expect(made.id).not.toBe(old.id);
      expect((await store.findLive(ns, { name: 'NAME' }, later(10)))?.id).toBe(made.id);
    });
  });

  describe('idempotency records', () => {
    const record = (at = new Date(), ttl = 60_000) => ({ fingerprint: 'f1', keyId: 'k1', createdAt: at, expiresAt: new Date(at.getTime() + ttl) });

    it('a key is claimed once, then holds its result until released', async () => {
      const { store, ns } = await fresh();
      const { idempotency } = store;
      expect(await idempotency.claim(ns, 'key-1', record())).toBeNull();
      expect(await idempotency.claim(ns, 'key-1', record())).toMatchObject({ fingerprint: 'f1', keyId: 'k1', result: null });
      const made = await create(store, ns, 'K');
      await idempotency.complete(ns, 'key-1', made);
      await idempotency.release(ns, 'key-1', true);
      const held = await idempotency.claim(ns, 'key-1', record());
      expect(held?.result).toMatchObject({ id: made.id, name: 'K', version: 1 });
      expect(held?.result?.createdAt).toBeInstanceOf(Date);
      expect(held?.result?.createdAt.getTime()).toBe(made.createdAt.getTime());
      await idempotency.release(ns, 'key-1');
      expect(await idempotency.claim(ns, 'key-1', record())).toBeNull();
    });

    it('keys are per environment, and of racing claims exactly one takes a key', async () => {
      const { store, ns } = await fresh();
      await store.environments.create(ns.projectId, 'staging', 'Staging', new Date());
      expect(await store.idempotency.claim(ns, 'k', record())).toBeNull();
      const claims = await Promise.all(Array.from({ length: 6 }, () => store.idempotency.claim({ ...ns, environment: 'staging' }, 'k', record())));
      expect(claims.filter((c) => c === null)).toHaveLength(1);
    });

    it('the sweep forgets expired records', async () => {
      const { store, ns } = await fresh();
      const at = new Date();
      await store.idempotency.claim(ns, 'old', record(at, 1_000));
      await store.idempotency.claim(ns, 'young', record(at, 60_000));
      await store.sweep(new Date(at.getTime() + 2_000), 100, 10_000);
      expect(await store.idempotency.claim(ns, 'old', record())).toBeNull();
      expect(await store.idempotency.claim(ns, 'young', record())).not.toBeNull();
    });
  });

  describe('sealed values, for master-key rotation', () => {
    it('finds them by master key, skips those asked, and replaces them in place', async () => {
      // A master key id of this test's own: a store's seals are store-wide, and other tests' are under "k1".
      const oldId = `old-${randomBytes(4).toString('hex')}`;
      const old = createKeyring(oldId, [[oldId, generateKey()]]);
      const { store, ns } = await fresh();
      const sealOld =
        (value: string): Sealer =>
        (context) =>
          sealValue(old, value, context);
      const a = await store.create(ns, draft('A'), sealOld('a1'), new Date());
      await store.change(a, { metadata: {}, value: sealOld('a2'), by: 'key-a' }, new Date());
      const b = await store.create(ns, draft('B'), sealOld('b1'), new Date());
      const counted = (await store.seals.countByKey('new'))[old.activeId];
      const found = await store.seals.under([old.activeId], 100, []);
      // Each version at least once (a store may keep a copy of the current one too).
      expect(found.length).toBe(counted);
      expect(new Set(found.map((seal) => `${seal.value.context.secretId}:${seal.value.context.version}`))).toEqual(
        new Set([`${a.id}:1`, `${a.id}:2`, `${b.id}:1`]),
      );
      expect(await store.seals.under([old.activeId], 100, [found[0]!.id])).toHaveLength(found.length - 1);

      const rotated = createKeyring('new', [['new', generateKey()], ...old.keys]);
      const replaced = await store.seals.replace(found.map((seal) => ({ seal, sealed: rewrapDataKey(rotated, seal.value.sealed, seal.value.context) })));
      expect(replaced).toBe(found.length);
      expect((await store.seals.countByKey('new'))[old.activeId]).toBeUndefined();
      expect(await store.seals.under([old.activeId], 100, [])).toEqual([]);
      // Only the new key is needed now.
      const onlyNew = createKeyring('new', [['new', rotated.keys.get('new')!]]);
      const openNew = (v: SealedVersion | null | undefined) => openValue(onlyNew, v!.sealed, v!.context);
      // Listed without their sealed values, so that these are read anew.
      const live = await store.listAllLive(ns, new Date());
      const current = await store.sealedCurrent(live);
      expect([openNew(current.get(a.id)), openNew(current.get(b.id)), openNew(await store.sealedVersion(live[0]!, 1))]).toEqual(['a2', 'b1', 'a1']);
    });
  });

  describe('snapshots', () => {
    it('pin copies of the versions they name, one name per environment, until deleted or their secret purged', async () => {
      const { store, ns } = await fresh({ recoveryWindowMs: 1_000 });
      const a = await create(store, ns, 'A', 'a1');
      const b = await create(store, ns, 'B', 'b1');
      const entry = async (s: SecretRecord) => ({
        secretId: s.id,
        name: s.name,
        version: s.version,
        versionCreatedAt: s.createdAt,
        sealed: (await store.sealedVersion(s, s.version))!,
      });
      const at = new Date();
      const snap = await store.snapshots.create(ns, 'one', [await entry(a), await entry(b)], 'key-a', at);
      expect(snap).toMatchObject({ projectId: ns.projectId, environment: ns.environment, name: 'one', createdBy: 'key-a' });
      expect(snap.entries.map((e) => [e.name, e.version])).toEqual([
        ['A', 1],
        ['B', 1],
      ]);
      await expect(store.snapshots.create(ns, 'one', [], 'key-a', at)).rejects.toBeInstanceOf(SnapshotNameTakenError);
      const elsewhere = { ...ns, environment: 'other' };
      await store.environments.create(ns.projectId, 'other', 'Other', at);
      await store.snapshots.create(elsewhere, 'one', [], 'key-a', at);
      expect((await store.snapshots.list(ns)).map((t) => t.id)).toEqual([snap.id]);
      expect((await store.snapshots.find(ns.projectId, snap.id))?.name).toBe('one');
      expect(await store.snapshots.find(await (await kind.make()).newProject(), snap.id)).toBeNull();

      const changed = await store.change(a, { metadata: {}, value: sealer('a2'), by: 'key-a' }, new Date());
      const [pin] = await store.snapshots.pinsOf(changed);
      expect(pin).toMatchObject({ snapshotId: snap.id, version: 1, pinnedAt: at });
      expect(open(pin!.sealed)).toBe('a1');
      expect((await store.listVersions(changed, { first: 10 })).items.map((v) => v.version)).toEqual([2, 1]);

      // A purge takes its secret's pins; deleting the snapshot takes the rest.
      await store.softDelete(b, 'key-a', at);
      await store.sweep(new Date(at.getTime() + 2_000), 100, 10_000);
      expect(await store.snapshots.pinsOf(b)).toEqual([]);
      expect(await store.snapshots.remove(ns.projectId, snap.id)).toBe(true);
      expect(await store.snapshots.remove(ns.projectId, snap.id)).toBe(false);
      expect(await store.snapshots.pinsOf(changed)).toEqual([]);
      expect(await store.snapshots.list(ns)).toEqual([]);
    });
  });

  describe('environments', () => {
    it('lists "default" first (as old as its project), then by slug; refuses a slug taken', async () => {
      const { store, newProject } = await fresh();
      const createdAt = new Date('2026-01-02T03:04:05Z');
      const projectId = await newProject(createdAt);
      const envs = store.environments;
      await envs.create(projectId, 'staging', 'Staging', new Date());
      await envs.create(projectId, 'prod', 'Production', new Date());
      await expect(envs.create(projectId, 'prod', 'Again', new Date())).rejects.toBeInstanceOf(EnvironmentTakenError);
      const listed = await envs.list(projectId);
      expect(listed.map((e) => [e.slug, e.name])).toEqual([
        ['default', 'Default'],
        ['prod', 'Production'],
        ['staging', 'Staging'],
      ]);
      expect(listed[0]!.createdAt.getTime()).toBe(createdAt.getTime());
      expect(await envs.exists({ projectId, environment: 'prod' })).toBe(true);
      expect(await envs.exists({ projectId, environment: 'qa' })).toBe(false);
      expect(await envs.find({ projectId, environment: 'qa' })).toBeNull();
    });

    it('renames, "default" included', async () => {
      const { store, ns } = await fresh();
      const envs = store.environments;
      expect((await envs.update(ns, { name: 'Main' }))?.name).toBe('Main');
      expect((await envs.find(ns))?.name).toBe('Main');
      expect(await envs.update({ ...ns, environment: 'qa' }, { name: 'QA' })).toBeNull();
      await envs.create(ns.projectId, 'qa', 'qa', new Date());
      expect((await envs.update({ ...ns, environment: 'qa' }, { name: 'QA' }))?.name).toBe('QA');
      expect((await envs.list(ns.projectId)).map((e) => e.name)).toEqual(['Main', 'QA']);
    });

    it('removes only an empty environment, counting what it holds, live and deleted', async () => {
      const { store, ns } = await fresh();
      const qa = { ...ns, environment: 'qa' };
      await store.environments.create(ns.projectId, 'qa', 'QA', new Date());
      expect(await store.environments.isOpen(qa)).toBe(true);
      await create(store, qa, 'A');
      await store.softDelete(await create(store, qa, 'B'), 'key-a', new Date());
      expect(await store.environments.remove(qa, new Date())).toEqual({ live: 1, deleted: 1 });
      expect(await store.environments.isOpen(qa)).toBe(true);

      const empty = { ...ns, environment: 'empty' };
      await store.environments.create(ns.projectId, 'empty', 'Empty', new Date());
      expect(await store.environments.remove(empty, new Date())).toBe('removed');
      expect(await store.environments.isOpen(empty)).toBe(false);
      expect(await store.environments.remove(empty, new Date())).toBe('not_found');
      await expect(create(store, empty, 'X')).rejects.toBeInstanceOf(EnvironmentNotFoundError);
    });
  });

  it('a change to a secret that is gone is refused or leaves it gone', async () => {
    const { store, ns } = await fresh({ recoveryWindowMs: 0 });
    const made = await create(store, ns, 'K');
    await store.softDelete(made, 'key-a', new Date());
    await store
      .change(made, { metadata: { description: 'late' }, by: 'key-a' }, new Date())
      .catch((err: unknown) => expect(err).toBeInstanceOf(SecretNotFoundError));
    expect(await store.findLive(ns, { id: made.id }, new Date())).toBeNull();
  });
});
