// The CLI's live features, as real processes against the real app: `import`
// of a dotenv file, `run --watch` (one restart per burst of changes), and the
// offline fallback of `run` and `export`.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../helpers/service-process.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { graphql } from '../helpers/http.ts';
import { runCli, startCli } from './process.ts';

const MARKER = `cli-live-${randomBytes(6).toString('hex')}`;
let app: TestApp;
let apiKey: string;
let dir: string;
beforeAll(async () => {
  app = await startTestApp();
  ({ apiKey } = await app.createProject('cli-live'));
  dir = await mkdtemp(path.join(tmpdir(), 'secrets-cli-live-'));
});
afterAll(async () => {
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

const envFor = (extra: Record<string, string> = {}) => ({ SECRETS_URL: app.baseUrl, SECRETS_API_KEY: apiKey, ...extra });
const cli = (args: string[], options: { stdin?: string; env?: Record<string, string> } = {}) => runCli(args, { ...options, env: envFor(options.env) });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** waitUntil with this file's bound against a hang. */
const until = (check: () => boolean | Promise<boolean>, boundMs = 20_000) => waitUntil(check, boundMs);

describe('secrets import', () => {
  it('reads dotenv as dotenv does (multiline, export, comments, # in quotes), refuses an empty value, reports per name, changes nothing the second time, prints no value', async () => {
    const file = path.join(dir, 'import.env');
    await writeFile(
      file,
      [
        '# a comment',
        `export IMPORT_EXPORTED=${MARKER}-1`,
        'IMPORT_EMPTY=',
        `IMPORT_MULTI="${MARKER} line one`,
        'line two"',
        `IMPORT_HASH="${MARKER} # not a comment"   # a comment`,
        "IMPORT_SINGLE='$NOT_EXPANDED'",
        `bad-name=${MARKER}`,
        '',
      ].join('\n'),
    );

    const plan = await cli(['import', file, '--dry-run']);
    expect(plan.code).toBe(0);
    expect(plan.stdout.trim().split('\n')).toEqual(
      ['IMPORT_EXPORTED', 'IMPORT_EMPTY', 'IMPORT_MULTI', 'IMPORT_HASH', 'IMPORT_SINGLE', 'bad-name'].map((n) =>
        n === 'IMPORT_EMPTY' ? `would refuse\t${n}\tempty value` : `would create\t${n}`,
      ),
    );
    expect((await cli(['export', '--format', 'json'])).stdout).not.toContain('IMPORT_');

    const first = await cli(['import', file]);
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(
      /^created\tIMPORT_EXPORTED\nrefused\tIMPORT_EMPTY\tempty value\ncreated\tIMPORT_MULTI\ncreated\tIMPORT_HASH\ncreated\tIMPORT_SINGLE\nrefused\tbad-name\tname: .+\n$/,
    );
    expect(first.stderr).toContain('2 of 6 not imported');
    const values = JSON.parse((await cli(['export', '--format', 'json'])).stdout);
    expect(values.IMPORT_EMPTY).toBeUndefined();
    expect(values).toMatchObject({
      IMPORT_EXPORTED: `${MARKER}-1`,
      IMPORT_MULTI: `${MARKER} line one\nline two`,
      IMPORT_HASH: `${MARKER} # not a comment`,
      IMPORT_SINGLE: '$NOT_EXPANDED',
    });

    const second = await cli(['import', file]);
    expect(second.stdout.split('\n').filter((l) => l.startsWith('unchanged')).length).toBe(4);
    await writeFile(file, `IMPORT_EXPORTED=${MARKER}-2\nIMPORT_EMPTY=\n`);
    const skipping = await cli(['import', file, '--skip-empty']);
    expect({ code: skipping.code, stdout: skipping.stdout }).toEqual({ code: 0, stdout: 'updated\tIMPORT_EXPORTED\nskipped\tIMPORT_EMPTY\n' });
    expect(JSON.parse((await cli(['export', '--format', 'json'])).stdout).IMPORT_EMPTY).toBeUndefined();
    for (const run of [plan, first, second]) expect(run.stdout + run.stderr).not.toContain(MARKER);
    expect(app.logs.join('\n')).not.toContain(MARKER);
  });
});

describe('secrets run --watch', () => {
  it('restarts the command once per burst of changes to a value it received, not for other changes; exits with its code when it ends by itself', async () => {
    const starts = path.join(dir, 'starts.log');
    await cli(['set', 'WATCHED'], { stdin: 'first' });
    await cli(['set', 'WATCH_OTHER'], { stdin: 'x' });
    // The command logs each start with the value it got, ends by itself (code 7) on "quit", and otherwise runs until stopped.
    const script = `require('fs').appendFileSync(${JSON.stringify(starts)}, process.env.WATCHED + '\\n'); if (process.env.WATCHED === 'quit') process.exit(7); setInterval(() => {}, 1000);`;
    const watcher = startCli(['run', '--watch', '--grace', '2', '--', process.execPath, '-e', script], { env: envFor() });
    const startsSoFar = async () => (await readFile(starts, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
    expect(await until(async () => (await startsSoFar()).length === 1)).toBe(true);
    await sleep(1_500);

    // A burst: three changes within a second, made straight through GraphQL (no CLI start between them).
    const id = JSON.parse((await cli(['get', 'WATCHED'])).stdout).id as string;
    const update = (value: string) =>
      graphql(app.baseUrl, 'mutation($id: ID!, $v: String!) { updateSecret(id: $id, input: {value: $v}) { __typename } }', { id, v: value }, { apiKey });
    for (const value of ['b', 'c', 'd']) expect((await update(value)).body.data.updateSecret.__typename).toBe('UpdateSecretSuccess');
    expect(await until(async () => (await startsSoFar()).length === 2)).toBe(true);
    await sleep(2_500);
    expect(await startsSoFar()).toEqual(['first', 'd']);

    // A new description changes no value; nor does a value the command already has: no restart.
    await graphql(app.baseUrl, 'mutation($id: ID!) { updateSecretMetadata(id: $id, input: {description: "about"}) { __typename } }', { id }, { apiKey });
    expect((await update('d')).body.data.updateSecret.__typename).toBe('UpdateSecretSuccess');
    await sleep(2_500);
    expect(await startsSoFar()).toEqual(['first', 'd']);

    expect((await update('quit')).body.data.updateSecret.__typename).toBe('UpdateSecretSuccess');
    const result = await watcher.done;
    expect(await startsSoFar()).toEqual(['first', 'd', 'quit']);
    expect(result.code).toBe(7);
    expect(result.stderr.match(/restarted the command/g)).toHaveLength(2);
  }, 60_000);
});

describe('the offline fallback', () => {
  it('keeps the last values sealed (0600, no value in the clear), uses them only when the service cannot be reached, with a warning, within --fallback-max-age; never after a refused key', async () => {
    const file = path.join(dir, 'fallback');
    await cli(['set', 'FALLBACK_VALUE'], { stdin: MARKER });
    const saved = await cli(['export', '--format', 'json', '--fallback', file]);
    expect(JSON.parse(saved.stdout).FALLBACK_VALUE).toBe(MARKER);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).not.toContain(MARKER);

    // A refused key: no fallback, no value.
    const refused = await cli(['export', '--fallback', file], { env: { SECRETS_API_KEY: 'sk-lw-not-a-key' } });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');

    // The service away: the saved values, with a warning; run too.
    const away = { SECRETS_URL: 'http://127.0.0.1:9' };
    const noFallback = await cli(['export'], { env: away });
    expect(noFallback).toMatchObject({ code: 1, stdout: '' });
    // Saved for another URL: not used for this one.
    expect((await cli(['export', '--fallback', file], { env: away })).stderr).toContain('not of this one');
    // Saved through a second node, then that node stops: its URL no longer answers.
    const bakFile = path.join(dir, 'fallback-away');
    const second = await startTestApp({ dbName: app.connection.name, masterKey: app.masterKey });
    const viaSecond = { SECRETS_URL: second.baseUrl };
    expect((await cli(['export', '--fallback', bakFile], { env: viaSecond })).code).toBe(0);
    await second.close({ keepDatabase: true });
    const offline = await cli(['export', '--format', 'json', '--fallback', bakFile], { env: viaSecond });
    expect(offline.code).toBe(0);
    expect(JSON.parse(offline.stdout).FALLBACK_VALUE).toBe(MARKER);
    expect(offline.stderr).toMatch(/warning: Cannot reach the secrets service .* using the values saved at /);
    const ran = await cli(['run', '--fallback', bakFile, '--', process.execPath, '-e', 'process.stdout.write(process.env.FALLBACK_VALUE)'], { env: viaSecond });
    expect(ran).toMatchObject({ code: 0, stdout: MARKER });
    const tooOld = await cli(['export', '--fallback', bakFile, '--fallback-max-age', '0s'], { env: viaSecond });
    expect(tooOld.code).toBe(1);
    expect(tooOld.stderr).toContain('older than --fallback-max-age');
    const otherKey = await cli(['export', '--fallback', bakFile], { env: { ...viaSecond, SECRETS_API_KEY: 'sk-lw-another-key' } });
    expect(otherKey.stderr).toContain('does not open with this API key');
    expect(otherKey.stdout).toBe('');
  });
});
