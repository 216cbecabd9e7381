import { loadConfig, withModuleRuntime } from '@platform/kernel';
import { loadDefinition, registryOf, scanModules } from '../modules.js';

/**
 * `seed`: runs every module's `seed` hook (identity: the administrator from SEED_ADMIN_EMAIL /
 * SEED_ADMIN_PASSWORD) in dependency order. Idempotent: run it after every deploy.
 */
export async function seed(root: string, env: Record<string, string | undefined>): Promise<number> {
  const discovery = scanModules(root);
  const { registry, problems } = registryOf(discovery.modules);
  const reasons = [...discovery.problems.filter((p) => p.kind !== 'no-manifest'), ...problems()];
  if (reasons.length > 0) {
    console.error('modules are invalid, nothing seeded:');
    for (const reason of reasons) console.error(`  - ${reason.module}: ${reason.message}`);
    return 1;
  }
  const config = loadConfig({ env, cwd: root });
  let failed = 0;
  for (const module of registry.ordered().filter((m) => m.hasEntry)) {
    const definition = await loadDefinition(module);
    const hook = definition.hooks?.seed;
    if (!hook) continue;
    try {
      await withModuleRuntime(definition, config, async (runtime, services) => {
        await hook(runtime, services);
      });
      console.log(`${module.manifest.name}: seeded`);
    } catch (error) {
      failed += 1;
      console.error(`${module.manifest.name}: seed failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return failed > 0 ? 1 : 0;
}
