// npm run bench [-- --secrets N --duration S --warmup S --connections C --peer openbao --growth 100,3000 --history 20000]
//
// Measures what one request costs our service (the compiled build, as npm
// start runs it), beside a bare node:http baseline doing the same work on the
// same engine (scripts/bench/baseline.ts) and, with --peer openbao and
// OPENBAO_BIN, beside OpenBao on raft storage (scripts/bench/openbao.ts).
// Per request: CPU of the server side from /proc/<pid>/stat (our Node
// process, and the embedded engine's), database commands (the driver's
// command monitoring), req/s, p50/p99 latency; peak RSS. Load comes from a
// separate process (autocannon). Prints tables and the targets it checks, and
// writes them as JSON, Markdown and an SVG chart under results/.
// With MONGODB_URI set, runs against that MongoDB instead.
import { type ChildProcess, execFileSync, execSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Types } from 'mongoose';
import { apiKeyPrefix, generateApiKey, hashApiKey } from '../src/auth/api-key.ts';
import { projectRoot } from '../src/config.ts';
import { createKeyring, sealValue } from '../src/crypto/envelope.ts';
import { connectDatabase } from '../src/db/connect.ts';
import { createModels, ensureIndexes } from '../src/db/models/index.ts';
import { freePort, startBenchEngine, startServerProcess } from './bench/common.ts';
import { openBaoMissing, startOpenBao } from './bench/openbao.ts';
import { writeChart } from './bench/chart.ts';
import { insertSeeded, seedDocuments } from '../src/secrets/mongo/store.ts';
import { HEAD_EVERY } from '../src/events/log.ts';

const { values: args } = parseArgs({
  options: {
    secrets: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '8' },
    'count-requests': { type: 'string', default: '40' },
    peer: { type: 'string' },
    growth: { type: 'string', default: '100,3000' },
    history: { type: 'string', default: '20000' },
  },
});
const N = Number(args.secrets);
const DURATION = Number(args.duration);
const WARMUP = Number(args.warmup);
const CONNECTIONS = Number(args.connections);
const COUNT_REQUESTS = Number(args['count-requests']);
const HISTORY = Number(args.history);
const CLK_TCK = Number(execSync('getconf CLK_TCK').toString().trim()) || 100;
const masterKey = randomBytes(32);
const keyring = createKeyring('default', [['default', masterKey]]);

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

type Target = 'ours' | 'baseline' | 'openbao';
interface Scenario {
  name: string;
  method: string;
  /** Path on our service, and on the baseline. */
  ours: string;
  baseline: string;
  body: string;
  /** Which baseline scenario is its floor (the baseline runs the scenarios that are their own floor). */
  floor: string;
}

const SCENARIOS: Scenario[] = [
  { name: 'REST create', method: 'POST', ours: '/api/secrets', baseline: '/secrets', body: 'create', floor: 'REST create' },
  { name: 'REST update', method: 'PUT', ours: '/api/secrets/:id', baseline: '/secrets/:id', body: 'update', floor: 'REST update' },
  { name: 'REST read value', method: 'GET', ours: '/api/secrets/:id/value', baseline: '/secrets/:id/value', body: 'none', floor: 'REST read value' },
  { name: 'REST get by id', method: 'GET', ours: '/api/secrets/:id', baseline: '/secrets/:id', body: 'none', floor: 'REST get by id' },
  { name: 'REST list (all)', method: 'GET', ours: '/api/secrets', baseline: '/secrets', body: 'none', floor: 'REST list (all)' },
  { name: 'GraphQL createSecret', method: 'POST', ours: '/graphql', baseline: '/secrets', body: 'graphql:create', floor: 'REST create' },
  { name: 'GraphQL updateSecret', method: 'POST', ours: '/graphql', baseline: '/secrets/:id', body: 'graphql:update', floor: 'REST update' },
  { name: 'GraphQL secret(id)', method: 'POST', ours: '/graphql', baseline: '/secrets/:id', body: 'graphql:get', floor: 'REST get by id' },
  { name: 'GraphQL secrets(first: 50)', method: 'POST', ours: '/graphql', baseline: '/secrets?limit=50', body: 'graphql:list', floor: 'list 50' },
];
const BASELINE_ONLY: Scenario = { name: 'list 50', method: 'GET', ours: '', baseline: '/secrets?limit=50', body: 'none', floor: 'list 50' };
/** The same work on OpenBao's KV v2: what each of our scenarios is beside. */
const PEER_SCENARIOS = [
  { name: 'create', ours: 'REST create', method: 'POST', path: '/v1/secret/data/:new', body: 'bao' },
  { name: 'update', ours: 'REST update', method: 'POST', path: '/v1/secret/data/:id', body: 'bao' },
  { name: 'read value', ours: 'REST read value', method: 'GET', path: '/v1/secret/data/:id', body: 'none' },
] as const;
/** The CPU per read and per update, service plus engine, at 1,000 secrets before reads went by _id (issue 15's measurement). */
const BEFORE_MICROS = { 'REST read value': 67_619, 'REST update': 154_685 } as const;
const GROWTH_SIZES = args.growth.split(',').filter(Boolean).map(Number);

