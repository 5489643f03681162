// The import rules `npm run lint` holds the code to (and .ci/run with it).
// Type-only imports count: a type is a dependency on its module's concept.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'An import cycle: two modules that need each other are one concept split badly, or a shared one that belongs lower (auth/caller.ts, db/indexes.ts).',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|console/node_modules)/' },
  },
};
