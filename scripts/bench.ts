// npm run bench [-- --secrets N --duration S --warmup S --connections C]
//
// Measures what one request costs our service, beside a bare node:http
// baseline doing the same work on the same engine (scripts/bench/baseline.ts).
// The embedded FerretDB scans whole collections, so engine time grows with the
// number of secrets and says nothing about us: the figures that matter are
// engine-neutral, per request: server CPU (from /proc/<pid>/stat of the server
// process) and database commands (the driver's command monitoring). Also
// req/s, p50/p99 latency and peak RSS. Load comes from a separate process
// (autocannon). Prints a table and writes the same as JSON under results/.
// With MONGODB_URI set, runs against that MongoDB instead.
import { type ChildProcess, execFileSync, execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Types } from 'mongoose';
import { apiKeyPrefix, generateApiKey, hashApiKey } from '../src/auth/api-key.ts';
import { projectRoot } from '../src/config.ts';
import { createKeyring, sealValue } from '../src/crypto/envelope.ts';
import { connectDatabase } from '../src/db/connect.ts';
import { createModels, ensureIndexes } from '../src/db/models/index.ts';
import { freePort, startBenchEngine, startServerProcess } from './bench/common.ts';
import { insertSeeded, seedDocuments } from '../src/secrets/mongo-store.ts';

const { values: args } = parseArgs({
  options: {
    secrets: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '8' },
    'count-requests': { type: 'string', default: '40' },
  },
});
const N = Number(args.secrets);
const DURATION = Number(args.duration);
const WARMUP = Number(args.warmup);
const CONNECTIONS = Number(args.connections);
const COUNT_REQUESTS = Number(args['count-requests']);
const CLK_TCK = Number(execSync('getconf CLK_TCK').toString().trim()) || 100;
const masterKey = randomBytes(32);
const keyring = createKeyring('default', [['default', masterKey]]);

type Target = 'ours' | 'baseline';
interface Scenario {
  name: string;
  method: string;
  /** Path on our service, and on the baseline (null: no baseline of its own). */
  ours: string;
  baseline: string;
  body: string;
  /** Which baseline scenario is its floor. */
  floor: string;
}

const SCENARIOS: Scenario[] = [
  { name: 'REST create', method: 'POST', ours: '/api/secrets', baseline: '/secrets', body: 'create', floor: 'REST create' },
  { name: 'REST update', method: 'PUT', ours: '/api/secrets/:id', baseline: '/secrets/:id', body: 'update', floor: 'REST update' },
  { name: 'REST get by id', method: 'GET', ours: '/api/secrets/:id', baseline: '/secrets/:id', body: 'none', floor: 'REST get by id' },
  { name: 'REST list (all)', method: 'GET', ours: '/api/secrets', baseline: '/secrets', body: 'none', floor: 'REST list (all)' },
  { name: 'GraphQL createSecret', method: 'POST', ours: '/graphql', baseline: '/secrets', body: 'graphql:create', floor: 'REST create' },
  { name: 'GraphQL updateSecret', method: 'POST', ours: '/graphql', baseline: '/secrets/:id', body: 'graphql:update', floor: 'REST update' },
  { name: 'GraphQL secret(id)', method: 'POST', ours: '/graphql', baseline: '/secrets/:id', body: 'graphql:get', floor: 'REST get by id' },
  { name: 'GraphQL secrets(first: 50)', method: 'POST', ours: '/graphql', baseline: '/secrets?limit=50', body: 'graphql:list', floor: 'list 50' },
];
const BASELINE_ONLY: Scenario = { name: 'list 50', method: 'GET', ours: '', baseline: '/secrets?limit=50', body: 'none', floor: 'list 50' };

// ---- the engine and the data -----------------------------------------------------

const engine = await startBenchEngine('secrets-bench-');
const engineUri = engine.uriOf;
console.error(`engine: ${engine.kind}; ${N} secrets; ${DURATION} s per scenario after ${WARMUP} s warm-up; ${CONNECTIONS} connections`);

