// npm run bench:console [-- --secrets N --runs R]
//
// What the web console costs a person: the JavaScript (and CSS) a first load
// ships, as the server sends it (brotli, gzip and uncompressed bytes), and the
// time from navigation to the first page of a list of N secrets (5,000 by
// default) drawn in Debian's Chromium, cold (a new browser profile) and warm
// (its cache kept), plus a name filter on that list. The compiled service on
// an engine of its own; printed figures, nothing asserted.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { projectRoot } from '../../src/config.ts';
import { freePort, startBenchEngine, startServerProcess } from './common.ts';

const { values: args } = parseArgs({ options: { secrets: { type: 'string', default: '5000' }, runs: { type: 'string', default: '5' } } });
const SECRETS = Number(args.secrets);
const RUNS = Number(args.runs);
const adminToken = randomBytes(24).toString('hex');

const engine = await startBenchEngine('secrets-bench-console-');
const port = await freePort();
const node = await startServerProcess(
  'service',
  'dist/main.js',
  {
    ...process.env,
    MONGODB_URI: engine.uriOf('console'),
    SECRETS_MASTER_KEY: randomBytes(32).toString('base64'),
    ADMIN_TOKEN: adminToken,
    PORT: String(port),
    RATE_LIMIT_PER_MINUTE: '0',
    // Room to spare: a quota close to full makes each create hunt for a free slot.
    PROJECT_SECRET_LIMIT: String(Math.max(SECRETS * 2, 500)),
    LOG_LEVEL: 'warn',
  },
  port,
  '/healthz',
);
const base = node.base;

let browser: Browser | undefined;
try {
  /** Bytes on the wire for `pathname` with this Accept-Encoding. */
  function wireBytes(pathname: string, encoding: string): Promise<number> {
    return new Promise((resolve, reject) => {
      http
        .get(`${base}${pathname}`, { headers: { 'accept-encoding': encoding } }, (res) => {
          let bytes = 0;
          res.on('data', (chunk: Buffer) => (bytes += chunk.length));
          res.on('end', () => resolve(bytes));
        })
        .on('error', reject);
    });
  }
  const page = await (await fetch(`${base}/console/`)).text();
  const scripts = [...page.matchAll(/<script[^>]+src="([^"]+)"/g)].map((m) => m[1]!);
  const styles = [...page.matchAll(/<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"/g)].map((m) => m[1]!);
  const sizes = async (files: string[]) => {
    const out = { br: 0, gzip: 0, identity: 0 };
    for (const file of files) for (const encoding of ['br', 'gzip', 'identity'] as const) out[encoding] += await wireBytes(file, encoding);
    return out;
  };
  const js = await sizes(scripts);
  const css = await sizes(styles);

  // N secrets, 32 at a time, through the LangWatch door.
  const create = await fetch(`${base}/admin/projects`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: '{"name":"console bench"}',
  });
  const { apiKey } = (await create.json()) as { apiKey: string };
  const seeding = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < SECRETS) {
        const i = next++;
        const res = await fetch(`${base}/api/secrets`, {
          method: 'POST',
          headers: { 'x-auth-token': apiKey, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `SECRET_${String(i).padStart(5, '0')}`, value: `value-${i}`, description: `bench secret ${i}` }),
        });
        if (res.status !== 201) throw new Error(`create ${i}: ${res.status} ${await res.text()}`);
      }
    }),
  );

  console.error(`seeded ${SECRETS} secrets in ${((performance.now() - seeding) / 1000).toFixed(1)} s`);
  // The page's one expensive request, through GraphQL alone: what the engine takes to answer it.
  const apiAlone: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        query: '{ secrets(first: 50) { edges { node { id name description version updatedAt expiresAt provider } } pageInfo { hasNextPage endCursor } } }',
      }),
    });
    if (!res.ok) throw new Error(`secrets(first: 50): ${res.status}`);
    await res.arrayBuffer();
    apiAlone.push(performance.now() - started);
  }
  const chromiumBrowser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  browser = chromiumBrowser;
  // (waitForFunction takes functions, not strings: the page's CSP forbids evaluating text as script.)
  /** Milliseconds from navigation start until the list's first page is drawn, by the page's own clock. */
  async function firstRender(context: BrowserContext) {
    const tab = await context.newPage();
    await tab.goto(`${base}/console/e/default/secrets`, { waitUntil: 'commit' });
    await tab.waitForFunction(() => document.querySelectorAll('tbody tr').length >= 50, undefined, { timeout: 30_000 });
    const ms = await tab.evaluate(() => new Promise<number>((resolve) => requestAnimationFrame(() => resolve(performance.now()))));
    return { tab, ms };
  }
  const signedIn = async () => {
    const context = await chromiumBrowser.newContext({ viewport: { width: 1280, height: 800 } });
    // The bench signs in as a person would have: the key in this tab's sessionStorage.
    await context.addInitScript((key) => sessionStorage.setItem('secrets-console.key', key), apiKey);
    return context;
  };
  const cold: number[] = [];
  const warm: number[] = [];
  const filter: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const context = await signedIn();
    const first = await firstRender(context);
    cold.push(first.ms);
    await first.tab.close();
    const again = await firstRender(context);
    warm.push(again.ms);
    // A prefix that keeps 10 names of N: typed, then the list shows only them.
    const started = await again.tab.evaluate(() => performance.now());
    await again.tab.getByLabel('Filter by name').fill('SECRET_0012');
    await again.tab.waitForFunction(() => document.querySelectorAll('tbody tr').length === 10, undefined, { timeout: 30_000 });
    filter.push((await again.tab.evaluate(() => performance.now())) - started);
    await context.close();
  }

  const median = (xs: number[]) => Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  const result = {
    engine: engine.kind,
    secrets: SECRETS,
    runs: RUNS,
    firstLoadJs: js,
    firstLoadCss: css,
    firstRenderMs: { cold: median(cold), warm: median(warm) },
    firstPageThroughGraphqlMs: median(apiAlone),
    filterMs: median(filter),
  };
  console.log(`engine: ${engine.kind}; console first load and a list of ${SECRETS} secrets, median of ${RUNS} runs in Chromium:`);
  console.log(`  JavaScript on first load: ${kb(js.br)} brotli, ${kb(js.gzip)} gzip, ${kb(js.identity)} uncompressed (${scripts.length} file)`);
  console.log(`  CSS on first load:        ${kb(css.br)} brotli, ${kb(css.gzip)} gzip, ${kb(css.identity)} uncompressed`);
  console.log(`  first page of the list drawn: ${result.firstRenderMs.cold} ms from navigation (new profile), ${result.firstRenderMs.warm} ms (cached)`);
  console.log(`  of which the page's secrets(first: 50) alone, through GraphQL without a browser: ${result.firstPageThroughGraphqlMs} ms`);
  console.log(`  a name filter typed (10 of ${SECRETS} left):  ${result.filterMs} ms to the filtered list (250 ms of it is the wait for typing to stop)`);
  mkdirSync(path.join(projectRoot, 'results'), { recursive: true });
  writeFileSync(path.join(projectRoot, 'results', 'bench-console.json'), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  // Stopped even when a step fails: no service or engine is left running.
  await browser?.close();
  await node.stop();
  await engine.stop();
}
