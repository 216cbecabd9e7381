import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { createEmbeddedClusters, embeddedDataDir, type PlatformConfig } from '@platform/kernel/boot';

/**
 * Starts creating the embedded databases of the modules under `subgraphs/` that have none yet,
 * on a worker thread, while the caller loads the platform. Modules without dependencies come
 * first: they start first, so their clusters are needed first. Only reads the manifests' names
 * and dependencies: validating them is the module loader's job, and a cluster this misses is
 * created when its module opens it.
 */
export function prepareEmbeddedDatabases(config: PlatformConfig, root: string): Promise<void> {
  const subgraphs = join(root, 'subgraphs');
  const modules = readdirSync(subgraphs, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(subgraphs, entry.name, 'module.yaml')))
    .map((entry) => {
      const manifest = parseYaml(readFileSync(join(subgraphs, entry.name, 'module.yaml'), 'utf8')) as {
        name?: unknown;
        dependencies?: unknown;
      } | null;
      const name = typeof manifest?.name === 'string' ? manifest.name : entry.name;
      const dependencies =
        manifest?.dependencies && typeof manifest.dependencies === 'object' ? manifest.dependencies : {};
      return { name, dependencyCount: Object.keys(dependencies).length };
    })
    .sort((a, b) => a.dependencyCount - b.dependencyCount || a.name.localeCompare(b.name));
  return createEmbeddedClusters(modules.flatMap((module) => embeddedDataDir(config, module.name) ?? []));
}