/**
 * Writes `count` change events and as many audit records into the project, as
 * a long-lived project has them: the events numbered 1..count (with the head
 * the log keeps), the audit records one per change.
 */
async function seedHistory(dbName: string, projectId: string, count: number) {
  const connection = await connectDatabase(engine.uri, { dbName });
  const models = createModels(connection);
  const project = new Types.ObjectId(projectId);
  const secretId = new Types.ObjectId();
  const at = new Date();
  for (let from = 0; from < count; from += 1000) {
    const size = Math.min(1000, count - from);
    await models.SecretEvent.collection.insertMany(
      Array.from({ length: size }, (_, i) => ({
        _id: `${projectId}:${from + i + 1}`,
        projectId: project,
        seq: from + i + 1,
        type: 'updated',
        environment: 'default',
        secretId,
        secretName: 'HISTORY',
        version: from + i + 1,
        at,
        actorKeyId: null,
      })) as never[],
    );
    await models.AuditEvent.collection.insertMany(
      Array.from({ length: size }, (_, i) => ({
        at,
        projectId: project,
        keyId: null,
        door: 'langwatch',
        environment: 'default',
        operation: 'update',
        secretId,
        secretName: 'HISTORY',
        version: from + i + 1,
        outcome: 'success',
        requestId: null,
        reason: null,
        clientAddress: null,
        count: null,
      })),
    );
  }
  await models.SecretEventHead.collection.updateOne({ _id: projectId } as never, { $set: { seq: count - (count % HEAD_EVERY) } }, { upsert: true });
  await connection.close();
}

/** The median of `runs` wall times of a command, in seconds. */
function medianWallSeconds(runs: number, command: string, commandArgs: string[]): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    execFileSync(command, commandArgs, { cwd: projectRoot, stdio: 'ignore' });
    times.push(Number(process.hrtime.bigint() - started) / 1e9);
  }
  return Number(times.sort((a, b) => a - b)[Math.floor(runs / 2)]!.toFixed(3));
}

/** Seconds from `npm start`'s process (node dist/main.js, the embedded engine cached) to its first 200 on /healthz; the median of `runs`. */
async function startToReadySeconds(runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const port = await freePort();
    const dataDir = mkdtempSync(path.join(tmpdir(), 'secrets-bench-start-'));
    const { MONGODB_URI: _uri, SECRETS_MASTER_KEY: _key, ...env } = process.env;
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [OURS], {
      cwd: projectRoot,
      env: { ...env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    });
    try {
      for (
        let tries = 0;
        !(await fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => r.ok,
          () => false,
        ));
        tries++
      ) {
        if (child.exitCode !== null || tries > 3000) throw new Error('our server did not start');
        await new Promise((r) => setTimeout(r, 5));
      }
      times.push(Number(process.hrtime.bigint() - started) / 1e9);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return Number(times.sort((a, b) => a - b)[Math.floor(runs / 2)]!.toFixed(3));
}

// ---- servers ------------------------------------------------------------------------

