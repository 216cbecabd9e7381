import { fileURLToPath } from 'node:url';
import type { MigrationObject } from '@mikro-orm/core';
import type { SqlEntityManager as EntityManager } from '@mikro-orm/sql';
import type { IRules } from 'graphql-shield';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { PlatformConfig } from '../config/schema.js';
import type { CheckResult } from '../health/health.js';
import type { ModuleDatabase } from '../database/database.js';
import type { GraphQLContext } from '../graphql/context.js';
import { loadManifest, type Manifest } from './manifest.js';

/** What a module's hooks receive once its infrastructure is up. */
export interface ModuleRuntime<Config = unknown> {
  readonly manifest: Manifest;
  readonly platform: PlatformConfig;
  /** The module's own validated config section (`modules.<name>`). */
  readonly config: Config;
  readonly logger: Logger;
  readonly db: ModuleDatabase;
  /** A fresh EntityManager for background work (requests get their own in the context). */
  em(): EntityManager;
}

/** Resolves an entity for other subgraphs (`_entities`), batched through the request's loaders. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each module narrows its own key fields
export type ReferenceResolver = (reference: any, context: GraphQLContext) => unknown;

export interface LifecycleHooks<Config> {
  /** After migrations, before the server accepts traffic. */
  onStart?(runtime: ModuleRuntime<Config>): Promise<void> | void;
  /** On shutdown, after the server stopped accepting traffic, before the database closes. */
  onStop?(runtime: ModuleRuntime<Config>): Promise<void> | void;
  /** Development-only demo data, after `onStart` (runs when `modules.<name>.seedDemoData`). */
  seed?(runtime: ModuleRuntime<Config>): Promise<void> | void;
}

export interface ModuleOptions<Schema extends z.ZodType> {
  /** Path of `module.yaml`, usually `new URL('../module.yaml', import.meta.url)`. */
  manifest: URL | string;
  /** Schema of the module's config section; defaults apply when the section is absent. */
  config?: Schema;
  entities: Function[];
  migrations: MigrationObject[];
  /** type-graphql resolver classes. */
  resolvers: [Function, ...Function[]];
  /** Types not reachable from resolvers but part of the schema (e.g. entity stubs). */
  orphanedTypes?: Function[];
  /** `__resolveReference` per entity type this module owns. */
  references?: Record<string, ReferenceResolver>;
  /** graphql-shield rules; every root field must have one, everything else is denied. */
  rules: IRules;
  hooks?: LifecycleHooks<z.infer<Schema>>;
  /** Extra `/ready` checks (database and migrations are built in). */
  readiness?: Record<string, (runtime: ModuleRuntime<z.infer<Schema>>) => Promise<CheckResult> | CheckResult>;
}

/** A module as the kernel runs it: the manifest plus everything `defineModule` declared. */
export interface ModuleDefinition<Config = unknown> extends Omit<ModuleOptions<z.ZodType<Config>>, 'manifest'> {
  readonly manifest: Manifest;
  readonly manifestPath: string;
}

/**
 * Declares a module in one call. The manifest is read and validated here, so a module with a
 * broken `module.yaml` fails at import with a message naming the file and the problem.
 */
export function defineModule<Schema extends z.ZodType = z.ZodType<Record<string, never>>>(
  options: ModuleOptions<Schema>,
): ModuleDefinition<z.infer<Schema>> {
  const manifestPath = options.manifest instanceof URL ? fileURLToPath(options.manifest) : options.manifest;
  const manifest = loadManifest(options.manifest);
  return { ...options, manifest, manifestPath } as ModuleDefinition<z.infer<Schema>>;
}
