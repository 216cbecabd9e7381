// `npm start`: the whole supergraph in one process on the embedded defaults.
import { performance } from 'node:perf_hooks';
import { loadConfig, type PlatformConfig } from '@platform/kernel/boot';
import { prepareEmbeddedDatabases } from './prepare.js';
import { findRoot } from './root.js';

/** The configuration, or the lines naming each bad setting and who set it, and exit 1 (no stack). */
function configOrExit(): Readonly<PlatformConfig> {
  try {
    return loadConfig();
  } catch (error) {
    if ((error as Error).name !== 'ConfigError') throw error;
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}

const config = configOrExit();
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
      `  GraphQL                  ${platform.gateway.url}${config.gateway.explorer === 'sandbox' ? ' (Apollo Sandbox in a browser)' : ''}`,
      ...(config.gateway.explorer === 'off' ? [] : [`  GraphiQL (offline)       ${platform.gateway.baseUrl}/graphiql`]),
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
