/**
 * Import rules for the platform's sources (kernel, gateway, modules, scripts), type-only imports
 * included, tests excluded: `npm run deps:check`, in .ci/run.
 * - no import cycles;
 * - the kernel's layers (below) import only their own layer and the ones beneath it;
 * - modules import no other module, nor the gateway or scripts; the kernel imports none of the
 *   gateway, modules or scripts; the gateway imports no module nor scripts;
 * - outside the kernel, kernel code is reached only through its package entry points
 *   (`@platform/kernel`, `@platform/kernel/<entry>`, from kernel/package.json "exports").
 */
import { readFileSync } from 'node:fs';

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const anyOf = (patterns) => `(${patterns.join('|')})`;

/** The kernel's entry points' sources (the "@platform/source" target of each export). */
const kernelExports = JSON.parse(readFileSync(new URL('./kernel/package.json', import.meta.url), 'utf8')).exports;
const kernelEntrySources = Object.values(kernelExports)
  .map((target) => (typeof target === 'object' && target !== null ? target['@platform/source'] : undefined))
  .filter((source) => typeof source === 'string')
  .map((source) => `kernel/${source.replace(/^\.\//, '')}`);

/**
 * The kernel's layers, lowest first, each a set of paths under kernel/src. A file may import its
 * own layer and those below it, never one above. Files outside every layer are reported
 * (kernel-layer-unassigned) so a new folder gets a place here.
 */
const KERNEL_LAYERS = [
  {
    name: 'foundation',
    comment:
      'errors and their messages\u2019 catalogs, version, validation, config, retry, logging and the per-request context store',
    paths: [
      'errors\\.ts$',
      'i18n/',
      'version\\.ts$',
      'validation\\.ts$',
      'config/',
      'retry/',
      'logging/',
      'http/request-context\\.ts$',
    ],
  },
  {
    name: 'infrastructure',
    comment:
      'HTTP server, database (with the kernel event tables\u2019 migrations it runs first: events/migrations/), ' +
      'Redis, metrics, tracing, health, security, limits, the error bus',
    paths: [
      'http/(?!request-context\\.ts$)',
      'error-bus/',
      'database/',
      'events/migrations/',
      'jobs/migrations/',
      'redis\\.ts$',
      'metrics/',
      'tracing/',
      'health/',
      'security/',
      'limits/',
    ],
  },
  {
    name: 'services',
    comment: 'events, auth, GraphQL, subscriptions, service contracts, jobs, mail, cache, files',
    paths: [
      'events/(?!migrations/)',
      'auth/',
      'graphql/',
      'subscriptions/',
      'contracts/',
      'jobs/(?!migrations/)',
      'mail/',
      'cache/',
      'files/',
    ],
  },
  { name: 'module', comment: 'the module framework', paths: ['module/'] },
  { name: 'service', comment: 'running a module or the gateway as a service', paths: ['service/'] },
  {
    name: 'entry',
    comment: 'the package entry points (every "exports" target of kernel/package.json) and the test kit',
    paths: [...kernelEntrySources.map((source) => `${escape(source.replace(/^kernel\/src\//, ''))}$`), 'testing/'],
  },
];
const layerPath = (layers) => `^kernel/src/${anyOf(layers.flatMap((layer) => layer.paths))}`;

/**
 * Temporary, narrowly scoped exceptions to the layer rules: upward imports in files their owners
 * are changing right now. Each names one edge (from → to); remove it once the edge is gone.
 */
/** Imports allowed to run upwards, each with its reason: none. */
const LAYER_EXCEPTIONS = [];

const layerRules = KERNEL_LAYERS.slice(0, -1).map((layer, index) => {
  const above = KERNEL_LAYERS.slice(index + 1);
  const exceptions = LAYER_EXCEPTIONS.filter((e) => new RegExp(layerPath([layer])).test(e.from));
  return {
    name: `kernel-layer-${layer.name}`,
    comment:
      `The kernel's ${layer.name} layer (${layer.comment}) imports nothing from the layers above it ` +
      `(${above.map((l) => l.name).join(', ')}): move the shared part down, or pass it in.`,
    severity: 'error',
    from: {
      path: layerPath([layer]),
      ...(exceptions.length > 0 && { pathNot: anyOf(exceptions.map((e) => `^${escape(e.from)}$`)) }),
    },
    to: { path: layerPath(above) },
  };
});
// The exempted files still may not import upward anywhere else than through their one exempted edge.
const exceptionRules = LAYER_EXCEPTIONS.map((exception) => {
  const index = KERNEL_LAYERS.findIndex((layer) => new RegExp(layerPath([layer])).test(exception.from));
  return {
    name: `kernel-layer-${KERNEL_LAYERS[index].name}`,
    comment: `Temporary exception: ${exception.from} → ${exception.to} only.`,
    severity: 'error',
    from: { path: `^${escape(exception.from)}$` },
    to: { path: layerPath(KERNEL_LAYERS.slice(index + 1)), pathNot: `^${escape(exception.to)}$` },
  };
});

export default {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Modules that import each other, directly or through others: pull the shared part out.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    ...exceptionRules,
    {
      name: 'kernel-layer-unassigned',
      comment: 'A kernel file in no layer of KERNEL_LAYERS (.dependency-cruiser.mjs): give its folder a layer.',
      severity: 'warn',
      from: { path: '^kernel/src/', pathNot: layerPath(KERNEL_LAYERS) },
      to: {},
    },
    {
      name: 'module-imports-module',
      comment: 'A module imports another module: talk through events, contracts or the supergraph instead.',
      severity: 'error',
      from: { path: '^subgraphs/([^/]+)/' },
      to: { path: '^subgraphs/', pathNot: '^subgraphs/$1/' },
    },
    {
      name: 'module-imports-app',
      comment: 'A module imports the gateway or scripts; modules depend on the kernel only.',
      severity: 'error',
      from: { path: '^subgraphs/' },
      to: { path: '^(gateway|scripts)/' },
    },
    {
      name: 'kernel-imports-app',
      comment: 'The kernel imports the gateway, a module or scripts; they build on it, not the reverse.',
      severity: 'error',
      from: { path: '^kernel/' },
      to: { path: '^(gateway|subgraphs|scripts)/' },
    },
    {
      name: 'gateway-imports-module',
      comment: 'The gateway imports a module or scripts; it knows modules through the supergraph only.',
      severity: 'error',
      from: { path: '^gateway/' },
      to: { path: '^(subgraphs|scripts)/' },
    },
    {
      name: 'kernel-by-relative-path',
      comment: 'Kernel sources reached by a relative path from outside the kernel: import @platform/kernel instead.',
      severity: 'error',
      from: { pathNot: '^kernel/' },
      to: { path: '^kernel/', dependencyTypes: ['local'] },
    },
    {
      name: 'kernel-internals',
      comment:
        'Kernel internals reached from outside the kernel: use an entry point of @platform/kernel ' +
        '(kernel/package.json "exports"), or export what is needed from one.',
      severity: 'error',
      from: { pathNot: '^kernel/' },
      to: { path: '^kernel/src/', pathNot: anyOf(kernelEntrySources.map((source) => `^${escape(source)}$`)) },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(node_modules|/dist/|\\.test\\.ts$|__tests__)' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      // "exports" resolves @platform/* workspace imports to their sources (the first condition).
      exportsFields: ['exports'],
      conditionNames: ['@platform/source', 'import', 'node', 'default'],
    },
  },
};
