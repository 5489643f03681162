// GraphiQL is served by us: the page and every asset come from our origin,
// under a Content-Security-Policy that allows nothing else, and it works in a
// real browser (Debian's Chromium, driven by playwright-core) with no internet.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAPHIQL_CSP } from '../../src/graphql/graphiql/page.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { request } from '../helpers/http.ts';

let app: TestApp;
let apiKey: string;
beforeAll(async () => {
  app = await startTestApp();
  ({ apiKey } = await app.createProject('graphiql'));
  const made = await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: 'SEEN_IN_GRAPHIQL', value: 'graphiql-value-MARKER' } });
  expect(made.status).toBe(201);
});
afterAll(() => app.close());

const page = () => request(app.baseUrl, 'GET', '/graphql', { headers: { accept: 'text/html' } });

describe('GraphiQL over HTTP', () => {
  it('the page loads only our own assets, under a CSP that allows our origin only', async () => {
    const res = await page();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toBe(GRAPHIQL_CSP);
    expect(GRAPHIQL_CSP).toMatch(/default-src 'none'/);
    expect(GRAPHIQL_CSP).toMatch(/script-src 'self';/);
    expect(GRAPHIQL_CSP).not.toMatch(/https?:|\*|unsafe-eval/);
    const urls = [...res.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(urls.sort()).toEqual(['/graphql/assets/favicon.ico', '/graphql/assets/graphiql.css', '/graphql/assets/graphiql.js', '/graphql/assets/start.js']);
    expect(res.text).not.toMatch(/<script>|https?:\/\/(?!www\.w3\.org)/);
  });

  it.each([
    ['graphiql.js', 'text/javascript'],
    ['start.js', 'text/javascript'],
    ['editor.worker.js', 'text/javascript'],
    ['json.worker.js', 'text/javascript'],
    ['graphql.worker.js', 'text/javascript'],
    ['graphiql.css', 'text/css'],
    ['favicon.ico', 'image/x-icon'],
  ])('serves %s as %s, needing no key', async (file, type) => {
    const res = await fetch(`${app.baseUrl}/graphql/assets/${file}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain(type);
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(500);
  });

  it('answers 404 for an asset it does not have', async () => {
    for (const file of ['nope.js', '__proto__', 'constructor', '..%2Fpackage.json']) {
      expect((await fetch(`${app.baseUrl}/graphql/assets/${file}`)).status).toBe(404);
    }
  });
});

/** Opens GraphiQL in `tab`, puts the API key in its Headers tab, runs `operation` (named `name`); returns the response pane. */
async function runInGraphiQL(tab: Page, name: string, operation: string) {
  await tab.goto(`${app.baseUrl}/graphql`);
  await tab.locator('.graphiql-query-editor .monaco-editor').waitFor({ timeout: 30_000 });
  await tab.getByText('Headers', { exact: true }).click();
  await tab.locator('.graphiql-editor-tool .monaco-editor').last().click();
  await tab.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${apiKey}` }));
  await tab.locator('.graphiql-query-editor .monaco-editor').click();
  await tab.keyboard.press('Control+A');
  await tab.keyboard.insertText(operation);
  // GraphiQL names the tab after the operation once it has parsed it.
  await tab.locator('.graphiql-tab', { hasText: name }).waitFor({ timeout: 10_000 });
  await tab.locator('.graphiql-execute-button').click();
  return tab.locator('.graphiql-response');
}

describe('GraphiQL in Chromium, offline', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(() => browser?.close());

  it('renders the editor, asks nothing of another origin, and a query run with the key in its Headers tab shows data', async () => {
    const context = await browser.newContext();
    const origin = new URL(app.baseUrl).origin;
    const elsewhere: string[] = [];
    // Everything that would leave for another origin is recorded and refused: the machine is offline anyway.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (new URL(url).origin === origin || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
      elsewhere.push(url);
      return route.abort();
    });
    const tab = await context.newPage();
    const problems: string[] = [];
    tab.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    await tab.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
    });
    tab.on('console', (message) => {
      if (message.text().startsWith('CSP violation')) problems.push(message.text());
    });

    const response = await runInGraphiQL(tab, 'Probe', 'query Probe { secrets(first: 5) { edges { node { name } } } }');
    await expect.poll(async () => (await response.textContent()) ?? '', { timeout: 15_000 }).toContain('SEEN_IN_GRAPHIQL');
    expect(await response.textContent()).toContain('"data"');
    expect(await response.textContent()).not.toContain('MARKER');

    expect(elsewhere).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  it('runs a subscription: a change made elsewhere shows in the response pane as it happens', async () => {
    const context = await browser.newContext();
    const tab = await context.newPage();
    const response = await runInGraphiQL(tab, 'Live', 'subscription Live { secretEvents { type secret { name version } } }');
    // Made until it shows: the subscription is live a moment after the click.
    await expect
      .poll(
        async () => {
          await request(app.baseUrl, 'POST', '/api/secrets', { apiKey, body: { name: `LIVE_IN_GRAPHIQL_${Date.now()}`, value: 'v' } });
          return (await response.textContent()) ?? '';
        },
        { timeout: 20_000, interval: 1_000 },
      )
      .toContain('LIVE_IN_GRAPHIQL_');
    expect(await response.textContent()).toContain('CREATED');
    await context.close();
  }, 90_000);
});
