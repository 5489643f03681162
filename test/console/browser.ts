// The console in Debian's Chromium, as a person uses it: a page that records
// everything that must not happen (a request to another origin, a CSP
// violation, a console error, a marker value where it must not be) and checks
// each screen with axe-core, in both layouts, saving a screenshot of each.
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';

export const SCREENSHOTS = path.resolve('results', 'console');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export const DESKTOP = { width: 1280, height: 800 };
export const MOBILE = { width: 390, height: 844 };

/** What a GraphQL request from the page asked for: its operation's name (the console names every operation). */
function operationOf(body: string | null): string {
  try {
    return /(?:query|mutation|subscription)\s+(\w+)/.exec((JSON.parse(body ?? '{}') as { query?: string }).query ?? '')?.[1] ?? '';
  } catch {
    return '';
  }
}

export interface Watched {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Everything that went wrong so far; the tests expect it empty. */
  readonly problems: string[];
  /** The GraphQL operations the page sent, in order. */
  readonly operations: string[];
}

/**
 * A tab on the console that records problems. `markers` are values that may
 * travel only in the requests that write them (operations named ...CreateSecret
 * or ...UpdateSecret) and in the answers to reveals (...Reveal...).
 */
export async function watchedPage(browser: Browser, baseUrl: string, markers: () => string[], viewport = DESKTOP): Promise<Watched> {
  const context = await browser.newContext({ viewport, permissions: ['clipboard-read', 'clipboard-write'] });
  context.setDefaultTimeout(10_000);
  const origin = new URL(baseUrl).origin;
  const problems: string[] = [];
  const operations: string[] = [];
  const found = (text: string | null | undefined) => markers().find((m) => text?.includes(m));
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
    problems.push(`request to another origin: ${url}`);
    return route.abort();
  });
  const page = await context.newPage();
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
    if (found(message.text())) problems.push('a marker value in console output');
  });
  page.on('request', (req) => {
    if (found(req.url())) problems.push(`a marker value in a URL: ${req.method()}`);
    const operation = req.url().endsWith('/graphql') && req.method() === 'POST' ? operationOf(req.postData()) : '';
    if (operation) operations.push(operation);
    const marker = found(req.postData());
    if (marker && !/(Create|Update)Secret$/.test(operation)) problems.push(`a marker value sent by ${operation || req.url()}`);
  });
  page.on('response', async (res) => {
    const req = res.request();
    if (!req.url().endsWith('/graphql') || req.method() !== 'POST' || !(res.headers()['content-type'] ?? '').includes('json')) return;
    const body = await res.text().catch(() => '');
    const operation = operationOf(req.postData());
    if (found(body) && !/Reveal/.test(operation)) problems.push(`a marker value in the answer to ${operation}`);
    if (/"stack"\s*:|\n\s+at \S+ \(/.test(body)) problems.push(`a stack trace in the answer to ${operation}`);
  });
  return { context, page, problems, operations };
}

/** No marker in the page (but a value on show: `[data-secret-shown]`), its inputs, its URL or its storage (but the key in sessionStorage). */
export async function expectNoMarkerAt(page: Page, markers: string[], key: string) {
  const seen = await page.evaluate(() => {
    const clone = document.documentElement.cloneNode(true) as HTMLElement;
    clone.querySelectorAll('[data-secret-shown]').forEach((e) => e.remove());
    const session: Record<string, string> = {};
    for (let i = 0; i < sessionStorage.length; i++) session[sessionStorage.key(i)!] = sessionStorage.getItem(sessionStorage.key(i)!)!;
    const local: Record<string, string> = {};
    for (let i = 0; i < localStorage.length; i++) local[localStorage.key(i)!] = localStorage.getItem(localStorage.key(i)!)!;
    return {
      html: clone.outerHTML,
      inputs: [...document.querySelectorAll('input, textarea')].map((e) => (e as HTMLInputElement).value),
      url: location.href,
      session,
      local,
      cookie: document.cookie,
    };
  });
  for (const marker of markers) {
    expect(seen.html, 'a marker value in the page').not.toContain(marker);
    expect(seen.inputs.join('\n'), 'a marker value left in an input').not.toContain(marker);
  }
  expect(seen.url).not.toContain(key);
  expect(seen.local).toEqual({});
  expect(seen.cookie).toBe('');
  expect(Object.values(seen.session)).toEqual([key]);
}

/** axe-core in the page: no serious or critical violation. */
export async function expectAccessible(page: Page, screen: string) {
  // page.evaluate runs outside the page's CSP (no inline script is added).
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const result = await (
      window as unknown as {
        axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> };
      }
    ).axe.run(document, {
      resultTypes: ['violations'],
    });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  expect(violations, `axe on ${screen}`).toEqual([]);
}

/** The layout holds: nothing wider than the window. */
export async function expectNoOverflow(page: Page, screen: string) {
  const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, window: window.innerWidth }));
  expect(widths.page, `${screen} is wider than the window`).toBeLessThanOrEqual(widths.window);
}

export async function screenshot(page: Page, name: string) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
