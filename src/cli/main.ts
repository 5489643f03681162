// `secrets`: the command-line client workloads use. Configuration from
// SECRETS_URL, SECRETS_API_KEY and SECRETS_ENV, or --url, --api-key and --env;
// a workload with no stored key signs in with its platform's token instead
// (--oidc IDENTITY with --token-file or --token-env, or SECRETS_OIDC_*).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import { Command, Option } from 'commander';
import { parse as parseDotenv } from 'dotenv';
import { CliError, createClient, UnreachableError } from './client.ts';
import { loadFallback, saveFallback } from './fallback.ts';
import { watchChanges } from './watch.ts';
import { keepSignedIn, type SignedIn, signIn } from './oidc.ts';
import { ENV_NAME, startupVariables, toDotenv, toJson, toShell } from './format.ts';

// Read beside the sources (src/cli/ or dist/cli/), not through the service's config: a CLI start loads nothing it does not use.
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('secrets')
  .version(version)
  .description('Use the secrets service from a shell, a CI job or a workload.')
  .addOption(new Option('--url <url>', 'the service base URL').env('SECRETS_URL').default('http://127.0.0.1:4000'))
  .addOption(new Option('--api-key <key>', 'an API key of your project').env('SECRETS_API_KEY'))
  .addOption(new Option('--env <slug>', "the environment to act in (default: the key's own, else default)").env('SECRETS_ENV'))
  .addOption(new Option('--reason <text>', 'why you reveal values: stored in the audit event (required by some keys)'))
  .addOption(
    new Option('--oidc <identity>', "sign in as this workload identity (its id) with the platform's token, instead of an API key").env('SECRETS_OIDC_IDENTITY'),
  )
  .addOption(
    new Option('--token-file <path>', 'with --oidc: the file holding the token (a Kubernetes projected token; read again at each sign-in)').env(
      'SECRETS_OIDC_TOKEN_FILE',
    ),
  )
  .addOption(new Option('--token-env <variable>', 'with --oidc: the environment variable holding the token'))
  .addOption(
    new Option('--audience <audience>', "with --oidc in GitHub Actions, without a token: the audience to ask the job's token service for").env(
      'SECRETS_OIDC_AUDIENCE',
    ),
  )
  .showHelpAfterError();

interface GlobalOptions {
  url: string;
  apiKey?: string;
  env?: string;
  reason?: string;
  oidc?: string;
  tokenFile?: string;
  tokenEnv?: string;
  audience?: string;
}

/** The key an --oidc sign-in got (renewed by run --watch); it stands in for SECRETS_API_KEY. */
let signedIn: SignedIn | undefined;

const oidcSignIn = () => {
  const { url, oidc, tokenFile, tokenEnv, audience } = program.opts<GlobalOptions>();
  return signIn(url, oidc!, { tokenFile, tokenEnv, audience });
};

function settings() {
  const { url, apiKey, env, reason } = program.opts<GlobalOptions>();
  const key = signedIn?.apiKey ?? apiKey;
  if (!key) throw new CliError('No API key: set SECRETS_API_KEY or pass --api-key, or sign in with --oidc IDENTITY --token-file PATH');
  return { url, apiKey: key, environment: env, reason };
}

// With --oidc, every command that talks to the service signs in first (login does it itself).
program.hook('preAction', async (_program, action) => {
  if (!program.opts<GlobalOptions>().oidc || ['login', 'rotate-master-key'].includes(action.name())) return;
  signedIn = await oidcSignIn();
});

function client() {
  return createClient(settings());
}

/** "90s", "30m", "24h", "7d" (or seconds alone) in milliseconds. */
function duration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|h|d)?$/.exec(text.trim());
  if (!match) throw new CliError(`not a duration: ${text} (say 90s, 30m, 24h or 7d)`);
  return Number(match[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(match[2] ?? 's') as 's']!;
}

