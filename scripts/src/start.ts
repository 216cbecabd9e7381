// `npm start`: the whole supergraph in one process on the embedded defaults.
import { performance } from 'node:perf_hooks';
import { createLogger, loadConfig, runMain } from '@platform/kernel';
import { discoverModules } from './modules.js';
import { startPlatform } from './platform.js';

const config = loadConfig();
const logger = createLogger(config, 'platform');

await runMain(
  async () => {
    const modules = await discoverModules();
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
