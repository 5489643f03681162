// The `secrets` command-line client, as real processes against the real app.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { runCli } from './process.ts';

let app: TestApp;
let apiKey: string;
beforeAll(async () => {
  app = await startTestApp();
  ({ apiKey } = await app.createProject('cli'));
});
afterAll(() => app.close());

const cli = (args: string[], options: { stdin?: string; env?: Record<string, string> } = {}) =>
  runCli(args, { ...options, env: { SECRETS_URL: app.baseUrl, SECRETS_API_KEY: apiKey, ...options.env } });

describe('secrets CLI', () => {
  it('set reads the value from stdin (never argv); get --reveal prints it back; ls lists names only', async () => {
    const value = 'cli-value with spaces, "quotes" and \'apostrophes\'';
    const set = await cli(['set', 'CLI_TOKEN'], { stdin: `${value}\n` });
    expect(set.code).toBe(0);
    expect(set.stderr).toMatch(/created CLI_TOKEN/);
    expect((await cli(['set', 'CLI_TOKEN'], { stdin: `${value}` })).stderr).toMatch(/updated CLI_TOKEN/);
    const got = await cli(['get', 'CLI_TOKEN', '--reveal']);
    expect(got).toMatchObject({ code: 0, stdout: `${value}\n` });
    const meta = await cli(['get', 'CLI_TOKEN']);
    expect(JSON.parse(meta.stdout).name).toBe('CLI_TOKEN');
    expect(meta.stdout).not.toContain('cli-value');
    const ls = await cli(['ls']);
    expect(ls.stdout).toMatch(/^CLI_TOKEN\t[0-9a-f]{24}\t/m);
    expect(ls.stdout).not.toContain('cli-value');
  });

  it('run passes the values to a child process and exits with its code; existing variables win unless --override', async () => {
    await cli(['set', 'RUN_VALUE'], { stdin: 'from-the-store' });
    const printed = await cli(['run', '--', process.execPath, '-e', 'console.log(process.env.RUN_VALUE)']);
    expect(printed).toMatchObject({ code: 0, stdout: 'from-the-store\n' });
    const kept = await cli(['run', '--', process.execPath, '-e', 'console.log(process.env.RUN_VALUE)'], { env: { RUN_VALUE: 'mine' } });
    expect(kept.stdout).toBe('mine\n');
    const overridden = await cli(['run', '--override', '--', process.execPath, '-e', 'console.log(process.env.RUN_VALUE)'], { env: { RUN_VALUE: 'mine' } });
    expect(overridden.stdout).toBe('from-the-store\n');
    expect((await cli(['run', '--', process.execPath, '-e', 'process.exit(7)'])).code).toBe(7);
  });

  it('export prints dotenv, json (one flat object) and shell', async () => {
    await cli(['set', 'EXPORTED'], { stdin: 'a "b" \'c\'' });
    const json = JSON.parse((await cli(['export', '--format', 'json'])).stdout);
    expect(json.EXPORTED).toBe('a "b" \'c\'');
    expect((await cli(['export', '--format', 'dotenv'])).stdout).toContain('EXPORTED="a \\"b\\" \'c\'"');
    const shell = (await cli(['export', '--format', 'shell'])).stdout;
    expect(shell).toContain(`export EXPORTED='a "b" '\\''c'\\'''`);
    expect((await cli(['export', '--format', 'yaml'])).code).not.toBe(0);
  });

  it('rm deletes by name', async () => {
    await cli(['set', 'REMOVED'], { stdin: 'x' });
    expect((await cli(['rm', 'REMOVED'])).code).toBe(0);
    const missing = await cli(['get', 'REMOVED']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/No secret named REMOVED/);
  });

  it('clear errors and a non-zero exit for no server, a bad key, a missing scope and no key', async () => {
    const noServer = await cli(['ls'], { env: { SECRETS_URL: 'http://127.0.0.1:9' } });
    expect(noServer.code).not.toBe(0);
    expect(noServer.stderr).toMatch(/Cannot reach the secrets service/);
    const badKey = await cli(['ls'], { env: { SECRETS_API_KEY: `sk-lw-${'B'.repeat(43)}` } });
    expect(badKey.code).not.toBe(0);
    expect(badKey.stderr).toMatch(/API key was refused/);
    const readOnly = await graphql(
      app.baseUrl,
      'mutation { createApiKey(input: {name: "ro", scopes: ["secrets:read"]}) { ... on CreateApiKeySuccess { key } } }',
      {},
      { apiKey },
    );
    const noScope = await cli(['export'], { env: { SECRETS_API_KEY: readOnly.body.data.createApiKey.key } });
    expect(noScope.code).not.toBe(0);
    expect(noScope.stderr).toMatch(/secrets:reveal/);
    const noKey = await cli(['ls'], { env: { SECRETS_API_KEY: '' } });
    expect(noKey.code).not.toBe(0);
    expect(noKey.stderr).toMatch(/No API key/);
  });
});