/** A moment given as an ISO-8601 time, or as how long ago. */
function momentOf(text: string): Date {
  if (/^\d+(?:\.\d+)?[smhd]?$/.test(text.trim())) return new Date(Date.now() - duration(text));
  const at = new Date(text);
  if (Number.isNaN(at.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(text))
    throw new CliError(`not a time: ${text} (say 2026-12-01T09:00:00Z, or 30m for half an hour ago)`);
  return at;
}

interface FallbackOptions {
  fallback?: string;
  fallbackMaxAge: string;
}

const withFallback = (command: Command) =>
  command
    .option(
      '--fallback <path>',
      'keep the values fetched in this file (sealed with a key derived from the API key, mode 0600), and use them when the service cannot be reached',
    )
    .option('--fallback-max-age <duration>', 'the oldest fallback to use (90s, 30m, 24h, 7d)', '24h');

/**
 * Every value of the project; with --fallback, saved after each fetch and
 * read back when (and only when) the service cannot be reached. A refused
 * key (401, 403) never falls back.
 */
async function fetchValues(options: FallbackOptions): Promise<Record<string, string>> {
  // Sealed under the API key, which an --oidc sign-in changes each time: no later run could open it.
  if (options.fallback && signedIn) throw new CliError('--fallback needs a lasting API key (SECRETS_API_KEY): with --oidc each sign-in gets another key');
  const { url, apiKey, environment } = settings();
  const where = { url: url.replace(/\/+$/, ''), environment: environment ?? null };
  try {
    const values = await client().values();
    if (options.fallback) await saveFallback(options.fallback, apiKey, { ...where, values });
    return values;
  } catch (err) {
    if (!(err instanceof UnreachableError) || !options.fallback) throw err;
    const saved = await loadFallback(options.fallback, apiKey, { ...where, maxAgeMs: duration(options.fallbackMaxAge) }).catch((why: Error) => {
      throw new CliError(`${err.message}; ${why.message}`);
    });
    process.stderr.write(`secrets: warning: ${err.message}; using the values saved at ${saved.savedAt} in ${options.fallback}\n`);
    return saved.values;
  }
}

const collect = (name: string, names: string[]) => [...names, name];
const ALLOW_HELP = 'let a variable that changes how programs load or start (PATH, LD_PRELOAD, NODE_OPTIONS, ...) through; once per name';

/** Refuses (exit ≠ 0, naming them) values that would change how programs load or start, unless each is allowed. */
function refuseStartupVariables(names: string[], allowed: string[]): void {
  const refused = startupVariables(names, allowed);
  if (refused.length === 0) return;
  throw new CliError(
    `refusing to set ${refused.join(', ')}: ${refused.length === 1 ? 'it changes' : 'they change'} how programs load or start, ` +
      `so a key that can only write secrets could run code here. Pass ${refused.map((n) => `--allow ${n}`).join(' ')} if you trust ${refused.length === 1 ? 'it' : 'them'}.`,
  );
}

/** The value for `set`: stdin when piped, else a prompt that does not echo. Never argv (others can read it in ps). */
async function readValue(name: string): Promise<string> {
  if (!process.stdin.isTTY) {
    let text = '';
    for await (const chunk of process.stdin) text += chunk;
    return text.replace(/\r?\n$/, '');
  }
  const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
  process.stderr.write(`Value for ${name}: `);
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
  const value = await new Promise<string>((resolve) => rl.question('', resolve));
  rl.close();
  process.stderr.write('\n');
  return value;
}

program
  .command('ls')
  .description('list the secrets of the project (names, never values)')
  .action(async () => {
    for (const secret of await client().list()) process.stdout.write(`${secret.name}\t${secret.id}\t${secret.updatedAt}\n`);
  });

program
  .command('get')
  .description("show a secret's metadata, or with --reveal its value (needs secrets:reveal)")
  .argument('<name>')
  .option('--reveal', 'print the value itself')
  .action(async (name: string, options: { reveal?: boolean }) => {
    const api = client();
    const secret = await api.require(name);
    if (options.reveal) process.stdout.write(`${(await api.reveal(secret.id)).value}\n`);
    else process.stdout.write(`${JSON.stringify(secret, null, 2)}\n`);
  });

program
  .command('set')
  .description('create or update a secret; the value is read from stdin (or a prompt), never from the command line')
  .argument('<name>')
  .action(async (name: string) => {
    const api = client();
    const value = await readValue(name);
    if (!value) throw new CliError('Empty value: nothing stored');
    const existing = await api.findByName(name);
    const secret = existing ? await api.update(existing.id, value) : await api.create(name, value);
    process.stderr.write(`${existing ? 'updated' : 'created'} ${secret.name} (${secret.id})\n`);
  });

program
  .command('rm')
  .description('delete a secret (restorable during the recovery window)')
  .argument('<name>')
  .action(async (name: string) => {
    const api = client();
    const { id } = await api.remove((await api.require(name)).id);
    process.stderr.write(`deleted ${name} (${id})\n`);
  });

withFallback(
  program
    .command('export')
    .description("print the project's values for piping")
    .addOption(new Option('--format <format>', 'output format').choices(['dotenv', 'json', 'shell']).default('dotenv'))
    .option('--allow <name>', `${ALLOW_HELP} (for --format shell, whose output is meant to be sourced)`, collect, [])
    .option('--at <time>', 'the values as they were at a moment: an ISO-8601 time (2026-12-01T09:00:00Z) or how long ago (90s, 30m, 24h, 7d)'),
).action(async (options: { format: 'dotenv' | 'json' | 'shell'; allow: string[]; at?: string } & FallbackOptions) => {
  if (options.at !== undefined && options.fallback) throw new CliError('--at reads the past from the service: it takes no --fallback');
  const values = options.at === undefined ? await fetchValues(options) : await client().values({ at: momentOf(options.at) });
  if (options.format === 'shell')
    refuseStartupVariables(
      Object.keys(values).filter((n) => ENV_NAME.test(n)),
      options.allow,
    );
  const text = options.format === 'json' ? toJson(values) : options.format === 'shell' ? toShell(values) : toDotenv(values);
  process.stdout.write(text ? `${text}\n` : '');
});

withFallback(
  program
    .command('run')
    .description("run a command with the project's values added to its environment; exits with its code")
    .option('--override', 'let the values replace variables already set')
    .option('--allow <name>', ALLOW_HELP, collect, [])
    .option('--pass-api-key', 'let the command inherit SECRETS_API_KEY (by default it does not)')
    .option('--watch', 'restart the command when a value it received changes (changes within 1 s: one restart)')
    .option('--grace <seconds>', 'with --watch: how long the command has to stop after SIGTERM before SIGKILL', '10'),
)
  .argument('<command...>', 'the command and its arguments, after --')
  .action(
    async (command: string[], options: { override?: boolean; allow: string[]; passApiKey?: boolean; watch?: boolean; grace: string } & FallbackOptions) => {
      /** The command's environment for these values (refusing startup variables not allowed). */
      const environmentFor = (values: Record<string, string>) => {
        const fromSecrets = Object.fromEntries(Object.entries(values).filter(([name]) => ENV_NAME.test(name)));
        refuseStartupVariables(Object.keys(fromSecrets), options.allow);
        // The command gets the values, not the key that reads them all.
        const { SECRETS_API_KEY: _key, ...inherited } = process.env;
        // Nor the token it signed in with.
        const tokenEnv = program.opts<GlobalOptions>().tokenEnv;
        if (tokenEnv) delete inherited[tokenEnv];
        const own = options.passApiKey ? process.env : inherited;
        return options.override ? { ...own, ...fromSecrets } : { ...fromSecrets, ...own };
      };
      let values = await fetchValues(options);
      const start = (env: NodeJS.ProcessEnv) => {
        const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env });
        const exited = new Promise<number>((resolve) => {
          child.on('error', (err) => {
            process.stderr.write(`secrets: cannot run ${command[0]}: ${err.message}\n`);
            resolve(127);
          });
          // Ended by a signal: 128 + its number, as shells report it.
          child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 + constants.signals[signal] : 1)));
        });
        return { child, exited };
      };
      let current = start(environmentFor(values));
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => current.child.kill(signal));
      if (!options.watch) process.exit(await current.exited);

      const graceMs = duration(options.grace);
      if (signedIn) keepSignedIn(signedIn, oidcSignIn, (next) => void (signedIn = next));
      let restarting: Promise<void> | undefined;
      const restartWith = async (fresh: Record<string, string>) => {
        const env = environmentFor(fresh);
        const old = current;
        old.child.kill('SIGTERM');
        const killer = setTimeout(() => old.child.kill('SIGKILL'), graceMs);
        await old.exited;
        clearTimeout(killer);
        values = fresh;
        current = start(env);
        process.stderr.write('secrets: a value changed: restarted the command\n');
      };
      const stopWatching = watchChanges(settings, async () => {
        const fresh = await fetchValues(options);
        if (isDeepStrictEqual(fresh, values)) return;
        restarting = restartWith(fresh).catch((err: Error) => {
          process.stderr.write(`secrets: kept the running command: ${err.message}\n`);
        });
        await restarting;
        restarting = undefined;
      });
      // The command ended by itself (not by a restart): run ends with its code.
      for (;;) {
        const running = current;
        const code = await running.exited;
        await restarting;
        if (current === running) {
          stopWatching();
          process.exit(code);
        }
      }
    },
  );