/** Writes `count` secrets straight into the database, in the service's shapes (sealed values, name and slot keys). */
async function seed(dbName: string, count: number, existing?: { projectId: string; apiKey: string }) {
  const connection = await connectDatabase(engine.uri, { dbName });
  const models = createModels(connection);
  await ensureIndexes(models);
  let projectId = existing ? new Types.ObjectId(existing.projectId) : new Types.ObjectId();
  let apiKey = existing?.apiKey ?? generateApiKey();
  if (!existing) {
    await models.Project.create({ _id: projectId, name: 'bench', createdAt: new Date() });
    await models.ApiKey.create({ projectId, name: 'bench', hash: hashApiKey(apiKey), prefix: apiKeyPrefix(apiKey), createdAt: new Date() });
  }
  // Free slot numbers for the new secrets (creates during a run took random ones).
  const used = new Set((await models.Secret.find({ projectId, deletedAt: null }, { slot: 1 }).lean()).map((s) => s.slot));
  const freeSlots: number[] = [];
  for (let slot = 0; freeSlots.length < count; slot++) if (!used.has(slot)) freeSlots.push(slot);
  const start = used.size;
  for (let from = 0; from < count; from += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - from) }, (_, i) => {
      const index = start + from + i;
      return seedDocuments(
        { projectId: projectId.toHexString(), environment: 'default' },
        { name: `SEED_${String(index).padStart(7, '0')}`, slot: freeSlots[from + i]!, createdBy: 'seed' },
        (context) => sealValue(keyring, `seed-value-${index}`, context),
      );
    });
    await insertSeeded(models, batch);
  }
  const ids = (await models.Secret.find({ projectId }, { _id: 1 }).limit(200).lean()).map((d) => d._id.toHexString());
  await connection.close();
  return { projectId: projectId.toHexString(), apiKey, ids };
}

// ---- servers ------------------------------------------------------------------------

interface Server {
  readonly child: ChildProcess;
  readonly base: string;
  commands(): Promise<number>;
  stop(): Promise<void>;
}

async function startServer(target: Target, dbName: string): Promise<Server> {
  const port = await freePort();
  const env = {
    ...process.env,
    MONGODB_URI: engineUri(dbName),
    SECRETS_MASTER_KEY: masterKey.toString('base64'),
    PORT: String(port),
    BENCH_PORT: String(port),
    RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    PROJECT_SECRET_LIMIT: String(N * 100),
    BENCH_MONGODB_URI: engine.uri,
    BENCH_DB: dbName,
    BENCH_MASTER_KEY: masterKey.toString('base64'),
  };
  const script = target === 'ours' ? 'src/main.ts' : 'scripts/bench/baseline.ts';
  // Logging at warn (no per-request lines) for both; readiness is probed.
  const { child, base, stop } = await startServerProcess(`${target} server`, script, env, port, target === 'ours' ? '/healthz' : '/stats');
  return {
    child,
    base,
    stop,
    async commands() {
      if (target === 'baseline') return ((await (await fetchRetrying(`${base}/stats`)).json()) as { commands: number }).commands;
      const text = await (await fetchRetrying(`${base}/metrics`)).text();
      return [...text.matchAll(/^db_commands_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    },
  };
}

/** A server may close an idle keep-alive connection just as it is reused: try again once. */
async function fetchRetrying(url: string): Promise<Response> {
  try {
    return await fetch(url);
  } catch {
    return fetch(url);
  }
}

function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after "pid (comm) ".
  return ((Number(fields[11]) + Number(fields[12])) / CLK_TCK) * 1e6;
}

function peakRssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
  return line ? Math.round(Number(line[1]) / 1024) : 0;
}

function load(job: Record<string, unknown>) {
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'scripts/bench/load.ts'), JSON.stringify(job)], {
    cwd: projectRoot,
    maxBuffer: 1 << 24,
  });
  return JSON.parse(out.toString().trim().split('\n').at(-1)!) as { requests: number; non2xx: number; errors: number; rps: number; p50: number; p99: number };
}

interface Row {
  target: Target;
  scenario: string;
  requests: number;
  non2xx: number;
  rps: number;
  p50: number;
  p99: number;
  cpuMicrosPerRequest: number;
  commandsPerRequest: number;
}

