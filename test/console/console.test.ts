// The web console, walked in Debian's Chromium against the real server (no
// mocked API): every screen of issue 24, with a second client changing things
// underneath. Each test fails on a request to another origin, a CSP violation,
// a console error, or a marker value where it must not be (browser.ts).
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../../src/console/route.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { graphql, request } from '../helpers/http.ts';
import { DESKTOP, expectAccessible, expectNoMarkerAt, expectNoOverflow, MOBILE, screenshot, watchedPage, type Watched } from './browser.ts';

const MARKER = `console-marker-${randomBytes(6).toString('hex')}`;
const markers = () => [MARKER];
const V = (n: number) => `${MARKER}-v${n}`;

let app: TestApp;
let apiKey: string;
let browser: Browser;
let w: Watched;
let page: Page;
let hooks: Server;
const delivered: string[] = [];

beforeAll(async () => {
  hooks = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      delivered.push(body);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
  app = await startTestApp({ webhooks: { allowedHosts: ['127.0.0.1'], timing: { intervalMs: 100 } } });
  ({ apiKey } = await app.createProject('console'));
  browser = await launchChromium();
  w = await watchedPage(browser, app.baseUrl, markers);
  page = w.page;
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await app?.close();
  hooks?.close();
});

const url = (path: string) => `${app.baseUrl}/console${path}`;
const gql = (query: string, variables: Record<string, unknown> = {}, key = apiKey) => graphql(app.baseUrl, query, variables, { apiKey: key });
async function stored(name: string, environment = 'default'): Promise<{ id: string; version: number; value: string } | null> {
  const found = await gql('query($n: String!, $e: String) { secretByName(name: $n, environment: $e) { id version } }', { n: name, e: environment });
  const secret = found.body.data?.secretByName;
  if (!secret) return null;
  const revealed = await gql(
    'query($id: ID!, $e: String) { revealSecret(id: $id, environment: $e, resolve: false, reason: "test") { ... on RevealSecretSuccess { value } } }',
    {
      id: secret.id,
      e: environment,
    },
  );
  return { ...secret, value: revealed.body.data.revealSecret.value };
}
const heading = (text: string | RegExp) => page.getByRole('heading', { level: 1, name: text });
const noProblems = () => expect(w.problems).toEqual([]);

