#!/usr/bin/env node
// The package's command-line client (see `secrets --help`): the compiled
// JavaScript that `npm ci` builds (npm run build), or, in a checkout not built
// yet, the TypeScript sources through tsx.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