interface Server {
  readonly child: ChildProcess;
  readonly base: string;
  /** Database commands sent so far: all of them, and those to `api_keys` (the key cache's lookups). */
  commands(): Promise<Commands>;
  stop(): Promise<void>;
}

const OURS = 'dist/main.js';
if (!existsSync(path.join(projectRoot, OURS))) throw new Error(`${OURS} is missing: run npm run build (npm ci does) first`);

async function startServer(target: 'ours' | 'baseline', dbName: string): Promise<Server> {
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
  const script = target === 'ours' ? OURS : 'scripts/bench/baseline.ts';
  // Logging at warn (no per-request lines) for both; readiness is probed.
  const { child, base, stop } = await startServerProcess(`${target} server`, script, env, port, target === 'ours' ? '/healthz' : '/stats');
  return {
    child,
    base,
    stop,
    async commands() {
      if (target === 'baseline') return { all: ((await (await fetchRetrying(`${base}/stats`)).json()) as { commands: number }).commands, keys: 0 };
      const text = await (await fetchRetrying(`${base}/metrics`)).text();
      const counted = [...text.matchAll(/^db_commands_total\{([^}]*)\} (\d+)/gm)].map((m) => ({ labels: m[1]!, count: Number(m[2]) }));
      const sum = (list: typeof counted) => list.reduce((total, c) => total + c.count, 0);
      return { all: sum(counted), keys: sum(counted.filter((c) => c.labels.includes('collection="api_keys"'))) };
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

function cpuMicros(pid: number | undefined): number {
  if (pid === undefined) return 0;
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

interface Commands {
  all: number;
  keys: number;
}
const NO_COMMANDS: Commands = { all: 0, keys: 0 };
/** Commands per request between two tallies, and the share of them that were the key cache's lookups. */
const perRequest = (before: Commands, after: Commands, requests: number) => ({
  commandsPerRequest: Number(((after.all - before.all) / requests).toFixed(2)),
  keyLookupsPerRequest: Number(((after.keys - before.keys) / requests).toFixed(2)),
});

interface Row {
  target: Target;
  scenario: string;
  secrets: number;
  requests: number;
  non2xx: number;
  rps: number;
  p50: number;
  p99: number;
  /** The server process (ours: the Node process alone). */
  cpuMicrosPerRequest: number;
  /** The embedded engine's share (0 for OpenBao, and for an external MongoDB). */
  engineCpuMicrosPerRequest: number;
  commandsPerRequest: number;
  /** Of those, lookups of the API key (the key cache's misses and refreshes). */
  keyLookupsPerRequest: number;
}

interface Job {
  base: string;
  pid: number;
  enginePid: number | undefined;
  method: string;
  path: string;
  body: string;
  headers: Record<string, string>;
  ids: string[];
  commands?: () => Promise<Commands>;
}

async function measure(target: Target, scenario: string, secrets: number, job: Job, duration = DURATION): Promise<Row> {
  const sent = {
    url: job.base,
    method: job.method,
    path: job.path,
    headers: job.headers,
    body: job.body,
    ids: job.ids,
    connections: CONNECTIONS,
    warmupSeconds: 0,
  };
  if (WARMUP > 0) load({ ...sent, durationSeconds: WARMUP });
  const [cpu0, engine0, cmd0] = [cpuMicros(job.pid), cpuMicros(job.enginePid), (await job.commands?.()) ?? NO_COMMANDS];
  const result = load({ ...sent, durationSeconds: duration });
  const [cpu1, engine1, cmd1] = [cpuMicros(job.pid), cpuMicros(job.enginePid), (await job.commands?.()) ?? NO_COMMANDS];
  const requests = Math.max(1, result.requests);
  return {
    target,
    scenario,
    secrets,
    requests: result.requests,
    non2xx: result.non2xx,
    rps: Math.round(result.rps),
    p50: result.p50,
    p99: result.p99,
    cpuMicrosPerRequest: Math.round((cpu1 - cpu0) / requests),
    engineCpuMicrosPerRequest: Math.round((engine1 - engine0) / requests),
    // The metrics scrape itself sends no database command.
    ...perRequest(cmd0, cmd1, requests),
  };
}

const jobOf = (server: Server, target: 'ours' | 'baseline', scenario: Scenario, seeded: { apiKey: string; ids: string[] }): Job => ({
  base: server.base,
  pid: server.child.pid!,
  enginePid: engine.pid,
  method: scenario.method,
  path: target === 'ours' ? scenario.ours : scenario.baseline,
  headers: { 'x-auth-token': seeded.apiKey },
  body: target === 'ours' ? scenario.body : scenario.body.replace(/^graphql:/, '').replace(/^(get|list)$/, 'none'),
  ids: seeded.ids,
  commands: () => server.commands(),
});

/**
 * Database commands per request over a fixed, small number of sequential requests, after as many again
 * uncounted: a freshly started server first fills its key cache and finds the project's newest event.
 */
async function commandsPerRequest(server: Server, scenario: Scenario, seeded: { apiKey: string; ids: string[] }) {
  const job = {
    url: server.base,
    method: scenario.method,
    path: scenario.ours,
    headers: { 'x-auth-token': seeded.apiKey },
    body: scenario.body,
    ids: seeded.ids,
    connections: 1,
    warmupSeconds: 0,
    durationSeconds: 0,
    amount: COUNT_REQUESTS,
  };
  load(job);
  const cmd0 = await server.commands();
  const sent = load(job);
  return perRequest(cmd0, await server.commands(), Math.max(1, sent.requests));
}

// ---- run ------------------------------------------------------------------------------

const rows: Row[] = [];
const peakRss: Partial<Record<Target, number>> = {};
const commandsAt10N: Record<string, ReturnType<typeof perRequest>> = {};
let cliVersionSeconds: number | undefined;
let nodeAloneSeconds: number | undefined;
let startSeconds: number | undefined;
const run = `${Date.now()}`;
const peerBin = args.peer === 'openbao' ? process.env.OPENBAO_BIN : undefined;
const peerMissing =
  args.peer === undefined
    ? 'not measured: run with --peer openbao and OPENBAO_BIN'
    : args.peer !== 'openbao'
      ? `unknown peer "${args.peer}" (openbao is the one)`
      : openBaoMissing(peerBin);
const scenarioByName = (name: string) => SCENARIOS.find((s) => s.name === name)!;
try {
  for (const target of ['baseline', 'ours'] as const) {
    const dbName = `bench_${target}_${run}`;
    const seeded = await seed(dbName, N);
    const server = await startServer(target, dbName);
    try {
      const scenarios = target === 'ours' ? SCENARIOS : [...SCENARIOS.filter((s) => s.floor === s.name), BASELINE_ONLY];
      for (const scenario of scenarios) {
        console.error(`${target}: ${scenario.name}`);
        rows.push(await measure(target, scenario.name, N, jobOf(server, target, scenario, seeded)));
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
        for (const scenario of SCENARIOS.filter((s) => !s.name.includes('list')))
          commandsAt10N[scenario.name] = await commandsPerRequest(big, scenario, seeded);
      } finally {
        await big.stop();
      }
    }
  }
  // How the cost of a read and an update grows with the number of secrets.
  for (const size of GROWTH_SIZES) {
    const dbName = `bench_growth_${size}_${run}`;
    const seeded = await seed(dbName, size);
    const server = await startServer('ours', dbName);
    try {
      for (const name of ['REST read value', 'REST update']) {
        console.error(`ours at ${size} secrets: ${name}`);
        rows.push(await measure('ours', name, size, jobOf(server, 'ours', scenarioByName(name), seeded), Math.min(DURATION, 4)));
      }
    } finally {
      await server.stop();
    }
  }
  // The same project with a long history (events and audit records): create and update should cost what they do without it.
  if (HISTORY > 0) {
    const dbName = `bench_history_${run}`;
    const seeded = await seed(dbName, N);
    console.error(`ours: writing ${HISTORY} events and ${HISTORY} audit records`);
    await seedHistory(dbName, seeded.projectId, HISTORY);
    const server = await startServer('ours', dbName);
    try {
      for (const name of ['REST create', 'REST update']) {
        console.error(`ours with ${HISTORY} events of history: ${name}`);
        rows.push(await measure('ours', `${name} @history`, N, jobOf(server, 'ours', scenarioByName(name), seeded)));
      }
    } finally {
      await server.stop();
    }
  }
  console.error('ours: secrets --version, and start to ready');
  cliVersionSeconds = medianWallSeconds(10, process.execPath, ['bin/secrets.mjs', '--version']);
  nodeAloneSeconds = medianWallSeconds(10, process.execPath, ['-e', '0']);
  startSeconds = await startToReadySeconds(3);
  if (!peerMissing) {
    const names = Array.from({ length: N }, (_, i) => `SEED_${String(i).padStart(7, '0')}`);
    console.error(`openbao: writing ${N} secrets`);
    const bao = await startOpenBao(peerBin!, names);
    try {
      for (const s of PEER_SCENARIOS) {
        console.error(`openbao: ${s.name}`);
        rows.push(
          await measure('openbao', s.ours, N, {
            base: bao.base,
            pid: bao.child.pid!,
            enginePid: undefined,
            method: s.method,
            path: s.path,
            body: s.body,
            headers: { 'x-vault-token': bao.token },
            ids: names.slice(0, 200),
          }),
        );
      }
      peakRss.openbao = peakRssMb(bao.child.pid!);
    } finally {
      await bao.stop();
    }
  }
} finally {
  await engine.stop();
}

// ---- report ---------------------------------------------------------------------------

const at = (target: Target, scenario: string, secrets = N) => rows.find((r) => r.target === target && r.scenario === scenario && r.secrets === secrets);
const total = (r: Row | undefined) => (r ? r.cpuMicrosPerRequest + r.engineCpuMicrosPerRequest : null);
const ratio = (a: number | null | undefined, b: number | null | undefined) => (a == null || b == null || b === 0 ? null : Number((a / b).toFixed(2)));
const table = SCENARIOS.map((s) => {
  const o = at('ours', s.name)!;
  const b = at('baseline', s.floor)!;
  return {
    scenario: s.name,
    'CPU µs/req': o.cpuMicrosPerRequest,
    'engine µs/req': o.engineCpuMicrosPerRequest,
    'baseline µs/req': b.cpuMicrosPerRequest,
    'CPU ratio': ratio(o.cpuMicrosPerRequest, b.cpuMicrosPerRequest),
    'req/s': o.rps,
    'baseline req/s': b.rps,
    'p50/p99 ms': `${o.p50}/${o.p99}`,
    [`cmds/req @${N}`]: o.commandsPerRequest,
    'baseline cmds/req': b.commandsPerRequest,
    [`cmds/req @${10 * N}`]: commandsAt10N[s.name]?.commandsPerRequest ?? '-',
    'non-2xx': o.non2xx,
  };
});
const peerTable = PEER_SCENARIOS.map((s) => {
  const o = at('ours', s.ours)!;
  const p = at('openbao', s.ours);
  return {
    scenario: s.name,
    'OpenBao req/s': p?.rps ?? peerMissing,
    'OpenBao p50/p99 ms': p ? `${p.p50}/${p.p99}` : '-',
    'OpenBao CPU µs/req': p?.cpuMicrosPerRequest ?? '-',
    'ours req/s': o.rps,
    'ours p50/p99 ms': `${o.p50}/${o.p99}`,
    'ours service+engine µs/req': total(o),
    'ours Node alone µs/req': o.cpuMicrosPerRequest,
    'Node alone / OpenBao': ratio(o.cpuMicrosPerRequest, p?.cpuMicrosPerRequest) ?? '-',
  };
});
const sizes = [...new Set([...GROWTH_SIZES, N])].sort((a, b) => a - b);
const growthTable = ['REST read value', 'REST update'].map((name) => ({
  scenario: name,
  ...Object.fromEntries(sizes.map((size) => [`${size} secrets: service+engine µs/req`, total(at('ours', name, size)) ?? '-'])),
  ...Object.fromEntries(
    sizes.map((size) => [
      `${size}: engine share`,
      at('ours', name, size) ? `${Math.round((100 * at('ours', name, size)!.engineCpuMicrosPerRequest) / Math.max(1, total(at('ours', name, size))!))} %` : '-',
    ]),
  ),
}));

const historyTable = ['REST create', 'REST update'].map((name) => {
  const fresh = total(at('ours', name));
  const old = total(at('ours', `${name} @history`));
  return {
    scenario: name,
    'fresh project: service+engine µs/req': fresh ?? '-',
    [`${HISTORY} events + ${HISTORY} audit records: service+engine µs/req`]: old ?? '-',
    ratio: ratio(old, fresh) ?? '-',
    'cmds/req fresh / with history': `${at('ours', name)?.commandsPerRequest ?? '-'} / ${at('ours', `${name} @history`)?.commandsPerRequest ?? '-'}`,
  };
});

interface Target_ {
  target: string;
  measured: number | null;
  limit: number;
  met: boolean | null;
}
const check = (target: string, measured: number | null | undefined, limit: number): Target_ => ({
  target,
  measured: measured ?? null,
  limit,
  met: measured == null ? null : measured <= limit,
});
const targets: Target_[] = [
  ...(peerMissing
    ? []
    : [
        check(
          'create: our Node process ÷ OpenBao, CPU per request',
          ratio(at('ours', 'REST create')!.cpuMicrosPerRequest, at('openbao', 'REST create')?.cpuMicrosPerRequest),
          2,
        ),
        check(
          'update: our Node process ÷ OpenBao, CPU per request',
          ratio(at('ours', 'REST update')!.cpuMicrosPerRequest, at('openbao', 'REST update')?.cpuMicrosPerRequest),
          2,
        ),
        check(
          'read: our Node process ÷ OpenBao, CPU per request',
          ratio(at('ours', 'REST read value')!.cpuMicrosPerRequest, at('openbao', 'REST read value')?.cpuMicrosPerRequest),
          2,
        ),
      ]),
  ...(N === 1000 && engine.kind !== 'external'
    ? [
        check('create at 1,000 secrets, service+engine µs (issue 15: 24,000)', total(at('ours', 'REST create')), 24_000),
        check('update at 1,000 secrets, service+engine µs (issue 15: 11,800; at most 12,000)', total(at('ours', 'REST update')), 12_000),
      ]
    : []),
  ...(HISTORY > 0
    ? historyTable.map((h) =>
        check(`${h.scenario} with ${HISTORY} events and audit records ÷ fresh, service+engine`, typeof h.ratio === 'number' ? h.ratio : null, 1.2),
      )
    : []),
  ...(N === 1000 && engine.kind !== 'external'
    ? [
        check('read at 1,000 secrets, service+engine µs (≥ 10× below 67,619)', total(at('ours', 'REST read value')), BEFORE_MICROS['REST read value'] / 10),
        check('update at 1,000 secrets, service+engine µs (≥ 10× below 154,685)', total(at('ours', 'REST update')), BEFORE_MICROS['REST update'] / 10),
      ]
    : []),
  ...table.flatMap((t) => {
    const limit = t.scenario.startsWith('GraphQL') ? 2 : /create|update/.test(t.scenario) ? 1.5 : 1.1;
    return t.scenario.includes('list') ? [] : [check(`${t.scenario}: CPU ÷ bare baseline`, t['CPU ratio'], limit)];
  }),
  ...(['REST create', 'REST update', 'REST read value'] as const).flatMap((name) => {
    const limit = { 'REST create': 5, 'REST update': 6, 'REST read value': 2 }[name];
    // The issue's bounds are "plus the key cache's amortised lookups": those are counted apart.
    const besidesKeys = (c: { commandsPerRequest: number; keyLookupsPerRequest: number } | undefined) =>
      c === undefined ? undefined : Number((c.commandsPerRequest - c.keyLookupsPerRequest).toFixed(2));
    return [
      check(
        `${name}: database commands per request @${N}, besides the key cache's lookups (${at('ours', name)!.keyLookupsPerRequest}/req)`,
        besidesKeys(at('ours', name)),
        limit,
      ),
      check(
        `${name}: database commands per request @${10 * N}, besides the key cache's lookups (${commandsAt10N[name]?.keyLookupsPerRequest ?? '-'}/req)`,
        besidesKeys(commandsAt10N[name]),
        limit,
      ),
    ];
  }),
  check('peak RSS of our Node process, MB', peakRss.ours, 150),
  check(`secrets --version, s wall (median of 10; node -e 0: ${nodeAloneSeconds ?? '-'} s)`, cliVersionSeconds, 0.2),
  check('start to ready (npm start, engine cached), s (median of 3)', startSeconds, 1.5),
];
const mark = (t: Target_) => (t.met === null ? 'not measured' : t.met ? 'met' : 'MISSED');

const header = `engine: ${engine.kind}, ${N} secrets, ${DURATION} s per scenario, ${CONNECTIONS} connections, CPU from /proc/<pid>/stat`;
console.log(`\n${header}`);
console.table(table);
console.log('beside OpenBao (KV v2, raft storage, file audit device):');
console.table(peerTable);
console.log('growth with the number of secrets:');
console.table(growthTable);
console.log('growth with the history (events and audit records):');
console.table(historyTable);
console.log(`peak RSS: ours ${peakRss.ours} MB, baseline ${peakRss.baseline} MB, OpenBao ${peakRss.openbao ?? '-'} MB`);
console.log('targets:');
for (const t of targets) console.log(`  ${mark(t).padEnd(12)} ${t.target}: ${t.measured ?? '-'} (at most ${t.limit})`);

const markdownOf = (rowsOf: Record<string, unknown>[]) => {
  const keys = Object.keys(rowsOf[0] ?? {});
  return [`| ${keys.join(' | ')} |`, `|${keys.map(() => '---').join('|')}|`, ...rowsOf.map((r) => `| ${keys.map((k) => String(r[k])).join(' | ')} |`)].join(
    '\n',
  );
};
const resultsDir = path.join(projectRoot, 'results');
mkdirSync(resultsDir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const report = {
  engine: engine.kind,
  secrets: N,
  durationSeconds: DURATION,
  connections: CONNECTIONS,
  table,
  peerTable,
  growthTable,
  historyTable,
  targets,
  rows,
  peakRss,
  commandsAt10N,
};
writeFileSync(path.join(resultsDir, `bench-${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
const markdown = `${header}\n\n${markdownOf(table)}\n\nBeside OpenBao:\n\n${markdownOf(peerTable)}\n\nGrowth:\n\n${markdownOf(growthTable)}\n\nGrowth with the history:\n\n${markdownOf(historyTable)}\n\nPeak RSS: ours ${peakRss.ours} MB, baseline ${peakRss.baseline} MB, OpenBao ${peakRss.openbao ?? '-'} MB\n\nTargets:\n\n${targets.map((t) => `- ${mark(t)}: ${t.target}: ${t.measured ?? '-'} (at most ${t.limit})`).join('\n')}\n`;
writeFileSync(path.join(resultsDir, `bench-${stamp}.md`), markdown);
writeFileSync(path.join(resultsDir, 'latest.md'), markdown);
const chart = PEER_SCENARIOS.map((s) => ({
  label: s.name,
  bars: [
    { series: 'ours: Node process', micros: at('ours', s.ours)!.cpuMicrosPerRequest },
    { series: 'ours: Node + engine', micros: total(at('ours', s.ours)) },
    { series: 'bare baseline (Node)', micros: at('baseline', s.ours)?.cpuMicrosPerRequest ?? null },
    { series: 'OpenBao', micros: at('openbao', s.ours)?.cpuMicrosPerRequest ?? null },
  ],
}));
for (const file of [`bench-${stamp}.svg`, 'latest.svg'])
  writeChart(path.join(resultsDir, file), `CPU per request, ${N} secrets, ${engine.kind} (log scale)`, chart);
console.log(`written: results/bench-${stamp}.{json,md,svg}, results/latest.{md,svg}`);
