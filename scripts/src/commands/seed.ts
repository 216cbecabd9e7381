import { type SeedOutcome } from '@platform/kernel';
import { loadConfig, seedContext, withModuleRuntime } from '@platform/kernel/tools';
import { loadDefinition, registryOf, scanModules } from '../modules.js';

export interface SeedOptions {
  /** Take over data the seed did not create (an account with the administrator's email). */
  adoptExisting?: boolean;
}

/**
 * `seed`: runs every module's `seed` hook in dependency order, each handed what the modules
 * before it provided (identity creates or finds the administrator from SEED_ADMIN_EMAIL /
 * SEED_ADMIN_PASSWORD; authz gives it `user` and `admin`), and prints what each did. Works on
 * the database directly, whether or not the services run. Idempotent: run it after every deploy;
 * it repairs what drifted (a missing `admin` role) and changes nothing that is in place.
 */
export async function seed(
  root: string,
  env: Record<string, string | undefined>,
  options: SeedOptions = {},
): Promise<number> {
  const discovery = scanModules(root);
  const { registry, problems } = registryOf(discovery.modules);
  const reasons = [...discovery.problems.filter((p) => p.kind !== 'no-manifest'), ...problems()];
  if (reasons.length > 0) {
    console.error('modules are invalid, nothing seeded:');
    for (const reason of reasons) console.error(`  - ${reason.module}: ${reason.message}`);
    return 1;
  }
  const config = loadConfig({ env, cwd: root });
  const outcomes = new Map<string, SeedOutcome>();
  const failedModules = new Set<string>();
  let failed = 0;
  for (const module of registry.ordered().filter((m) => m.hasEntry)) {
    const name = module.manifest.name;
    const definition = await loadDefinition(module);
    const hook = definition.hooks?.seed;
    if (!hook) continue;
    const missing = Object.keys(module.manifest.dependencies).filter((d) => failedModules.has(d));
    if (missing.length > 0) {
      failed += 1;
      failedModules.add(name);
      console.error(`${name}: not seeded: ${missing.join(', ')} failed before it`);
      continue;
    }
    try {
      const outcome = await withModuleRuntime(definition, config, (runtime, services) =>
        Promise.resolve(hook(runtime, services, seedContext(outcomes, options))),
      );
      outcomes.set(name, outcome ?? {});
      const report = outcome?.report ?? [];
      console.log(`${name}: seeded${report.length ? '' : ' (nothing to report)'}`);
      for (const line of report) console.log(`  ${line}`);
    } catch (error) {
      failed += 1;
      failedModules.add(name);
      console.error(`${name}: seed failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return failed > 0 ? 1 : 0;
}
