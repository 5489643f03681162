import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql can otherwise load twice (ESM and CJS) under vitest: "Cannot use
    // GraphQLObjectType from another module or realm".
    alias: { graphql: 'graphql/index.js' },
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: one file per core keeps the shared engine responsive.
    maxWorkers: 2,
    // The JSON report lets .ci/run print a plain "N passed, N failed" line.
    reporters: ['default', ['json', { outputFile: 'results/vitest.json' }]],
  },
});