describe('the console over HTTP', () => {
  it('serves its page under a CSP of our origin only, with no inline script, and its hashed assets for a year', async () => {
    const res = await fetch(url('/'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toMatch(/script-src 'self';/);
    expect(CONSOLE_CSP).toMatch(/connect-src 'self';/);
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    const html = await res.text();
    expect(html).not.toMatch(/<script>|<script(?![^>]*\bsrc=)[^>]*>[^<]|style="/);
    const assets = [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of assets) {
      const file = await fetch(`${app.baseUrl}${asset}`);
      expect(file.status).toBe(200);
      expect(file.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      // Compressed at build time, sent as the browser accepts.
      const br = await fetch(`${app.baseUrl}${asset}`, { headers: { 'accept-encoding': 'br' } });
      expect([br.headers.get('content-encoding'), br.headers.get('content-security-policy')]).toEqual(['br', CONSOLE_CSP]);
      const plain = await fetch(`${app.baseUrl}${asset}`, { headers: { 'accept-encoding': 'identity' } });
      expect(plain.headers.get('content-encoding')).toBeNull();
    }
    // A screen's link is the page too (the console routes it); a missing asset is a 404, and no file outside the build is reachable.
    const deep = await fetch(url('/e/default/secrets?q=X'));
    expect([deep.status, deep.headers.get('cache-control')]).toEqual([200, 'no-cache']);
    const missing = await fetch(url('/assets/nope.js'));
    expect([missing.status, missing.headers.get('cache-control')]).toEqual([404, 'no-store']);
    expect((await fetch(url('/assets/..%2F..%2F..%2Fpackage.json'))).status).toBeGreaterThanOrEqual(400);
    expect((await fetch(`${app.baseUrl}/console`, { redirect: 'manual' })).headers.get('location')).toBe('/console/');
  });
});

describe('the console in Chromium', { timeout: 60_000 }, () => {
  it('asks for a key, keeps it in sessionStorage only, and shows what the key may do', async () => {
    await page.goto(url('/'));
    await page.getByLabel('API key').waitFor();
    await screenshot(page, 'sign-in-desktop');
    await page.getByLabel('API key').fill('sk-lw-not-a-key');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: /key/i }).first().waitFor();
    // The browser itself reports the refused request (401) as a console error: that one is expected.
    const refused = w.problems.findIndex((p) => /status of 401/.test(p));
    expect(refused).toBeGreaterThanOrEqual(0);
    w.problems.splice(refused, 1);
    await page.getByLabel('API key').fill(apiKey);
    await page.keyboard.press('Enter');
    await page.waitForURL(url('/e/default/secrets'));
    await heading(/Secrets in/).waitFor();
    const rights = await page.getByRole('complementary', { name: 'This key' }).textContent();
    expect(rights).toContain('secrets:reveal');
    expect(rights).toContain('All environments');
    expect(rights).toContain('Expires never');
    await expectNoMarkerAt(page, markers(), apiKey);
    noProblems();
  });

  it("creates a secret under the server's own rules, its messages beside the inputs; the value is never shown back", async () => {
    await page.getByRole('link', { name: 'New secret' }).click();
    await heading(/New secret/).waitFor();
    await page.getByLabel('Name').fill('not a name');
    await page.getByLabel('Value').fill(V(1));
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator('.field-error', { hasText: 'Name must start with an uppercase letter' }).waitFor();
    expect(await stored('not a name')).toBeNull();
    await page.getByLabel('Name').fill('CONSOLE_TOKEN');
    await page.getByLabel('Description (optional)').fill('made in the console');
    await page.getByRole('button', { name: 'Create' }).click();
    await heading(/CONSOLE_TOKEN/).waitFor();
    expect(await stored('CONSOLE_TOKEN')).toMatchObject({ version: 1, value: V(1) });
    // The edit form's value field is empty: write-only.
    expect(await page.getByLabel('Value').inputValue()).toBe('');
    await expectNoMarkerAt(page, markers(), apiKey);
    noProblems();
  });

  it('shows a change made by another client (REST, then GraphQL) without a reload', async () => {
    await page.getByRole('link', { name: /Secrets in default/ }).click();
    await heading(/Secrets in/).waitFor();
    await app.subscribed(1);
    const started = Date.now();
    expect((await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'LIVE_FROM_REST', value: V(0) } })).status).toBe(201);
    await page.getByRole('link', { name: 'LIVE_FROM_REST' }).waitFor({ timeout: 5_000 });
    const created = Date.now() - started;
    const token = (await stored('CONSOLE_TOKEN'))!;
    const again = Date.now();
    await gql('mutation($id: ID!, $v: String!) { updateSecret(id: $id, input: { value: $v }) { __typename } }', { id: token.id, v: V(2) });
    await page
      .getByRole('row', { name: /CONSOLE_TOKEN/ })
      .getByText('v2')
      .waitFor({ timeout: 5_000 });
    console.log(`console: another client's create showed in ${created} ms, its update in ${Date.now() - again} ms`);
    expect(w.operations).not.toContain('Reload');
    noProblems();
  });

  it('filters by the beginning of the name, in the URL so the link can be shared', async () => {
    await page.getByLabel('Filter by name').fill('LIVE');
    await page.waitForURL(/\?q=LIVE/);
    await page.getByRole('link', { name: 'CONSOLE_TOKEN' }).waitFor({ state: 'detached' });
    await page.getByRole('link', { name: 'LIVE_FROM_REST' }).waitFor();
    await page.getByLabel('Filter by name').fill('');
    await page.getByRole('link', { name: 'CONSOLE_TOKEN' }).waitFor();
    noProblems();
  });

  it('an edit sends expectedVersion: a change made meanwhile shows as a conflict with the newer version and overwrites nothing', async () => {
    await page.getByRole('link', { name: 'CONSOLE_TOKEN' }).click();
    await heading(/CONSOLE_TOKEN/).waitFor();
    const token = (await stored('CONSOLE_TOKEN'))!;
    expect(token.version).toBe(2);
    await page.getByLabel('Value').fill(V(99));
    // Meanwhile, another client writes v3.
    await gql('mutation($id: ID!, $v: String!) { updateSecret(id: $id, input: { value: $v }) { __typename } }', { id: token.id, v: V(3) });
    await page.getByRole('button', { name: 'Save new version' }).click();
    await page.getByText(/Nothing was overwritten: the secret is now at v3/).waitFor();
    expect(await stored('CONSOLE_TOKEN')).toMatchObject({ version: 3, value: V(3) });
    await page.getByRole('button', { name: 'Build on v3' }).click();
    await page.getByRole('button', { name: 'Save new version' }).click();
    await page.getByText('Saved as v4.').waitFor();
    expect(await stored('CONSOLE_TOKEN')).toMatchObject({ version: 4, value: V(99) });
    await expectNoMarkerAt(page, markers(), apiKey);
    noProblems();
  });

  it('reveals with a reason, for a while, with a copy button; references shown resolved or as written', async () => {
    await page
      .getByLabel(/^Reason/)
      .first()
      .fill('incident 42');
    await page.getByRole('button', { name: 'Reveal', exact: true }).click();
    const shown = page.locator('[data-secret-shown]');
    await shown.waitFor();
    expect(await shown.textContent()).toBe(V(99));
    await page.getByText(/hidden in \d+ s/).waitFor();
    await page.getByRole('button', { name: 'Copy' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(V(99));
    await page.getByRole('button', { name: 'Hide' }).click();
    await shown.waitFor({ state: 'detached' });
    await expectNoMarkerAt(page, markers(), apiKey);

    expect((await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'REF_USER', value: 'at:${CONSOLE_TOKEN}' } })).status).toBe(201);
    await page.getByRole('link', { name: /Secrets in default/ }).click();
    await page.getByRole('link', { name: 'REF_USER' }).click();
    await heading(/REF_USER/).waitFor();
    await page.getByRole('button', { name: 'Reveal', exact: true }).click();
    await shown.waitFor();
    expect(await shown.textContent()).toBe(`at:${V(99)}`);
    await page.getByLabel(/Resolve references/).uncheck();
    await page.getByRole('button', { name: 'Reveal again' }).click();
    await page.locator('[data-secret-shown]', { hasText: 'at:${CONSOLE_TOKEN}' }).waitFor();
    await page.getByRole('button', { name: 'Hide' }).click();
    noProblems();
  });

  it('lists the versions and rolls back to one: a new version with its value', async () => {
    await page.getByRole('link', { name: /Secrets in default/ }).click();
    await page.getByRole('link', { name: 'CONSOLE_TOKEN' }).click();
    await heading(/CONSOLE_TOKEN/).waitFor();
    await page.getByRole('button', { name: 'Roll back to v1' }).click();
    await page.getByRole('button', { name: 'Confirm roll back to v1' }).click();
    await page.getByText('Rolled back: v5 holds the value of v1.').waitFor();
    expect(await stored('CONSOLE_TOKEN')).toMatchObject({ version: 5, value: V(1) });
    await page.getByRole('row', { name: /v5 \(current\)/ }).waitFor();
    await expectNoMarkerAt(page, markers(), apiKey);
    noProblems();
  });

  it('deletes a secret, lists it with the days left to restore, and restores it', async () => {
    await page.getByRole('button', { name: 'Delete CONSOLE_TOKEN' }).click();
    await page.getByRole('button', { name: 'Confirm delete CONSOLE_TOKEN' }).click();
    await page.waitForURL(url('/e/default/deleted'));
    expect(await stored('CONSOLE_TOKEN')).toBeNull();
    const row = page.getByRole('row', { name: /CONSOLE_TOKEN/ });
    await row.getByText(/7 days/).waitFor();
    await row.getByRole('button', { name: 'Restore CONSOLE_TOKEN' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /Restored/ })
      .waitFor();
    expect(await stored('CONSOLE_TOKEN')).toMatchObject({ value: V(1) });
    noProblems();
  });
});

