// The CLI's failures never print a secret value: each project below stores a
// marker value the CLI fetches (or could fetch) before it fails, and no stderr
// or stdout of a failing command holds it. A failure of a call prints one line.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/http.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type CliResult, runCli } from './process.ts';

const MARKER = `marker-${randomBytes(8).toString('hex')}`;
const ONE_LINE = /^secrets: [^\n]+\n$/;

let app: TestApp;
/** Keys: `clean` (MARKER_VALUE readable), `broken` (beside it, a value no key opens), `startup` (LD_PRELOAD holds a marker too), `readOnly` (clean's project, no secrets:reveal). */
const keys: Record<'clean' | 'broken' | 'startup' | 'readOnly', string> = { clean: '', broken: '', startup: '', readOnly: '' };

async function project(name: string, secrets: Record<string, string>): Promise<string> {
  const { apiKey } = await app.createProject(name);
  for (const [secretName, value] of Object.entries(secrets)) {
    expect((await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: secretName, value } })).status).toBe(201);
  }
  return apiKey;
}

beforeAll(async () => {
  app = await startTestApp();
  keys.clean = await project('stderr clean', { MARKER_VALUE: MARKER });
  keys.broken = await project('stderr broken', { MARKER_VALUE: MARKER, BROKEN: `${MARKER}-broken` });
  keys.startup = await project('stderr startup', { MARKER_VALUE: MARKER, LD_PRELOAD: `/tmp/${MARKER}.so` });
  const made = await graphql(
    app.baseUrl,
    'mutation { createApiKey(input: {name: "ro", scopes: ["secrets:read"]}) { ... on CreateApiKeySuccess { key } } }',
    {},
    { apiKey: keys.clean },
  );
  keys.readOnly = made.body.data.createApiKey.key;
  // BROKEN's data key sealed under another key with the same id: the service cannot open it.
  await app.sealUnderForeignKey('BROKEN', 'default');
});
afterAll(() => app.close());

const as = (key: keyof typeof keys, extra: Record<string, string> = {}) => ({ env: { SECRETS_URL: app.baseUrl, SECRETS_API_KEY: keys[key], ...extra } });
const printsNoValue = (res: CliResult) => {
  expect(res.stderr).not.toContain(MARKER);
  expect(res.stdout).not.toContain(MARKER);
};

describe('a failing secrets command prints no value', () => {
  type Case = { args: string[]; key: keyof typeof keys; env?: Record<string, string>; stdin?: string; message: RegExp };
  const cases: Record<string, Case> = {
    'an unknown secret': { args: ['get', 'NO_SUCH', '--reveal'], key: 'clean', message: /No secret named NO_SUCH/ },
    'rm of an unknown secret': { args: ['rm', 'NO_SUCH'], key: 'clean', message: /No secret named NO_SUCH/ },
    'a refused key': {
      args: ['get', 'MARKER_VALUE', '--reveal'],
      key: 'clean',
      env: { SECRETS_API_KEY: `sk-lw-${'B'.repeat(43)}` },
      message: /API key was refused/,
    },
    'a key without secrets:reveal': { args: ['get', 'MARKER_VALUE', '--reveal'], key: 'readOnly', message: /Not allowed: .*secrets:reveal/ },
    'export without secrets:reveal': { args: ['export', '--format', 'json'], key: 'readOnly', message: /Not allowed: .*secrets:reveal/ },
    'no server': { args: ['export'], key: 'clean', env: { SECRETS_URL: 'http://127.0.0.1:9' }, message: /Cannot reach the secrets service/ },
    // The values came back, MARKER among them, and the CLI then refused to go on.
    'export beside an unreadable value': { args: ['export', '--format', 'json'], key: 'broken', message: /cannot open the value of BROKEN/ },
    'run beside an unreadable value': { args: ['run', '--', process.execPath, '-e', ''], key: 'broken', message: /cannot open the value of BROKEN/ },
    'run refusing LD_PRELOAD, whose value holds the marker': {
      args: ['run', '--', process.execPath, '-e', ''],
      key: 'startup',
      message: /refusing to set LD_PRELOAD:/,
    },
    'export --format shell refusing LD_PRELOAD': { args: ['export', '--format', 'shell'], key: 'startup', message: /refusing to set LD_PRELOAD:/ },
    // The value travels in the request, and the service's refusal comes back.
    'set of a value over 10,000 characters': {
      args: ['set', 'MARKER_VALUE'],
      key: 'clean',
      stdin: `${MARKER}${'x'.repeat(10_000)}`,
      message: /failed with 422/,
    },
    'set under a name the door refuses': { args: ['set', 'bad-name'], key: 'clean', stdin: MARKER, message: /failed with 422/ },
  };
  for (const [what, c] of Object.entries(cases)) {
    it(`${what}: one line on stderr, exit 1, no value`, async () => {
      const res = await runCli(c.args, { ...as(c.key, c.env), stdin: c.stdin });
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(ONE_LINE);
      expect(res.stderr).toMatch(c.message);
      printsNoValue(res);
    });
  }

  it('usage errors (bad flags, a missing or extra argument) exit 1 with the usage, and no value', async () => {
    const results = await Promise.all(
      [
        ['export', '--format', 'yaml'],
        ['get', 'MARKER_VALUE', '--reveal', '--bogus'],
        ['get'],
        ['set', 'MARKER_VALUE', 'argv-value'],
        ['run'],
        ['--api-key'],
      ].map(async (args) => ({ args, ...(await runCli(args, as('clean'))) })),
    );
    for (const res of results) {
      expect({ args: res.args, code: res.code }).toEqual({ args: res.args, code: 1 });
      expect(res.stderr, res.args.join(' ')).toMatch(/^error: .*\n[\s\S]*Usage: secrets/);
      printsNoValue(res);
    }
  });

  it('a run whose command fails: the CLI exits with its code and adds nothing to stderr; a command that cannot start is one line', async () => {
    // The command has MARKER_VALUE in its environment, and fails without printing it.
    const failed = await runCli(['run', '--', process.execPath, '-e', 'process.exit(process.env.MARKER_VALUE ? 3 : 4)'], as('clean'));
    expect(failed).toEqual({ code: 3, signal: null, stdout: '', stderr: '' });
    const missing = await runCli(['run', '--', '/nonexistent/command'], as('clean'));
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/^secrets: cannot run \/nonexistent\/command: [^\n]+\n$/);
    printsNoValue(missing);
  });
});
