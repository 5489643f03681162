// The web console (console/, built by `npm run build` into dist/console-ui):
// its page and assets under /console, served by @fastify/static. Any other
// path under /console is one of the console's own routes, so it gets the page
// and the console's router picks the screen. The page talks to /graphql only.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { projectRoot } from '../config.ts';

export const CONSOLE_PATH = '/console/';
export const CONSOLE_BUILD = path.join(projectRoot, 'dist', 'console-ui');

/** Our origin only, and no inline script or style: every asset is a file we built. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function secure(reply: FastifyReply, cache: string): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cache-control', cache);
}

export function consoleRoutes(options: { root?: string } = {}) {
  const root = options.root ?? CONSOLE_BUILD;
  return async function register(app: FastifyInstance) {
    // Files are read per request by @fastify/static; loading them is not an API call, so no rate limit.
    const config = { rateLimit: false } as const;
    const schema = { hide: true };
    const built = existsSync(path.join(root, 'index.html'));
    if (built) await app.register(fastifyStatic, { root, serve: false, preCompressed: true });

    app.get('/console', { config, schema }, (_request, reply) => reply.redirect(CONSOLE_PATH, 301));
    // Hashed names: a file never changes under its name.
    // The build's files, named once: anything else (a stale name, a path that climbs out) is the app's 404, never cached.
    const assets = new Set(built ? readdirSync(path.join(root, 'assets')) : []);
    app.get<{ Params: { '*': string } }>('/console/assets/*', { config, schema }, (request, reply) => {
      if (!built) return notBuilt(reply);
      const file = request.params['*'];
      if (!assets.has(file)) return reply.callNotFound();
      return secure(reply, 'public, max-age=31536000, immutable').sendFile(`assets/${file}`, { cacheControl: false });
    });
    app.get('/console/*', { config, schema }, (_request, reply) => {
      if (!built) return notBuilt(reply);
      return secure(reply, 'no-cache').type('text/html; charset=utf-8').sendFile('index.html', { cacheControl: false });
    });
  };
}

function notBuilt(reply: FastifyReply) {
  return reply.status(503).type('text/plain; charset=utf-8').send('The console is not built: run `npm run build` (npm ci does).\n');
}