describe('the console in Chromium: the project', { timeout: 60_000 }, () => {
  it("creates environments, deletes one only when empty (in the server's words), and shows the matrix with equal and different values", async () => {
    await page.getByRole('link', { name: 'Environments' }).click();
    await heading('Environments').waitFor();
    for (const [name, slug] of [
      ['Staging', 'staging'],
      ['Scratch', 'scratch'],
    ]) {
      await page.getByLabel('Name').fill(name!);
      await page.getByLabel('Slug').fill(slug!);
      await page.getByRole('button', { name: 'Create', exact: true }).click();
      await page.getByRole('table').getByRole('link', { name: slug! }).waitFor();
    }
    const token = (await stored('CONSOLE_TOKEN'))!;
    await gql('mutation($v: String!) { createSecret(environment: "staging", input: { name: "CONSOLE_TOKEN", value: $v }) { __typename } }', { v: token.value });
    await gql('mutation($v: String!) { createSecret(environment: "staging", input: { name: "LIVE_FROM_REST", value: $v }) { __typename } }', { v: V(7) });
    await page.getByRole('button', { name: 'Delete staging' }).click();
    await page.getByRole('button', { name: 'Confirm delete staging' }).click();
    const refusal = await gql('mutation { deleteEnvironment(slug: "staging") { ... on Error { message } } }');
    await page.getByText(refusal.body.data.deleteEnvironment.message).waitFor();
    await page.getByRole('button', { name: 'Delete scratch' }).click();
    await page.getByRole('button', { name: 'Confirm delete scratch' }).click();
    await page.getByRole('table').getByRole('link', { name: 'scratch' }).waitFor({ state: 'detached' });
    expect((await gql('{ environments { slug } }')).body.data.environments.map((e: { slug: string }) => e.slug)).toEqual(['default', 'staging']);

    await page.getByRole('link', { name: 'Matrix' }).click();
    await heading(/matrix/i).waitFor();
    await page
      .getByRole('row', { name: /CONSOLE_TOKEN/ })
      .getByText('equal')
      .waitFor();
    await page
      .getByRole('row', { name: /LIVE_FROM_REST/ })
      .getByText('different')
      .waitFor();
    await page.getByRole('link', { name: /CONSOLE_TOKEN in staging/ }).waitFor();
    await expectNoMarkerAt(page, markers(), apiKey);
    noProblems();
  });

  it('the environment switcher lists the environments as they change, and moves the screen to another environment', async () => {
    // No reload since the environments screen created staging and deleted scratch.
    await page.getByRole('link', { name: 'Secrets', exact: true }).click();
    await heading(/Secrets in/).waitFor();
    expect(await page.getByLabel('Environment').locator('option').allTextContents()).toEqual(['default', 'staging']);
    await page.getByLabel('Environment').selectOption('staging');
    await page.waitForURL(url('/e/staging/secrets'));
    await page.getByRole('link', { name: 'LIVE_FROM_REST' }).waitFor();
    await page.getByRole('link', { name: 'REF_USER' }).waitFor({ state: 'detached' });
    noProblems();
  });

  it('shows the audit log filtered by operation and outcome, with the reveal reasons', async () => {
    await page.getByRole('link', { name: 'Audit' }).click();
    await heading('Audit').waitFor();
    await page.getByLabel('Operation').selectOption('reveal');
    await page.waitForURL(/operation=reveal/);
    await page.getByRole('cell', { name: 'incident 42' }).first().waitFor();
    await expect.poll(async () => new Set(await page.locator('td[data-label="Operation"]').allTextContents())).toEqual(new Set(['reveal']));
    await page.getByLabel('Outcome').selectOption('conflict');
    await page.waitForURL(/outcome=conflict/);
    await page.getByText('No events match these filters.').waitFor();
    // The console's own refused edit (a compare-and-set failure) is in the log.
    await page.getByLabel('Operation').selectOption('update');
    await page.getByLabel('Outcome').selectOption('version_mismatch');
    const token = (await stored('CONSOLE_TOKEN'))!;
    await page.getByRole('cell', { name: token.id }).first().waitFor();
    noProblems();
  });

  let ciKey = '';
  it('creates an API key (scopes, environment, expiry, a reason rule), shows it once with a copy button, and revokes it', async () => {
    await page.getByRole('link', { name: 'API keys' }).click();
    await heading('API keys').waitFor();
    await page.getByLabel('Name').fill('ci deploy');
    await page.getByLabel('secrets:reveal').check();
    await page.getByRole('main').getByLabel('Environment', { exact: true }).selectOption('staging');
    await page.getByLabel('Expires (optional)').fill('2099-01-01T10:00');
    await page.getByLabel('Must give a reason to reveal').check();
    await page.getByRole('button', { name: 'Create key' }).click();
    const once = page.locator('[data-secret-shown]');
    await once.waitFor();
    ciKey = (await once.textContent())!;
    expect(ciKey).toMatch(/^sk-/);
    await page.getByRole('button', { name: 'Copy' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(ciKey);
    await page.getByRole('button', { name: 'Done' }).click();
    await once.waitFor({ state: 'detached' });
    expect(await page.content()).not.toContain(ciKey);
    const row = page.getByRole('row', { name: /ci deploy/ });
    await row.getByText('staging').waitFor();

    // Signed in with it elsewhere: bound to staging, and a reveal waits for a reason.
    const other = await watchedPage(browser, app.baseUrl, markers);
    await other.page.goto(url('/'));
    await other.page.getByLabel('API key').fill(ciKey);
    await other.page.keyboard.press('Enter');
    await other.page.waitForURL(url('/e/staging/secrets'));
    const rights = (await other.page.getByRole('complementary', { name: 'This key' }).textContent())!;
    expect(rights).toContain('Bound to staging');
    expect(rights).toContain('Reveals need a reason');
    expect(await other.page.getByLabel('Environment').isDisabled()).toBe(true);
    await other.page.getByRole('link', { name: 'CONSOLE_TOKEN' }).click();
    const reveal = other.page.getByRole('button', { name: 'Reveal', exact: true });
    expect(await reveal.isDisabled()).toBe(true);
    await other.page
      .getByLabel(/^Reason/)
      .first()
      .fill('deploy check');
    await reveal.click();
    await other.page.locator('[data-secret-shown]').waitFor();
    await other.page.getByRole('button', { name: 'Hide' }).click();
    // A key without write or key rights sees no such controls, and says why.
    await other.page.getByText('This key lacks the secrets:write scope.').first().waitFor();
    await other.page.getByRole('link', { name: 'API keys' }).click();
    await other.page.getByText('This key lacks the keys:manage scope.').waitFor();

    await row.getByRole('button', { name: /Revoke ci deploy/ }).click();
    await page.getByRole('button', { name: /Confirm revoke ci deploy/ }).click();
    await row.getByText(/revoked/).waitFor();
    // The revoked key's session ends at its next request (a node may remember a key for 2 s).
    const signIn = other.page.getByLabel('API key');
    for (let i = 0; i < 10 && !(await signIn.isVisible()); i++) {
      await other.page.getByRole('link', { name: i % 2 ? 'Secrets' : 'Audit', exact: true }).click();
      await other.page.waitForTimeout(500);
    }
    await signIn.waitFor();
    expect(await other.page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(other.problems.filter((p) => !p.includes('401'))).toEqual([]);
    await other.context.close();
    noProblems();
  });
});

describe('the console in Chromium: webhooks and import', { timeout: 60_000 }, () => {
  it('creates a webhook (its signing secret shown once) and lists its deliveries with status and attempts', async () => {
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await heading('Webhooks').waitFor();
    const hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook`;
    await page.getByLabel('URL').fill(hookUrl);
    await page.getByLabel('created', { exact: true }).check();
    await page.getByRole('main').getByLabel('Environment', { exact: true }).selectOption('default');
    await page.getByRole('button', { name: /Create/ }).click();
    const once = page.locator('[data-secret-shown]');
    await once.waitFor();
    const signingSecret = (await once.textContent())!;
    expect(signingSecret.length).toBeGreaterThan(16);
    await page.getByRole('button', { name: 'Done' }).click();
    await once.waitFor({ state: 'detached' });
    expect(await page.content()).not.toContain(signingSecret);

    expect((await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'HOOKED', value: V(8) } })).status).toBe(201);
    await expect.poll(() => delivered.length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(delivered.join('\n')).not.toContain(MARKER);
    await page.getByRole('link', { name: 'Deliveries' }).click();
    await heading(/Deliveries/).waitFor();
    const row = page.getByRole('row', { name: /created/ });
    for (let i = 0; i < 20 && !(await row.getByText('DELIVERED', { exact: false }).isVisible()); i++) {
      await page.getByRole('button', { name: 'Reload' }).click();
      await page.waitForTimeout(250);
    }
    await row
      .getByText(/delivered/i)
      .first()
      .waitFor();
    expect(await row.locator('td[data-label="Attempts"]').textContent()).toBe('1');
    noProblems();
  });

  it('imports a .env file: a dry run per name (created, updated, unchanged, refused), then apply, by the rules of secrets import', async () => {
    const current = (await stored('CONSOLE_TOKEN'))!;
    await page.goto(url('/e/default/import'));
    await heading(/Import/).waitFor();
    const file = [`CONSOLE_TOKEN=${current.value}`, `HOOKED=${V(9)}`, `IMPORTED_ONE="${V(10)}"`, 'EMPTY_ONE=', `lower_case=${V(11)}`, ''].join('\n');
    await page.getByLabel('Choose a .env file').setInputFiles({ name: 'team.env', mimeType: 'text/plain', buffer: Buffer.from(file) });
    await page.getByText('team.env: 5 variables read.').waitFor();
    await page.getByRole('button', { name: 'Dry run' }).click();
    const plan = async (name: string) =>
      (
        await page
          .getByRole('row', { name: new RegExp(`^${name}\\b`) })
          .first()
          .locator('td')
          .nth(1)
          .textContent()
      )?.trim();
    await page.getByRole('button', { name: 'Apply' }).waitFor();
    expect(await plan('CONSOLE_TOKEN')).toBe('unchanged');
    expect(await plan('HOOKED')).toBe('update');
    expect(await plan('IMPORTED_ONE')).toBe('create');
    expect(await plan('EMPTY_ONE')).toMatch(/^refused: empty value/);
    expect(await plan('lower_case')).toBe('create');
    // A dry run changes nothing.
    expect(await stored('IMPORTED_ONE')).toBeNull();

    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText(/2 created|1 created/).waitFor();
    const results = page.getByRole('table').last();
    expect(await results.getByRole('row', { name: /^IMPORTED_ONE/ }).textContent()).toContain('created');
    expect(await results.getByRole('row', { name: /^HOOKED/ }).textContent()).toContain('updated');
    expect(await results.getByRole('row', { name: /^lower_case/ }).textContent()).toContain('Name must start with an uppercase letter');
    await page.getByText('1 created, 1 updated, 1 unchanged, 2 refused').waitFor();
    expect(await stored('IMPORTED_ONE')).toMatchObject({ version: 1, value: V(10) });
    expect(await stored('HOOKED')).toMatchObject({ version: 2, value: V(9) });
    expect(await stored('CONSOLE_TOKEN')).toMatchObject({ version: current.version });
    await expectNoMarkerAt(page, markers(), apiKey);
    noProblems();
  });
});

describe('every screen', { timeout: 120_000 }, () => {
  it('has no serious or critical axe violation, holds its layout at 1280×800 and 390×844, and is saved as a screenshot', async () => {
    const token = (await stored('CONSOLE_TOKEN'))!;
    const gone = (await stored('LIVE_FROM_REST'))!;
    await gql('mutation($id: ID!) { deleteSecret(id: $id) { __typename } }', { id: gone.id });
    const hook = (await gql('{ webhooks { id } }')).body.data.webhooks[0].id as string;
    const screens: [string, string][] = [
      ['secrets', '/e/default/secrets'],
      ['new-secret', '/e/default/secrets/new'],
      ['secret', `/e/default/secrets/${token.id}`],
      ['deleted', '/e/default/deleted'],
      ['import', '/e/default/import'],
      ['environments', '/environments'],
      ['matrix', '/matrix'],
      ['audit', '/audit'],
      ['api-keys', '/keys'],
      ['webhooks', '/webhooks'],
      ['webhook-deliveries', `/webhooks/${hook}`],
    ];
    for (const [size, viewport] of [
      ['desktop', DESKTOP],
      ['mobile', MOBILE],
    ] as const) {
      await page.setViewportSize(viewport);
      for (const [name, path] of screens) {
        await page.goto(url(path));
        await page.getByRole('heading', { level: 1 }).first().waitFor();
        await page.locator('[aria-busy="true"]').waitFor({ state: 'detached' });
        await expectAccessible(page, `${name} (${size})`);
        await expectNoOverflow(page, `${name} (${size})`);
        await expectNoMarkerAt(page, markers(), apiKey);
        await screenshot(page, `${name}-${size}`);
      }
    }
    await page.setViewportSize(DESKTOP);
    noProblems();
  });

  it('the sign-in screen too, in both layouts', async () => {
    for (const [size, viewport] of [
      ['desktop', DESKTOP],
      ['mobile', MOBILE],
    ] as const) {
      const fresh = await watchedPage(browser, app.baseUrl, markers, viewport);
      await fresh.page.goto(url('/e/default/secrets'));
      await fresh.page.getByLabel('API key').waitFor();
      await expectAccessible(fresh.page, `sign-in (${size})`);
      await expectNoOverflow(fresh.page, `sign-in (${size})`);
      await screenshot(fresh.page, `sign-in-${size}`);
      expect(fresh.problems).toEqual([]);
      await fresh.context.close();
    }
  });
});

describe('from the keyboard alone', { timeout: 60_000 }, () => {
  /** Presses Tab until the focused element's text or label is `name`; fails after 80 presses. */
  async function tabTo(tab: Page, name: string | RegExp) {
    for (let i = 0; i < 80; i++) {
      await tab.keyboard.press('Tab');
      const focused = await tab.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        if (!el) return '';
        const labelled = el.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent : null;
        return (el.getAttribute('aria-label') ?? labelled ?? el.closest('label')?.textContent ?? el.textContent ?? '').trim();
      });
      if (typeof name === 'string' ? focused === name : name.test(focused)) return;
    }
    throw new Error(`Tab never reached ${name}`);
  }

  it('signs in, creates a secret, reveals it and deletes it with no mouse', async () => {
    const keys = await watchedPage(browser, app.baseUrl, markers);
    const tab = keys.page;
    await tab.goto(url('/'));
    await tab.getByLabel('API key').waitFor();
    await tabTo(tab, 'API key');
    await tab.keyboard.type(apiKey);
    await tab.keyboard.press('Enter');
    await tab.waitForURL(url('/e/default/secrets'));
    await tabTo(tab, 'New secret');
    await tab.keyboard.press('Enter');
    await tab.getByRole('heading', { name: /New secret/ }).waitFor();
    await tabTo(tab, 'Name');
    await tab.keyboard.type('KEYBOARD_MADE');
    await tabTo(tab, 'Value');
    await tab.keyboard.type(V(20));
    await tabTo(tab, 'Create');
    await tab.keyboard.press('Enter');
    await tab.getByRole('heading', { name: /KEYBOARD_MADE/ }).waitFor();
    await tabTo(tab, /^Reason/);
    await tab.keyboard.type('keyboard check');
    await tabTo(tab, 'Reveal');
    await tab.keyboard.press('Enter');
    expect(await tab.locator('[data-secret-shown]').textContent()).toBe(V(20));
    await tabTo(tab, 'Hide');
    await tab.keyboard.press('Space');
    await tab.locator('[data-secret-shown]').waitFor({ state: 'detached' });
    await tabTo(tab, 'Delete KEYBOARD_MADE');
    await tab.keyboard.press('Enter');
    await tabTo(tab, 'Confirm delete KEYBOARD_MADE');
    await tab.keyboard.press('Enter');
    await tab.waitForURL(url('/e/default/deleted'));
    await tabTo(tab, 'Restore KEYBOARD_MADE');
    await tab.keyboard.press('Enter');
    await tab
      .getByRole('status')
      .filter({ hasText: /Restored/ })
      .waitFor();
    expect(await stored('KEYBOARD_MADE')).toMatchObject({ value: V(20) });
    expect(keys.problems).toEqual([]);
    await keys.context.close();
  });
});
