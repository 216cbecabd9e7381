// `npm start`: the whole supergraph in one process on the embedded defaults.
import { performance } from 'node:perf_hooks';
import { loadConfig } from '@platform/kernel/boot';
import { prepareEmbeddedDatabases } from './prepare.js';
import { findRoot } from './root.js';

const config = loadConfig();
const root = findRoot(undefined);
// First start: initdb runs on a worker thread while the kernel and the modules load. A failure
// here surfaces again, with its module named, when that module opens its database.
Promise.resolve()
  .then(() => prepareEmbeddedDatabases(config, root))
  .catch(() => {});

const { runMain } = await import('@platform/kernel');
const { createLogger } = await import('@platform/kernel/tools');
const { discoverModules } = await import('./modules.js');
const { startPlatform } = await import('./platform.js');
const logger = createLogger(config, 'platform');

await runMain(
  async () => {
    const modules = await discoverModules(root);
    const platform = await startPlatform(config, modules);
    const seconds = (performance.now() / 1000).toFixed(1);
    const lines = [
      '',
      `  Supergraph ready in ${seconds}s (${config.database.url ? 'PostgreSQL' : `embedded PGlite in ${config.dataDir}`})`,
      `  GraphQL + Apollo Sandbox  ${platform.gateway.url}`,
      ...Object.values(platform.subgraphs).map((s) => `  ${s.name.padEnd(24)} ${s.url}`),
      `  health / readiness / metrics on every service: /healthz /ready /metrics`,
      '  Ctrl-C to stop',
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return platform;
  },
  { logger, forceExitMs: 5000 },
);
