import semver from 'semver';
import { KERNEL_VERSION } from '../version.js';
import type { Manifest } from './manifest.js';

/** Anything the registry can order: it only needs the manifest. */
export interface HasManifest {
  readonly manifest: Manifest;
}

/** One problem found by the registry, naming the module concerned. */
export interface RegistryProblem {
  module: string;
  kind: 'duplicate' | 'missing-dependency' | 'incompatible-dependency' | 'incompatible-kernel' | 'cycle';
  message: string;
}

export class ModuleRegistryError extends Error {
  constructor(readonly problems: RegistryProblem[]) {
    super(`Module registry is invalid:\n${problems.map((p) => `  - ${p.module}: ${p.message}`).join('\n')}`);
    this.name = 'ModuleRegistryError';
  }
}

export interface ValidateOptions {
  /**
   * Require every dependency to be registered here. A subgraph started alone in its own
   * container has its dependencies in other processes; then only the kernel range is checked.
   */
  requireDependencies?: boolean;
  kernelVersion?: string;
}

/**
 * The set of modules a process (or the whole platform) runs: rejects duplicates, missing or
 * incompatible dependencies, incompatible kernel ranges and dependency cycles, and orders
 * modules so each starts after what it depends on.
 */
export class ModuleRegistry<M extends HasManifest> {
  readonly #modules = new Map<string, M>();
  readonly #duplicates: RegistryProblem[] = [];

  register(module: M): this {
    const { name } = module.manifest;
    if (this.#modules.has(name)) {
      this.#duplicates.push({ module: name, kind: 'duplicate', message: `module "${name}" is registered twice` });
    } else {
      this.#modules.set(name, module);
    }
    return this;
  }

  get(name: string): M | undefined {
    return this.#modules.get(name);
  }

  all(): M[] {
    return [...this.#modules.values()];
  }

  /** Every problem at once, in a stable order. */
  problems(options: ValidateOptions = {}): RegistryProblem[] {
    const requireDependencies = options.requireDependencies ?? true;
    const kernelVersion = options.kernelVersion ?? KERNEL_VERSION;
    const problems: RegistryProblem[] = [...this.#duplicates];
    for (const { manifest } of this.#modules.values()) {
      if (!semver.satisfies(kernelVersion, manifest.kernel, { includePrerelease: true })) {
        problems.push({
          module: manifest.name,
          kind: 'incompatible-kernel',
          message: `needs kernel ${manifest.kernel} but the kernel is ${kernelVersion}`,
        });
      }
      for (const [dependency, range] of Object.entries(manifest.dependencies)) {
        const found = this.#modules.get(dependency);
        if (!found) {
          if (requireDependencies) {
            problems.push({
              module: manifest.name,
              kind: 'missing-dependency',
              message: `depends on "${dependency}" (${range}), which is not registered`,
            });
          }
        } else if (!semver.satisfies(found.manifest.version, range, { includePrerelease: true })) {
          problems.push({
            module: manifest.name,
            kind: 'incompatible-dependency',
            message: `depends on "${dependency}" ${range} but ${dependency} is ${found.manifest.version}`,
          });
        }
      }
    }
    for (const cycle of this.#cycles()) {
      problems.push({ module: cycle[0]!, kind: 'cycle', message: `dependency cycle: ${cycle.join(' -> ')}` });
    }
    return problems;
  }

  validate(options: ValidateOptions = {}): this {
    const problems = this.problems(options);
    if (problems.length > 0) throw new ModuleRegistryError(problems);
    return this;
  }

  /**
   * Modules in dependency order (dependencies first); ties keep registration order so the
   * result is deterministic. Call after `validate()`.
   */
  ordered(): M[] {
    const result: M[] = [];
    const placed = new Set<string>();
    const visit = (module: M, trail: Set<string>): void => {
      const { name } = module.manifest;
      if (placed.has(name) || trail.has(name)) return;
      trail.add(name);
      for (const dependency of Object.keys(module.manifest.dependencies)) {
        const found = this.#modules.get(dependency);
        if (found) visit(found, trail);
      }
      trail.delete(name);
      placed.add(name);
      result.push(module);
    };
    for (const module of this.#modules.values()) visit(module, new Set());
    return result;
  }

  /** Each elementary cycle once, as the path of names, starting from its smallest name. */
  #cycles(): string[][] {
    const cycles = new Map<string, string[]>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const done = new Set<string>();
    const walk = (name: string): void => {
      stack.push(name);
      onStack.add(name);
      for (const dependency of Object.keys(this.#modules.get(name)?.manifest.dependencies ?? {})) {
        if (!this.#modules.has(dependency)) continue;
        if (onStack.has(dependency)) {
          const loop = stack.slice(stack.indexOf(dependency));
          const start = loop.indexOf([...loop].sort()[0]!);
          const rotated = [...loop.slice(start), ...loop.slice(0, start)];
          cycles.set(rotated.join('>'), [...rotated, rotated[0]!]);
        } else if (!done.has(dependency)) {
          walk(dependency);
        }
      }
      stack.pop();
      onStack.delete(name);
      done.add(name);
    };
    for (const name of this.#modules.keys()) if (!done.has(name)) walk(name);
    return [...cycles.values()];
  }
}

/**
 * Starts items one after another; if one fails, stops the ones already started in reverse
 * order and rethrows. The returned function stops everything in reverse order, collecting
 * (not stopping at) failures.
 */
export async function startInOrder<T>(
  items: T[],
  start: (item: T) => Promise<() => Promise<void>>,
): Promise<() => Promise<void>> {
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    const errors: unknown[] = [];
    while (stops.length > 0) {
      try {
        await stops.pop()!();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'several stop hooks failed');
  };
  try {
    for (const item of items) stops.push(await start(item));
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
  return stopAll;
}