describe('--url and --api-key win over SECRETS_URL and SECRETS_API_KEY', () => {
  let mine: string;
  let other: string;
  const nowhere = 'http://127.0.0.1:9';
  beforeAll(async () => {
    ({ apiKey: mine } = await app.createProject('cli flags'));
    ({ apiKey: other } = await app.createProject('cli flags, other'));
    await cli(['set', 'FLAG_MINE'], { stdin: 'mine-value', env: { SECRETS_API_KEY: mine } });
    await cli(['set', 'FLAG_OTHER'], { stdin: 'other-value', env: { SECRETS_API_KEY: other } });
  });

  it("--api-key is the key sent: with a refused key or another project's in the environment, it reads its own project", async () => {
    const refused = await cli(['get', 'FLAG_MINE', '--reveal', '--api-key', mine], { env: { SECRETS_API_KEY: `sk-lw-${'B'.repeat(43)}` } });
    expect(refused).toMatchObject({ code: 0, stdout: 'mine-value\n', stderr: '' });
    // Before the command too; the other project's key would list FLAG_OTHER.
    const listed = await cli(['--api-key', mine, 'ls'], { env: { SECRETS_API_KEY: other } });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^FLAG_MINE\t/);
    expect(listed.stdout).not.toContain('FLAG_OTHER');
    const run = await cli(['run', '--api-key', mine, '--', process.execPath, '-e', 'console.log(process.env.FLAG_MINE, process.env.FLAG_OTHER)'], {
      env: { SECRETS_API_KEY: other },
    });
    expect(run).toMatchObject({ code: 0, stdout: 'mine-value undefined\n' });
  });

  it('--url is where requests go: it reaches the app with SECRETS_URL pointing nowhere, and nowhere with SECRETS_URL right', async () => {
    const reached = await cli(['--url', app.baseUrl, 'get', 'FLAG_MINE', '--reveal'], { env: { SECRETS_URL: nowhere, SECRETS_API_KEY: mine } });
    expect(reached).toMatchObject({ code: 0, stdout: 'mine-value\n', stderr: '' });
    const missed = await cli(['ls', '--url', nowhere], { env: { SECRETS_API_KEY: mine } });
    expect(missed.code).toBe(1);
    expect(missed.stderr).toBe(`secrets: Cannot reach the secrets service at ${nowhere} (is it running? set SECRETS_URL or --url)\n`);
  });
});

describe('secrets run and export: what a key that can only write may not do', () => {
  let ownKey: string;
  let writer: string;
  beforeAll(async () => {
    ({ apiKey: ownKey } = await app.createProject('cli guarded'));
    const made = await graphql(
      app.baseUrl,
      'mutation { createApiKey(input: {name: "writer", scopes: ["secrets:write"]}) { ... on CreateApiKeySuccess { key } } }',
      {},
      { apiKey: ownKey },
    );
    writer = made.body.data.createApiKey.key;
    // The write-only key plants variables that would run its code in the next `secrets run`.
    for (const [name, value] of [
      ['NODE_OPTIONS', '--require /nonexistent/evil.js'],
      ['LD_PRELOAD', '/nonexistent/evil.so'],
      ['BASH_ENV', '/nonexistent/evil.sh'],
      ['GUARDED_OK', 'fine'],
    ]) {
      expect((await request(app.baseUrl, 'POST', '/api/secrets', { apiKey: writer, body: { name, value } })).status).toBe(201);
    }
  });
  const as = (env: Record<string, string> = {}) => ({ env: { SECRETS_API_KEY: ownKey, ...env } });

  it('run refuses variables that change how programs load or start, naming them, and runs nothing', async () => {
    const res = await cli(['run', '--', process.execPath, '-e', 'console.log("ran")'], as());
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^secrets: refusing to set BASH_ENV, LD_PRELOAD, NODE_OPTIONS: they change how programs load or start/);
    expect(res.stderr).toContain('--allow BASH_ENV --allow LD_PRELOAD --allow NODE_OPTIONS');
  });

  it('run lets through each one named with --allow, and only those', async () => {
    const partly = await cli(['run', '--allow', 'NODE_OPTIONS', '--', process.execPath, '-e', 'console.log("ran")'], as());
    expect(partly.code).toBe(1);
    expect(partly.stderr).toMatch(/refusing to set BASH_ENV, LD_PRELOAD:/);
    const printEnv = 'console.log(JSON.stringify([process.env.LD_PRELOAD, process.env.BASH_ENV, process.env.GUARDED_OK]))';
    // NODE_OPTIONS would make this very node fail to start (its --require file does not exist), which is the point.
    const allowed = await cli(
      ['run', '--allow', 'LD_PRELOAD', '--allow', 'BASH_ENV', '--allow', 'NODE_OPTIONS', '--', 'env', '-u', 'NODE_OPTIONS', process.execPath, '-e', printEnv],
      as(),
    );
    expect(allowed).toMatchObject({ code: 0, stdout: `${JSON.stringify(['/nonexistent/evil.so', '/nonexistent/evil.sh', 'fine'])}\n` });
  });

  it('export --format shell refuses them too; dotenv and json, which nothing runs, do not', async () => {
    const shell = await cli(['export', '--format', 'shell'], as());
    expect(shell.code).toBe(1);
    expect(shell.stdout).toBe('');
    expect(shell.stderr).toMatch(/refusing to set BASH_ENV, LD_PRELOAD, NODE_OPTIONS/);
    const allowed = await cli(['export', '--format', 'shell', '--allow', 'NODE_OPTIONS', '--allow', 'LD_PRELOAD', '--allow', 'BASH_ENV'], as());
    expect(allowed.stdout).toContain("export LD_PRELOAD='/nonexistent/evil.so'");
    expect((await cli(['export', '--format', 'dotenv'], as())).stdout).toContain('NODE_OPTIONS="--require /nonexistent/evil.js"');
    expect(JSON.parse((await cli(['export', '--format', 'json'], as())).stdout).BASH_ENV).toBe('/nonexistent/evil.sh');
  });

  it('the command does not inherit SECRETS_API_KEY, unless --pass-api-key', async () => {
    const { apiKey: plain } = await app.createProject('cli plain');
    const printKey = ['--', process.execPath, '-e', 'console.log(process.env.SECRETS_API_KEY ?? "none")'];
    expect((await cli(['run', ...printKey], { env: { SECRETS_API_KEY: plain } })).stdout).toBe('none\n');
    expect((await cli(['run', '--pass-api-key', ...printKey], { env: { SECRETS_API_KEY: plain } })).stdout).toBe(`${plain}\n`);
  });
});
