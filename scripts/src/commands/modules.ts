import { KERNEL_TOPICS, KERNEL_VERSION, buildModuleSchema, SchemaRulesError } from '@platform/kernel/tools';
import { spawn } from 'node:child_process';
import semver from 'semver';
import { scanModules, loadDefinition, registryOf, type DiscoveredModule, type Discovery } from '../modules.js';
import { table } from '../table.js';
import { UsageError } from '../usage.js';

const deps = (module: DiscoveredModule): string =>
  Object.entries(module.manifest.dependencies)
    .map(([name, range]) => `${name}@${range}`)
    .join(', ') || '-';

function warnInvalid(discovery: Discovery): void {
  if (discovery.problems.length === 0) return;
  const files = new Set(discovery.problems.map((p) => p.file));
  console.error(
    `warning: ${files.size} module folder(s) not listed (${[...files].join(', ')}); run platformctl modules validate`,
  );
}

/** `modules list`: one row per valid manifest. */
export function listModules(root: string): number {
  const discovery = scanModules(root);
  const rows = discovery.modules.map((m) => [
    m.manifest.name,
    m.manifest.version,
    deps(m),
    String(m.manifest.permissions.length),
    String(m.manifest.events.publishes.length),
    String(m.manifest.events.consumes.length),
  ]);
  if (rows.length === 0) console.log('no modules under subgraphs/');
  else console.log(table(['NAME', 'VERSION', 'DEPENDENCIES', 'PERMISSIONS', 'PUBLISHES', 'CONSUMES'], rows));
  warnInvalid(discovery);
  return 0;
}

/** Rule-coverage and load problems of one module's sources (no database, no port). */
async function sourceProblems(module: DiscoveredModule): Promise<string[]> {
  const where = `subgraphs/${module.dir}/src/module.ts`;
  try {
    const definition = await loadDefinition(module);
    await buildModuleSchema({
      module: module.manifest.name,
      resolvers: definition.resolvers,
      orphanedTypes: definition.orphanedTypes,
      references: definition.references,
      rules: definition.rules,
      permissions: definition.manifest.permissions.map((p) => p.name),
    });
    return [];
  } catch (error) {
    if (error instanceof SchemaRulesError) return error.problems.map((p) => `${where}: ${p}`);
    return [`${where}: ${error instanceof Error ? error.message : String(error)}`];
  }
}

/**
 * Every manifest, registry and (with `sources`) schema-rule problem, one line each: what
 * `modules validate` prints and `doctor` checks ("every field guarded").
 */
export async function moduleProblems(root: string, options: { sources: boolean }): Promise<string[]> {
  const discovery = scanModules(root);
  const lines = discovery.problems.map((p) => `${p.module}: ${p.file}${p.path ? ` ${p.path}` : ''}: ${p.message}`);
  for (const problem of registryOf(discovery.modules).problems()) {
    lines.push(`${problem.module}: ${problem.kind.replace(/-/g, ' ')}: ${problem.message}`);
  }
  if (options.sources) {
    for (const module of discovery.modules) {
      if (!module.hasEntry) continue;
      for (const problem of await sourceProblems(module)) lines.push(`${module.manifest.name}: ${problem}`);
    }
  }
  return lines;
}

/** `modules validate`: every manifest, registry and schema-rule problem at once. */
export async function validateModules(root: string, options: { sources: boolean }): Promise<number> {
  const lines = await moduleProblems(root, options);
  const discovery = scanModules(root);
  if (lines.length > 0) {
    console.error(`${lines.length} problem(s):`);
    for (const line of lines) console.error(`  - ${line}`);
    return 1;
  }
  const count = discovery.modules.length;
  console.log(`${count} module${count === 1 ? '' : 's'} valid`);
  return 0;
}

