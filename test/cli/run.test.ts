// `secrets run -- <command>`: signals reach the command, the CLI exits with
// the command's code, and names no environment can hold are left out.
import { constants } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { runCli, startCli } from './process.ts';

let app: TestApp;
let env: Record<string, string>;
beforeAll(async () => {
  app = await startTestApp();
  const { apiKey } = await app.createProject('cli run');
  env = { SECRETS_URL: app.baseUrl, SECRETS_API_KEY: apiKey };
  expect((await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'RUN_OK', value: 'run-ok' } })).status).toBe(201);
});
afterAll(() => app.close());

// The command says it is ready once its handlers are in place; the guard ends it
// (exit 99, no "got") if no signal ever reaches it, so a broken forward fails instead of hanging.
const GUARD = 'setTimeout(() => process.exit(99), 15000);';
const recorder = `${GUARD}
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, () => { process.stdout.write('got ' + s + ' with ' + process.env.RUN_OK + '\\n'); process.exit(40 + require('os').constants.signals[s]); });
process.stdout.write('ready\\n');`;

describe('secrets run forwards signals to the command', () => {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`${signal} sent to the CLI alone reaches the command, and the CLI exits with the code the command chose`, async () => {
      const cli = startCli(['run', '--', process.execPath, '-e', recorder], { env });
      await cli.stdoutMatches(/^ready\n/);
      // Only the CLI's pid: the command can get it from nowhere but the CLI.
      cli.child.kill(signal);
      const result = await cli.done;
      expect(result.stdout).toBe(`ready\ngot ${signal} with run-ok\n`);
      expect(result).toMatchObject({ code: 40 + constants.signals[signal], signal: null });
    });
  }

  it('a command the forwarded signal ends makes the CLI exit 128 + its number, as a shell would', async () => {
    const cli = startCli(['run', '--', process.execPath, '-e', `${GUARD} process.stdout.write('ready\\n');`], { env });
    await cli.stdoutMatches(/^ready\n/);
    cli.child.kill('SIGTERM');
    expect(await cli.done).toMatchObject({ code: 128 + constants.signals.SIGTERM, signal: null, stdout: 'ready\n' });
    // Any signal, not only the forwarded three.
    const usr2 = await runCli(['run', '--', process.execPath, '-e', "process.kill(process.pid, 'SIGUSR2')"], { env });
    expect(usr2).toMatchObject({ code: 128 + constants.signals.SIGUSR2, signal: null });
  });
});

describe('secrets run and export leave out names no environment variable can have', () => {
  const odd = ['team/key', 'dotted.name', 'dash-name', '9LIVES'];
  let oddEnv: Record<string, string>;
  beforeAll(async () => {
    // The Together door accepts these names; the store keeps them as they are.
    const { apiKey } = await app.createProject('cli odd names');
    oddEnv = { SECRETS_URL: app.baseUrl, SECRETS_API_KEY: apiKey };
    for (const name of [...odd, 'PLAIN_NAME']) {
      const res = await request(app.baseUrl, 'POST', '/v1/deployments/secrets', {
        headers: { authorization: `Bearer ${apiKey}` },
        body: { name, value: `value-of-${name}` },
      });
      expect(res.status).toBe(200);
    }
  });

  it('run: the command sees the valid names only, and the CLI says nothing about the others', async () => {
    const printEnv = 'console.log(JSON.stringify(Object.keys(process.env).filter((k) => process.env[k].startsWith("value-of-")).sort()))';
    const res = await runCli(['run', '--', process.execPath, '-e', printEnv], { env: oddEnv });
    expect(res).toEqual({ code: 0, signal: null, stdout: `${JSON.stringify(['PLAIN_NAME'])}\n`, stderr: '' });
  });

  it('export: dotenv and shell leave them out, json (no environment) keeps them', async () => {
    const dotenv = await runCli(['export', '--format', 'dotenv'], { env: oddEnv });
    expect(dotenv).toEqual({ code: 0, signal: null, stdout: 'PLAIN_NAME="value-of-PLAIN_NAME"\n', stderr: '' });
    const shell = await runCli(['export', '--format', 'shell'], { env: oddEnv });
    expect(shell).toEqual({ code: 0, signal: null, stdout: "export PLAIN_NAME='value-of-PLAIN_NAME'\n", stderr: '' });
    const json = JSON.parse((await runCli(['export', '--format', 'json'], { env: oddEnv })).stdout);
    expect(Object.keys(json).sort()).toEqual([...odd, 'PLAIN_NAME'].sort());
  });
});
