#!/usr/bin/env node
// The package's command-line client (see `secrets --help`). It runs the
// TypeScript sources through tsx, as `npm start` does.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
