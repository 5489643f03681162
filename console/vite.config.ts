// The console's build: served by the service under /console (src/console/route.ts).
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { compression } from 'vite-plugin-compression2';

export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  // Each asset also as .br and .gz, which @fastify/static sends to a browser that accepts them (preCompressed): nothing is compressed per request.
  plugins: [react(), compression({ algorithms: ['brotliCompress', 'gzip'], include: /\.(js|css|html)$/, threshold: 0 })],
  resolve: {
    // dotenv's parse() (the import screen) needs none of Node's modules that its file loader imports.
    alias: Object.fromEntries(['fs', 'path', 'os', 'url', 'crypto'].map((name) => [name, `${import.meta.dirname}/src/node-builtins.ts`])),
  },
  build: {
    outDir: '../dist/console-ui',
    emptyOutDir: true,
    // No inline <script> and no data: modules: the page's CSP allows our own files only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
});
