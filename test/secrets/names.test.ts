// One live secret per name, and the quota, under any interleaving and any
// clocks: the write that makes a secret live or renames it is refused by the
// unique nameKey and slotKey of the secret document itself. Two nodes on one
// database, one of them an hour off.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { doorClient } from '../helpers/doors.ts';

const HOUR = 3_600_000;
let node: TestApp;
let skewed: TestApp;
let apiKey: string;

beforeAll(async () => {
  node = await startTestApp({ limits: { projectSecretLimit: 12 } });
  // Its clock is an hour behind: the old claims took a claim this old for abandoned.
  skewed = await startTestApp({
    now: () => new Date(Date.now() - HOUR),
    limits: { projectSecretLimit: 12 },
    dbName: node.connection.name,
    masterKey: node.masterKey,
  });
  ({ apiKey } = await node.createProject('names'));
});
afterAll(async () => {
  await skewed.close({ keepDatabase: true });
  await node.close();
});

/** The project's Together door on either node. */
const together = (app: TestApp) => doorClient(app.baseUrl, apiKey, 'bearer', '/v1/deployments/secrets');
const create = (app: TestApp, name: string) => together(app)('POST', '', { body: { name, value: `value of ${name}` } });
const rename = (app: TestApp, id: string, name: string) => together(app)('PATCH', `/${id}`, { body: { name } });
const remove = (app: TestApp, id: string) => together(app)('DELETE', `/${id}`);

/** Every live secret of the project: no two share a name or a slot, each document's keys say its name and slot. */
async function expectOneLiveSecretPerName() {
  const live = await node.models.Secret.find({ deletedAt: null }).lean();
  const names = live.map((s) => s.name);
  expect(new Set(names).size).toBe(names.length);
  expect(new Set(live.map((s) => s.slot)).size).toBe(live.length);
  for (const s of live) {
    expect(s.nameKey).toBe(`${s.projectId.toHexString()}/${s.name}`);
    expect(s.slotKey).toBe(`${s.projectId.toHexString()}/${s.slot}`);
    expect(s.slot).toBeLessThan(12);
  }
  return live;
}

describe('one live secret per name', () => {
  it('two concurrent renames of one secret and a create, on two nodes an hour apart, never leave two live secrets with one name', async () => {
    for (let round = 0; round < 8; round++) {
      const made = await create(node, `R${round}-A`);
      expect(made.status).toBe(200);
      const [r1, r2, c1, c2] = await Promise.all([
        rename(node, made.body.id, `R${round}-B`),
        rename(skewed, made.body.id, `R${round}-C`),
        create(skewed, `R${round}-B`),
        create(node, `R${round}-C`),
      ]);
      for (const res of [r1, r2, c1, c2]) expect([200, 400, 409]).toContain(res.status);
      const live = await expectOneLiveSecretPerName();
      // What was acknowledged is what is stored: each successful create holds its name,
      // and the renamed secret holds the name of one of the renames that succeeded.
      for (const c of [c1, c2].filter((res) => res.status === 200)) expect(live.find((s) => s._id.toHexString() === c.body.id)?.name).toBe(c.body.name);
      const renamed = live.find((s) => s._id.toHexString() === made.body.id)!;
      const acknowledged = [r1, r2].filter((r) => r.status === 200).map((r) => r.body.name);
      expect([`R${round}-A`, ...acknowledged]).toContain(renamed.name);
      for (const s of live) await remove(node, s._id.toHexString());
    }
  }, 120_000);

  it('twenty creates of one name split across the two nodes: exactly one succeeds, the others are told the name is taken', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => create(i % 2 ? skewed : node, 'CONTESTED')));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(19);
    await expectOneLiveSecretPerName();
    await remove(node, results.find((r) => r.status === 200)!.body.id);
  });

  it('the quota holds across the two nodes: of 20 creates racing for the last free slots, exactly as many as there are succeed', async () => {
    for (let i = 0; i < 9; i++) expect((await create(i % 2 ? skewed : node, `FILL-${i}`)).status).toBe(200);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => create(i % 2 ? skewed : node, `LAST-${i}`)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    expect(results.filter((r) => r.status === 400).length).toBe(17);
    expect((await expectOneLiveSecretPerName()).length).toBe(12);
  });
});
