// GraphiQL, served by us. yoga's default page loads GraphiQL from a public
// CDN: without internet it never starts, and with internet the page where
// people paste API keys runs third-party code. Here the page and every asset
// come from @graphql-yoga/render-graphiql (the same GraphiQL build, kept in
// step with graphql-yoga) through our own routes, and a
// Content-Security-Policy lets the page load and connect to our origin only.
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { GraphiQLOptions } from 'graphql-yoga';

export const GRAPHIQL_ASSETS = '/graphql/assets';

/**
 * Our origin only. Styles may be inline: Monaco and React set element styles
 * at run time. Fonts and icons come as data: URLs inside GraphiQL's own CSS.
 */
export const GRAPHIQL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** yoga's renderGraphiQL: the page, with its options as a JSON block that start.js reads (no inline script). */
export function renderGraphiQL(options: GraphiQLOptions): string {
  // `<` escaped: the JSON cannot close its <script> element.
  const json = JSON.stringify(options).replace(/</g, '\\u003c');
  const title = escapeHtml(options.title ?? 'GraphiQL');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${title}</title>
    <link rel="icon" href="${GRAPHIQL_ASSETS}/favicon.ico" />
    <link rel="stylesheet" href="${GRAPHIQL_ASSETS}/graphiql.css" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>You need to enable JavaScript to run GraphiQL.</noscript>
    <div id="root"></div>
    <script type="application/json" id="graphiql-options">${json}</script>
    <script src="${GRAPHIQL_ASSETS}/graphiql.js"></script>
    <script src="${GRAPHIQL_ASSETS}/start.js"></script>
  </body>
</html>
`;
}

type Bundle = typeof import('@graphql-yoga/render-graphiql/graphiql');

const JS = 'text/javascript; charset=utf-8';
const ASSETS: Record<string, { type: string; body: (bundle: Bundle) => string | Buffer }> = {
  'graphiql.js': { type: JS, body: (b) => b.js },
  'graphiql.css': { type: 'text/css; charset=utf-8', body: (b) => b.css },
  'editor.worker.js': { type: JS, body: (b) => b.editorWorkerService },
  'json.worker.js': { type: JS, body: (b) => b.jsonWorker },
  'graphql.worker.js': { type: JS, body: (b) => b.graphqlWorker },
  'favicon.ico': { type: 'image/x-icon', body: (b) => Buffer.from(b.favicon.slice(b.favicon.indexOf(',') + 1), 'base64') },
  'start.js': { type: JS, body: () => START },
};
const START = readFileSync(new URL('./start.js', import.meta.url), 'utf8');

/** GET /graphql/assets/<file>. The bundle (9 MB of text) is loaded on the first request, not at start-up. */
export function graphiqlAssetRoutes() {
  let bundle: Promise<Bundle> | undefined;
  return async function register(app: FastifyInstance) {
    app.get<{ Params: { file: string } }>(
      `${GRAPHIQL_ASSETS}/:file`,
      {
        schema: { hide: true },
        config: { rateLimit: false },
      },
      async (request, reply) => {
        const asset = Object.hasOwn(ASSETS, request.params.file) ? ASSETS[request.params.file] : undefined;
        if (!asset) return reply.status(404).send({ error: 'not_found', message: 'No such GraphiQL asset' });
        bundle ??= import('@graphql-yoga/render-graphiql/graphiql');
        return reply.type(asset.type).send(asset.body(await bundle));
      },
    );
  };
}
