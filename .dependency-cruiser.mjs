/**
 * No import cycles in the platform's sources (kernel, gateway, modules, scripts), type-only
 * imports included: `npm run deps:check`, in .ci/run.
 */
export default {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Modules that import each other, directly or through others: pull the shared part out.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(node_modules|/dist/|\\.test\\.ts$|__tests__)' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { conditionNames: ['@platform/source', 'import', 'node', 'default'] },
  },
};
