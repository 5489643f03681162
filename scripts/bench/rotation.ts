// npm run bench:rotation [-- --secrets N --readers R]
//
// Online master-key rotation at size: seeds N secrets (default 2000) sealed
// under an "old" master key, starts the service (a separate process, ring
// "new" active, "old" kept), and runs `npm run rotate-master-key`'s script
// while R reader loops (default 1) reveal random secrets through the service.
// Prints how long the rotation took, data keys re-wrapped per second, reads
// served during it and how many failed (a wrong value or any status but 200),
// then checks with a node holding the new key alone that every value opens.
// Writes the same as JSON under results/. With MONGODB_URI set, runs against
// that MongoDB instead of the embedded engine. Exits 1 if a read failed, the
// rotation did not finish, or a value does not open with the new key alone.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Types } from 'mongoose';
import { apiKeyPrefix, generateApiKey, hashApiKey } from '../../src/auth/api-key.ts';
import { projectRoot } from '../../src/config.ts';
import { createKeyring, sealValue } from '../../src/crypto/envelope.ts';
import { connectDatabase } from '../../src/db/connect.ts';
import { createModels, ensureIndexes } from '../../src/db/models/index.ts';
import { freePort, startBenchEngine, startServerProcess } from './common.ts';
import { insertSeeded, seedDocuments } from '../../src/secrets/mongo/store.ts';

const { values: args } = parseArgs({
  options: {
    secrets: { type: 'string', default: '2000' },
    readers: { type: 'string', default: '1' },
  },
});
const N = Number(args.secrets);
const READERS = Number(args.readers);
const oldKey = randomBytes(32);
const newKey = randomBytes(32);
const ringText = (ring: [string, Buffer][]) => ring.map(([id, key]) => `${id}:${key.toString('base64')}`).join(',');
const ROTATING: [string, Buffer][] = [
  ['new', newKey],
  ['old', oldKey],
];

const engine = await startBenchEngine('secrets-bench-rotation-');
const dbName = `bench_rotation_${Date.now()}`;
const dbUri = engine.uriOf(dbName);
console.error(`engine: ${engine.kind}; ${N} secrets; ${READERS} reader${READERS === 1 ? '' : 's'}`);

/** N secrets in the service's shapes, each value sealed under the old key; a key of their project that can reveal. */
async function seed() {
  const connection = await connectDatabase(engine.uri, { dbName });
  const models = createModels(connection);
  await ensureIndexes(models);
  const projectId = new Types.ObjectId();
  const apiKey = generateApiKey();
  await models.Project.create({ _id: projectId, name: 'bench rotation', createdAt: new Date() });
  await models.ApiKey.create({ projectId, name: 'bench', hash: hashApiKey(apiKey), prefix: apiKeyPrefix(apiKey), createdAt: new Date() });
  const oldRing = createKeyring('old', [['old', oldKey]]);
  const ids: string[] = [];
  for (let from = 0; from < N; from += 1000) {
    const batch = Array.from({ length: Math.min(1000, N - from) }, (_, k) => {
      const i = from + k;
      const docs = seedDocuments(
        { projectId: projectId.toHexString(), environment: 'default' },
        { name: `ROTATED_${i}`, slot: i, createdBy: 'seed' },
        (context) => sealValue(oldRing, `rotated-value-${i}`, context),
      );
      ids.push(docs.secret._id.toHexString());
      return docs;
    });
    await insertSeeded(models, batch);
  }
  return { connection, models, apiKey, ids };
}

/** The service as a separate process on the bench database, with the given ring. */
async function startService(ring: [string, Buffer][]): Promise<{ base: string; stop(): Promise<void> }> {
  const port = await freePort();
  const env = {
    PATH: process.env.PATH!,
    MONGODB_URI: dbUri,
    SECRETS_MASTER_KEYS: ringText(ring),
    PORT: String(port),
    RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    PROJECT_SECRET_LIMIT: String(N),
  };
  return startServerProcess('the service', 'dist/main.js', env, port, '/healthz');
}