/** `modules info <name>`: the manifest, plus who depends on the module and who publishes what it consumes. */
export function moduleInfo(root: string, name: string): number {
  const discovery = scanModules(root);
  const module = discovery.modules.find((m) => m.manifest.name === name);
  if (!module) {
    const known = discovery.modules.map((m) => m.manifest.name).join(', ') || 'none';
    throw new UsageError(`unknown module "${name}" (known: ${known})`);
  }
  const { manifest } = module;
  const byName = new Map(discovery.modules.map((m) => [m.manifest.name, m]));
  const out: string[] = [
    `${manifest.name} ${manifest.version}${manifest.description ? ` - ${manifest.description}` : ''}`,
    '',
  ];
  const kernelOk = semver.satisfies(KERNEL_VERSION, manifest.kernel, { includePrerelease: true });
  out.push(`folder:   subgraphs/${module.dir}`);
  out.push(`source:   ${module.hasEntry ? 'src/module.ts' : '(no src/module.ts yet)'}`);
  out.push(`kernel:   ${manifest.kernel} (kernel is ${KERNEL_VERSION}: ${kernelOk ? 'compatible' : 'INCOMPATIBLE'})`);

  out.push('', 'dependencies:');
  const dependencies = Object.entries(manifest.dependencies);
  if (dependencies.length === 0) out.push('  (none)');
  for (const [dependency, range] of dependencies) {
    const found = byName.get(dependency);
    const state = !found
      ? 'MISSING'
      : semver.satisfies(found.manifest.version, range, { includePrerelease: true })
        ? `found ${found.manifest.version}`
        : `INCOMPATIBLE: found ${found.manifest.version}`;
    out.push(`  ${dependency} ${range} (${state})`);
  }
  const dependents = discovery.modules.filter((m) => name in m.manifest.dependencies);
  out.push('', 'dependents:');
  if (dependents.length === 0) out.push('  (none)');
  for (const dependent of dependents) out.push(`  ${dependent.manifest.name} ${dependent.manifest.dependencies[name]}`);

  out.push('', 'permissions:');
  if (manifest.permissions.length === 0) out.push('  (none)');
  const width = Math.max(0, ...manifest.permissions.map((p) => p.name.length));
  for (const permission of manifest.permissions)
    out.push(`  ${permission.name.padEnd(width)}  ${permission.description}`);

  out.push('', 'events:');
  out.push(`  publishes: ${manifest.events.publishes.join(', ') || '(none)'}`);
  if (manifest.events.consumes.length === 0) out.push('  consumes:  (none)');
  for (const event of manifest.events.consumes) {
    const publishers = discovery.modules
      .filter((m) => m.manifest.events.publishes.includes(event))
      .map((m) => m.manifest.name);
    if ((KERNEL_TOPICS as readonly string[]).includes(event)) publishers.push('the kernel, in every module');
    out.push(
      `  consumes:  ${event} (${publishers.length > 0 ? `published by ${publishers.join(', ')}` : 'no module publishes it'})`,
    );
  }
  console.log(out.join('\n'));
  return 0;
}

/**
 * `modules test <name> [--only <text>] [-- jest args...]`: that module's tests (`subgraphs/<dir>/`,
 * with `--only` just the files whose path there contains the text) through the
 * project's `npm test` (its jest config: swc, decorator metadata, embedded databases), output
 * streamed; the exit code is jest's.
 */
export async function testModule(
  root: string,
  name: string,
  jestArgs: string[],
  options: { only?: string } = {},
): Promise<number> {
  const discovery = scanModules(root);
  const module = discovery.modules.find((m) => m.manifest.name === name);
  if (!module) {
    const known = discovery.modules.map((m) => m.manifest.name).join(', ') || 'none';
    throw new UsageError(`unknown module "${name}" (known: ${known})`);
  }
  // One path pattern (jest ORs several): the module's folder, and within it the files asked for.
  const only = options.only ? `.*${options.only.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}` : '';
  const child = spawn('npm', ['test', '--', `subgraphs/${module.dir}/${only}`, ...jestArgs], {
    cwd: root,
    stdio: 'inherit',
  });
  return new Promise((done, fail) => {
    child.once('error', fail);
    child.once('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
  });
}
