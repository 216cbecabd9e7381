import { type PlatformConfig } from '@platform/kernel';
import { createLogger, loadConfig, openDatabase, ServiceMetrics } from '@platform/kernel/tools';
import { scanModules, loadDefinition, registryOf, type DiscoveredModule } from '../modules.js';
import { UsageError } from '../usage.js';

export interface MigrateOptions {
  status: boolean;
  env: Record<string, string | undefined>;
}

/** Applied and pending migrations of one module, read from its own schema. */
async function migrateModule(config: PlatformConfig, module: DiscoveredModule, status: boolean): Promise<void> {
  const name = module.manifest.name;
  const definition = await loadDefinition(module);
  const logger = createLogger(config, name);
  const db = await openDatabase({
    config,
    module: name,
    entities: definition.entities,
    migrations: definition.migrations,
    logger,
    metrics: new ServiceMetrics(name),
  });
  try {
    const where = `${db.kind} schema ${db.schema}`;
    if (status) {
      const applied = (await db.orm.migrator.getExecuted()).map((row) => row.name);
      const pending = await db.pendingMigrations();
      console.log(`${name} (${where}): ${applied.length} applied, ${pending.length} pending`);
      for (const migration of applied) console.log(`  applied  ${migration}`);
      for (const migration of pending) console.log(`  pending  ${migration}`);
    } else {
      const done = await db.migrate();
      console.log(`${name} (${where}): ${done.length === 0 ? 'up to date' : `applied ${done.join(', ')}`}`);
    }
  } finally {
    await db.close();
  }
}

/**
 * `migrate [module...]`: runs (or with `--status` lists) each module's migrations in
 * dependency order, one database at a time.
 */
export async function migrate(root: string, names: string[], options: MigrateOptions): Promise<number> {
  const discovery = scanModules(root);
  const { registry, problems } = registryOf(discovery.modules);
  const known = new Set(discovery.modules.map((m) => m.manifest.name));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new UsageError(`unknown module(s): ${unknown.join(', ')} (known: ${[...known].join(', ') || 'none'})`);
  }
  const reasons = [
    ...discovery.problems.map((p) => `${p.module}: ${p.file}: ${p.message}`),
    ...problems().map((p) => `${p.module}: ${p.message}`),
  ];
  if (reasons.length > 0) {
    console.error('modules are invalid, nothing migrated:');
    for (const reason of reasons) console.error(`  - ${reason}`);
    return 1;
  }

  const config = loadConfig({ env: options.env, cwd: root });
  const selected = registry
    .ordered()
    .filter((m) => (names.length === 0 || names.includes(m.manifest.name)) && m.hasEntry);
  // Modules never share tables, so one failure does not stop the others; all are reported.
  let failed = 0;
  for (const module of selected) {
    try {
      await migrateModule(config, module, options.status);
    } catch (error) {
      failed += 1;
      console.error(
        `${module.manifest.name}: migration failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  for (const module of registry
    .ordered()
    .filter((m) => !m.hasEntry && (names.length === 0 || names.includes(m.manifest.name)))) {
    console.log(`${module.manifest.name}: no src/module.ts, nothing to migrate`);
  }
  return failed > 0 ? 1 : 0;
}