function runRotation(): { child: ChildProcess; done: Promise<{ code: number | null; out: string }> } {
  const child = spawn(process.execPath, ['dist/cli/rotate-master-key.js'], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH!, MONGODB_URI: dbUri, SECRETS_MASTER_KEYS: ringText(ROTATING) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, done: new Promise((resolve) => child.on('close', (code) => resolve({ code, out }))) };
}

let exitCode = 0;
try {
  console.error(`seeding ${N} secrets under the old key`);
  const seeded = await seed();
  const service = await startService(ROTATING);
  let reading = true;
  let reads = 0;
  let failedReads = 0;
  try {
    const reader = async () => {
      while (reading) {
        const i = Math.floor(Math.random() * N);
        const res = await fetch(`${service.base}/api/secrets/${seeded.ids[i]}/value`, { headers: { 'x-auth-token': seeded.apiKey } }).catch(() => undefined);
        const body = res?.ok ? ((await res.json()) as { value?: string }) : undefined;
        reads += 1;
        if (body?.value !== `rotated-value-${i}`) failedReads += 1;
      }
    };
    console.error('rotating while reads go on');
    const readers = Array.from({ length: READERS }, reader);
    const started = performance.now();
    const rotation = runRotation();
    const { code, out } = await rotation.done;
    const seconds = (performance.now() - started) / 1000;
    const readsDuring = reads;
    const failedDuring = failedReads;
    reading = false;
    await Promise.all(readers);
    await service.stop();

    const summary = out.match(/^re-wrapped .*$/m)?.[0] ?? '(no summary)';
    const rewrapped = Number(out.match(/^re-wrapped (\d+);/m)?.[1] ?? 0);
    const underOld = await seeded.models.SecretVersion.countDocuments({ keyId: { $ne: 'new' } });
    // A node holding the new key alone: does every value open?
    const after = await startService([['new', newKey]]);
    const res = await fetch(`${after.base}/api/secrets/values`, { headers: { 'x-auth-token': seeded.apiKey } });
    const { values = {} } = (await res.json()) as { values?: Record<string, string> };
    await after.stop();
    const intact = Array.from({ length: N }, (_, i) => values[`ROTATED_${i}`] === `rotated-value-${i}`).filter(Boolean).length;
    await seeded.connection.dropDatabase();
    await seeded.connection.close();

    const result = {
      engine: engine.kind,
      secrets: N,
      readers: READERS,
      rotationExitCode: code,
      rewrapped,
      seconds: Number(seconds.toFixed(1)),
      rewrappedPerSecond: Number((rewrapped / seconds).toFixed(1)),
      readsDuringRotation: readsDuring,
      readsPerSecond: Number((readsDuring / seconds).toFixed(1)),
      failedReads: failedDuring,
      leftUnderOtherKeys: underOld,
      intactWithNewKeyAlone: intact,
    };
    console.log(`\nengine: ${engine.kind}, ${N} secrets, ${READERS} reader${READERS === 1 ? '' : 's'} revealing during the rotation`);
    console.log(`rotation: ${summary} (exit ${code})`);
    console.log(`  ${result.seconds} s, ${result.rewrappedPerSecond} data keys/s`);
    console.log(`  reads served during it: ${readsDuring} (${result.readsPerSecond}/s), failed: ${failedDuring}`);
    console.log(`  afterwards: ${underOld} data keys under other keys; ${intact}/${N} values open with the new key alone`);
    const resultsDir = path.join(projectRoot, 'results');
    mkdirSync(resultsDir, { recursive: true });
    const file = path.join(resultsDir, `bench-rotation-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`written: ${path.relative(projectRoot, file)}`);
    if (code !== 0 || failedDuring > 0 || underOld > 0 || intact !== N) exitCode = 1;
  } finally {
    reading = false;
  }
} finally {
  await engine.stop();
}
process.exit(exitCode);