async function measure(server: Server, target: Target, scenario: Scenario, seeded: { apiKey: string; ids: string[] }): Promise<Row> {
  const job = {
    url: server.base,
    method: scenario.method,
    path: target === 'ours' ? scenario.ours : scenario.baseline,
    headers: { 'x-auth-token': seeded.apiKey },
    body: target === 'ours' ? scenario.body : scenario.body.replace(/^graphql:/, '').replace(/^(get|list)$/, 'none'),
    ids: seeded.ids,
    connections: CONNECTIONS,
    warmupSeconds: 0,
  };
  if (WARMUP > 0) load({ ...job, durationSeconds: WARMUP });
  const cpu0 = cpuMicros(server.child.pid!);
  const cmd0 = await server.commands();
  const result = load({ ...job, durationSeconds: DURATION });
  const cpu1 = cpuMicros(server.child.pid!);
  const cmd1 = await server.commands();
  const requests = Math.max(1, result.requests);
  return {
    target,
    scenario: scenario.name,
    requests: result.requests,
    non2xx: result.non2xx,
    rps: Math.round(result.rps),
    p50: result.p50,
    p99: result.p99,
    cpuMicrosPerRequest: Math.round((cpu1 - cpu0) / requests),
    // The metrics scrape itself sends no database command.
    commandsPerRequest: Number(((cmd1 - cmd0) / requests).toFixed(2)),
  };
}

/** Database commands per request over a fixed, small number of sequential requests. */
async function commandsPerRequest(server: Server, scenario: Scenario, seeded: { apiKey: string; ids: string[] }) {
  const cmd0 = await server.commands();
  const sent = load({
    url: server.base, method: scenario.method, path: scenario.ours, headers: { 'x-auth-token': seeded.apiKey },
    body: scenario.body, ids: seeded.ids, connections: 1, warmupSeconds: 0, durationSeconds: 0, amount: COUNT_REQUESTS,
  });
  return Number((((await server.commands()) - cmd0) / Math.max(1, sent.requests)).toFixed(2));
}

// ---- run ------------------------------------------------------------------------------

const rows: Row[] = [];
const peakRss: Record<Target, number> = { ours: 0, baseline: 0 };
const commandsAt10N: Record<string, number> = {};
const run = `${Date.now()}`;
try {
  for (const target of ['baseline', 'ours'] as const) {
    const dbName = `bench_${target}_${run}`;
    const seeded = await seed(dbName, N);
    const server = await startServer(target, dbName);
    try {
      const scenarios = target === 'ours' ? SCENARIOS : [...SCENARIOS.slice(0, 4), BASELINE_ONLY];
      for (const scenario of scenarios) {
        console.error(`${target}: ${scenario.name}`);
        rows.push(await measure(server, target, scenario, seeded));
      }
      peakRss[target] = peakRssMb(server.child.pid!);
    } finally {
      await server.stop();
    }
    if (target === 'ours') {
      console.error(`ours: growing to ${10 * N} secrets to count commands per request again`);
      await seed(dbName, 9 * N, seeded);
      const big = await startServer('ours', dbName);
      try {
        for (const scenario of SCENARIOS) commandsAt10N[scenario.name] = await commandsPerRequest(big, scenario, seeded);
      } finally {
        await big.stop();
      }
    }
  }
} finally {
  await engine.stop();
}

// ---- report ---------------------------------------------------------------------------

const ours = rows.filter((r) => r.target === 'ours');
const floorOf = (s: Scenario) => rows.find((r) => r.target === 'baseline' && r.scenario === s.floor)!;
const table = SCENARIOS.map((s) => {
  const o = ours.find((r) => r.scenario === s.name)!;
  const b = floorOf(s);
  return {
    scenario: s.name,
    'CPU µs/req': o.cpuMicrosPerRequest,
    'baseline µs/req': b.cpuMicrosPerRequest,
    'CPU ratio': Number((o.cpuMicrosPerRequest / Math.max(1, b.cpuMicrosPerRequest)).toFixed(2)),
    'req/s': o.rps,
    'baseline req/s': b.rps,
    'p50/p99 ms': `${o.p50}/${o.p99}`,
    [`cmds/req @${N}`]: o.commandsPerRequest,
    'baseline cmds/req': b.commandsPerRequest,
    [`cmds/req @${10 * N}`]: commandsAt10N[s.name],
    'non-2xx': o.non2xx,
  };
});
console.log(`\nengine: ${engine.kind}, ${N} secrets, ${DURATION} s per scenario, ${CONNECTIONS} connections, CPU from /proc/<pid>/stat`);
console.table(table);
console.log(`peak RSS: ours ${peakRss.ours} MB, baseline ${peakRss.baseline} MB`);

const resultsDir = path.join(projectRoot, 'results');
mkdirSync(resultsDir, { recursive: true });
const file = path.join(resultsDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify({ engine: engine.kind, secrets: N, durationSeconds: DURATION, connections: CONNECTIONS, table, rows, peakRss, commandsAt10N }, null, 2)}\n`);
console.log(`written: ${path.relative(projectRoot, file)}`);
