import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import {
  ManifestError,
  ModuleRegistry,
  parseManifest,
  type Manifest,
  type ModuleDefinition,
  type RegistryProblem,
} from '@platform/kernel/tools';

import { findRoot } from './root.js';

export { findRoot, RootError } from './root.js';

/** One problem found while discovering modules; `file` is relative to the repository root. */
export interface DiscoveryProblem {
  /** The module concerned: the manifest's `name` when readable, else the folder name. */
  module: string;
  file: string;
  /** Key path inside the file (`permissions.0.name`), empty for the whole file. */
  path: string;
  message: string;
  /** `no-manifest`: a folder without module.yaml (work in progress, or not a module). */
  kind: 'no-manifest' | 'invalid-manifest' | 'folder-name';
}

/** A `subgraphs/<dir>/module.yaml` whose manifest is valid. */
export interface DiscoveredModule {
  readonly manifest: Manifest;
  /** Folder name under `subgraphs/`. */
  readonly dir: string;
  /** Absolute folder path. */
  readonly path: string;
  readonly manifestPath: string;
  /** Absolute path of `src/module.ts` (may not exist). */
  readonly entryPath: string;
  readonly hasEntry: boolean;
}

export interface Discovery {
  root: string;
  modules: DiscoveredModule[];
  problems: DiscoveryProblem[];
}

function valueAt(data: unknown, path: string): unknown {
  let node = data;
  for (const key of path.split('.').filter(Boolean)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Splits a kernel manifest problem (`a.b: message`) and quotes the offending value. */
function manifestProblem(module: string, file: string, raw: unknown, problem: string): DiscoveryProblem {
  const match = /^([^\s:]+): (.*)$/s.exec(problem);
  if (!match || match[1] === '(root)')
    return { module, file, path: '', message: match?.[2] ?? problem, kind: 'invalid-manifest' };
  const path = match[1]!;
  const value = valueAt(raw, path);
  const shown = typeof value === 'string' || typeof value === 'number' ? ` (got ${JSON.stringify(value)})` : '';
  return { module, file, path, message: `${match[2]}${shown}`, kind: 'invalid-manifest' };
}

/** Lists `subgraphs/*\/module.yaml` and validates each manifest, collecting every problem. */
export function scanModules(root: string): Discovery {
  const subgraphs = join(root, 'subgraphs');
  const modules: DiscoveredModule[] = [];
  const problems: DiscoveryProblem[] = [];
  const dirs = readdirSync(subgraphs, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
  for (const dir of dirs) {
    const path = join(subgraphs, dir);
    const manifestPath = join(path, 'module.yaml');
    const file = relative(root, manifestPath);
    if (!existsSync(manifestPath)) {
      problems.push({
        module: dir,
        file,
        path: '',
        message: 'missing: every folder under subgraphs/ is a module and needs a module.yaml',
        kind: 'no-manifest',
      });
      continue;
    }
    let raw: unknown;
    try {
      raw = parseYaml(readFileSync(manifestPath, 'utf8'));
    } catch (error) {
      problems.push({
        module: dir,
        file,
        path: '',
        message: `not valid YAML: ${(error as Error).message}`,
        kind: 'invalid-manifest',
      });
      continue;
    }
    const rawName = valueAt(raw, 'name');
    const label = typeof rawName === 'string' && rawName ? rawName : dir;
    let manifest: Manifest;
    try {
      manifest = parseManifest(raw, file);
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      problems.push(...error.problems.map((problem) => manifestProblem(label, file, raw, problem)));
      continue;
    }
    if (manifest.name !== dir) {
      problems.push({
        module: manifest.name,
        file,
        path: 'name',
        message: `module "${manifest.name}" lives in subgraphs/${dir}; the folder must be named subgraphs/${manifest.name}`,
        kind: 'folder-name',
      });
    }
    const entryPath = join(path, 'src', 'module.ts');
    modules.push({ manifest, dir, path, manifestPath, entryPath, hasEntry: existsSync(entryPath) });
  }
  return { root, modules, problems };
}

/**
 * Registers every discovered module. Duplicate names are reported by the registry; the
 * message is extended with the folders that claim the name.
 */
export function registryOf(modules: DiscoveredModule[]): {
  registry: ModuleRegistry<DiscoveredModule>;
  problems: (options?: { requireDependencies?: boolean }) => RegistryProblem[];
} {
  const registry = new ModuleRegistry<DiscoveredModule>();
  for (const module of modules) registry.register(module);
  const problems = (options: { requireDependencies?: boolean } = {}): RegistryProblem[] =>
    registry.problems({ requireDependencies: options.requireDependencies ?? true }).map((problem) => {
      if (problem.kind !== 'duplicate') return problem;
      const folders = modules.filter((m) => m.manifest.name === problem.module).map((m) => `subgraphs/${m.dir}`);
      return { ...problem, message: `${problem.message} (by ${folders.join(' and ')})` };
    });
  return { registry, problems };
}

/** Imports `src/module.ts` and checks it declares the module its folder's manifest names. */
export async function loadDefinition(module: DiscoveredModule): Promise<ModuleDefinition> {
  if (!module.hasEntry) throw new Error(`${module.manifest.name} has no src/module.ts`);
  const imported = (await import(pathToFileURL(module.entryPath).href)) as { default?: ModuleDefinition };
  const definition = imported.default;
  if (!definition || typeof definition !== 'object' || !definition.manifest) {
    throw new Error(`src/module.ts of ${module.manifest.name} must default-export defineModule({...})`);
  }
  if (definition.manifest.name !== module.manifest.name) {
    throw new Error(
      `src/module.ts of subgraphs/${module.dir} declares module "${definition.manifest.name}", not "${module.manifest.name}"`,
    );
  }
  return definition;
}

/** Raised when the modules under `subgraphs/` cannot be loaded; lists every problem. */
export class ModuleDiscoveryError extends Error {
  constructor(readonly problems: string[]) {
    super(`Cannot load the platform modules:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ModuleDiscoveryError';
  }
}

/**
 * Every runnable module's definition (`npm start`, end-to-end tests): manifests are checked
 * first and all problems reported together; folders without module.yaml or without
 * src/module.ts are work in progress and skipped. Registry checks are the caller's.
 */
export async function discoverModules(root: string = findRoot(undefined)): Promise<ModuleDefinition[]> {
  const { modules, problems } = scanModules(root);
  const blocking = problems.filter((p) => p.kind !== 'no-manifest');
  if (blocking.length > 0) {
    throw new ModuleDiscoveryError(
      blocking.map((p) => `${p.module}: ${p.file}${p.path ? ` ${p.path}` : ''}: ${p.message}`),
    );
  }
  const definitions: ModuleDefinition[] = [];
  const failures: string[] = [];
  for (const module of modules.filter((m) => m.hasEntry)) {
    try {
      definitions.push(await loadDefinition(module));
    } catch (error) {
      failures.push(`${module.manifest.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (failures.length > 0) throw new ModuleDiscoveryError(failures);
  return definitions;
}
