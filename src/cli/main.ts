// `secrets`: the command-line client workloads use. Configuration from
// SECRETS_URL, SECRETS_API_KEY and SECRETS_ENV, or --url, --api-key and --env.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { Command, Option } from 'commander';
import { CliError, createClient } from './client.ts';
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
  .showHelpAfterError();

function client() {
  const { url, apiKey, env, reason } = program.opts<{ url: string; apiKey?: string; env?: string; reason?: string }>();
  if (!apiKey) throw new CliError('No API key: set SECRETS_API_KEY or pass --api-key');
  return createClient({ url, apiKey, environment: env, reason });
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

program
  .command('export')
  .description("print the project's values for piping")
  .addOption(new Option('--format <format>', 'output format').choices(['dotenv', 'json', 'shell']).default('dotenv'))
  .option('--allow <name>', `${ALLOW_HELP} (for --format shell, whose output is meant to be sourced)`, collect, [])
  .action(async (options: { format: 'dotenv' | 'json' | 'shell'; allow: string[] }) => {
    const values = await client().values();
    if (options.format === 'shell') refuseStartupVariables(Object.keys(values).filter((n) => ENV_NAME.test(n)), options.allow);
    const text = options.format === 'json' ? toJson(values) : options.format === 'shell' ? toShell(values) : toDotenv(values);
    process.stdout.write(text ? `${text}\n` : '');
  });

program
  .command('run')
  .description("run a command with the project's values added to its environment; exits with its code")
  .option('--override', 'let the values replace variables already set')
  .option('--allow <name>', ALLOW_HELP, collect, [])
  .option('--pass-api-key', 'let the command inherit SECRETS_API_KEY (by default it does not)')
  .argument('<command...>', 'the command and its arguments, after --')
  .action(async (command: string[], options: { override?: boolean; allow: string[]; passApiKey?: boolean }) => {
    const values = await client().values();
    const fromSecrets = Object.fromEntries(Object.entries(values).filter(([name]) => ENV_NAME.test(name)));
    refuseStartupVariables(Object.keys(fromSecrets), options.allow);
    // The command gets the values, not the key that reads them all.
    const { SECRETS_API_KEY: _key, ...inherited } = process.env;
    const own = options.passApiKey ? process.env : inherited;
    const env = options.override ? { ...own, ...fromSecrets } : { ...fromSecrets, ...own };
    const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env });
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
    const code = await new Promise<number>((resolve) => {
      child.on('error', (err) => {
        process.stderr.write(`secrets: cannot run ${command[0]}: ${err.message}\n`);
        resolve(127);
      });
      // Ended by a signal: 128 + its number, as shells report it.
      child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 + constants.signals[signal] : 1)));
    });
    process.exit(code);
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