program
  .command('login')
  .description("sign in as a workload identity with its platform's token (--oidc IDENTITY, --token-file PATH or --token-env VAR): prints the API key it gets")
  .addOption(
    new Option('--format <format>', 'key: the key alone; shell: export SECRETS_API_KEY=...; json: the key and its expiry')
      .choices(['key', 'shell', 'json'])
      .default('key'),
  )
  .action(async (options: { format: 'key' | 'shell' | 'json' }) => {
    if (!program.opts<GlobalOptions>().oidc) throw new CliError('login needs --oidc IDENTITY, with --token-file PATH or --token-env VAR');
    const { apiKey, expiresAt } = await oidcSignIn();
    const text =
      options.format === 'json'
        ? JSON.stringify({ apiKey, expiresAt: expiresAt.toISOString() })
        : options.format === 'shell'
          ? toShell({ SECRETS_API_KEY: apiKey })
          : apiKey;
    process.stdout.write(`${text}\n`);
    process.stderr.write(`secrets: signed in; the key expires at ${expiresAt.toISOString()}\n`);
  });

program
  .command('import')
  .description(
    'create or update a secret for each variable of a dotenv file (multiline values kept; an empty one is refused, as the service stores no empty value); prints what it did per name, never a value',
  )
  .argument('<file>', 'the dotenv file')
  .option('--dry-run', 'print the plan (names only) and change nothing')
  .option('--skip-empty', 'skip variables set to nothing (FLAG=) instead of refusing them')
  .action(async (file: string, options: { dryRun?: boolean; skipEmpty?: boolean }) => {
    const parsed = parseDotenv(readFileSync(file));
    const api = client();
    // The values are compared here, as stored (references not expanded), so that a second import changes nothing (it needs secrets:reveal).
    const [existing, current] = await Promise.all([api.list(), api.values({ resolve: false })]);
    const ids = new Map(existing.map((s) => [s.name, s.id]));
    let refused = 0;
    for (const [name, value] of Object.entries(parsed)) {
      if (value === '') {
        // The service stores no empty value (no door does): say so here, before any request.
        if (options.skipEmpty) process.stdout.write(`${options.dryRun ? 'would skip' : 'skipped'}\t${name}\n`);
        else {
          if (!options.dryRun) refused++;
          process.stdout.write(`${options.dryRun ? 'would refuse' : 'refused'}\t${name}\tempty value\n`);
        }
        continue;
      }
      const id = ids.get(name);
      const plan = id === undefined ? 'created' : current[name] === value ? 'unchanged' : 'updated';
      if (options.dryRun || plan === 'unchanged') {
        process.stdout.write(`${options.dryRun ? { created: 'would create', updated: 'would update', unchanged: 'unchanged' }[plan] : plan}\t${name}\n`);
        continue;
      }
      const why = await api.put(name, value, id);
      if (why !== null) refused++;
      process.stdout.write(why === null ? `${plan}\t${name}\n` : `refused\t${name}\t${why}\n`);
    }
    if (refused > 0) throw new CliError(`${refused} of ${Object.keys(parsed).length} not imported`);
  });

program
  .command('rotate-master-key')
  .description('re-wrap every data key under the active master key (same environment as the service: MONGODB_URI, SECRETS_MASTER_KEYS)')
  .action(async () => {
    // Runs against the database, not the HTTP API: it is npm run rotate-master-key.
    await import('./rotate-master-key.ts');
  });

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`secrets: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
