import { fileURLToPath } from 'node:url';
import type { Request, Router } from 'express';
import type { MigrationObject } from '@mikro-orm/core';
import type { SqlEntityManager as EntityManager } from '@mikro-orm/sql';
import type { IRules } from 'graphql-shield';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Redis } from 'ioredis';
import type { AccessTokenProvider } from '../contracts/access-tokens.js';
import type { ModuleCache } from '../cache/cache.js';
import type { PlatformConfig } from '../config/schema.js';
import type { ErrorReporter } from '../error-bus/error-bus.js';
import type { EventBus, SubscribeOptions } from '../events/bus.js';
import type { FileStorage } from '../files/storage.js';
import type { ModuleEvents } from '../events/outbox.js';
import type { PlatformEvent } from '../events/event.js';
import type { CheckResult } from '../health/health.js';
import type { ModuleDatabase } from '../database/database.js';
import type { JobContext, ModuleJobs, QueueOptions } from '../jobs/types.js';
import type { AuthenticatedUser } from '../graphql/context.js';
import type { EffectivePermissions } from '../graphql/permissions.js';
import type { ModuleMail } from '../mail/mail.js';
import type { MailTemplates } from '../mail/templates.js';
import type { PermissionResolver } from '../graphql/permissions.js';
import type { EntityReference } from '../graphql/rules.js';
import type { PlatformPubSub } from '../subscriptions/pubsub.js';
import { loadManifest, ManifestError, type Manifest } from './manifest.js';

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
  /** The platform's event bus: `subscribe` for durable handling, `listen` for cache invalidation. */
  readonly bus: EventBus;
  /** This module's side of the transactional outbox. */
  readonly events: ModuleEvents;
  /** A shared Redis connection for commands (rate limits, caches) when `REDIS_URL` is set. */
  readonly redis?: Redis;
  /**
   * Pub/sub for GraphQL subscriptions (Redis when configured, so every instance delivers). Publish
   * each event once for the fleet: from a consumer group handler, never from a broadcast listener.
   */
  readonly pubsub: PlatformPubSub;
  /**
   * The module's cache (keys under `<redis.keyPrefix>:cache:<module>:`): TTLs, tags, `getOrLoad`
   * with one load per key at a time; in process memory, or in front of Redis when configured with
   * invalidations reaching every instance. Redis being away never fails a call.
   */
  readonly cache: ModuleCache;
  /**
   * Background jobs: `enqueue` on the module's queues (`defineModule({ jobs })`), durable (BullMQ on
   * Redis, else the module's database), retried with backoff, dead after the last try.
   */
  readonly jobs: ModuleJobs;
  /**
   * Outgoing mail from the module's templates (`mail.templates`): `send` queues a job that renders
   * and delivers it, retried with backoff, dead and retryable after the last try, audited as
   * `kernel.mail.*` (SMTP at `smtp.url`, else the development outbox `dataDir/mail/*.eml`).
   */
  readonly mail: ModuleMail;
  /**
   * The module's files (`files` in config): local under `dataDir/files/<module>` with signed URLs
   * served on the gateway's `/files/<module>/…`, or an S3-compatible bucket under `<module>/`.
   */
  readonly files: FileStorage;
  /**
   * Reports an error the module handled but did not expect (a fallback taken, a loop given up)
   * with the kernel's own: one log line, `errors_total{module,kind}`, and Sentry when
   * `SENTRY_DSN` is set, with the request id, trace id and user id of the path it is called on.
   * Errors thrown out of resolvers, jobs and consumers are published by the kernel already.
   */
  readonly errors: ErrorReporter;
}

export type { ModuleEvents } from '../events/outbox.js';

export type { EntityReference, ReferenceResolver } from '../graphql/rules.js';

/**
 * A durable consumer the kernel runs for a module: subscribed once the module's `onStart` hook
 * has run, closed at shutdown before `services.close()` and the database (a handler in flight
 * finishes first). Delivery is at least once: make `handler` idempotent (`handleOnce`). Offline
 * jobs (`withModuleRuntime`) start none.
 */
export interface ModuleConsumer<Config = unknown, Services = unknown> extends SubscribeOptions {
  /** The topic, or a pattern (`identity.user.*`, `*`: ignore topics you do not know). */
  topic: string;
  /** Handles one event; throwing retries it with backoff (`maxAttempts`), then dead-letters it. */
  handler(event: PlatformEvent, runtime: ModuleRuntime<Config>, services: Services): Promise<void>;
}

/**
 * One of a module's queues (`defineModule({ jobs: { <queue>: … } })`): its jobs run in every serving
 * instance after `onStart`, at most `concurrency` at once per instance, stopped before
 * `services.close()`. Delivery is at least once (an instance may die mid-try): make `handler`
 * idempotent. A schedule of `module.yaml` names its queue as `handler`.
 */
export interface ModuleJob<Config = unknown, Services = unknown> extends QueueOptions {
  /** Runs one job; throwing fails the try (retried after a backoff, dead after the last). */
  handler(payload: unknown, runtime: ModuleRuntime<Config>, services: Services, job: JobContext): Promise<void>;
}

export interface LifecycleHooks<Config, Services = unknown> {
  /** After migrations, before the server accepts traffic. */
  onStart?(runtime: ModuleRuntime<Config>, services: Services): Promise<void> | void;
  /** On shutdown, after the server stopped accepting traffic, before the database closes. */
  onStop?(runtime: ModuleRuntime<Config>, services: Services): Promise<void> | void;
  /**
   * Initial data the platform needs, created or repaired idempotently (e.g. the first
   * administrator): run by `platformctl seed` for every module in dependency order, and at start
   * in development, after `onStart`. What a hook `provides` is handed to the modules seeded after
   * it (authz gives identity's administrator the `admin` role); its `report` is printed. Without
   * a context (a test calling the hook itself) nothing was provided and nothing is adopted.
   */
  seed?(runtime: ModuleRuntime<Config>, services: Services, context?: SeedContext): Promise<SeedOutcome | void> | void;
}

/** What a seed hook is given: what modules seeded before it provided, and the operator's options. */
export interface SeedContext {
  /** What `module`'s seed hook provided in this run, if it ran before this one. */
  provided(module: string): Readonly<Record<string, unknown>> | undefined;
  /** `platformctl seed --adopt-existing`: take over data the seed did not create (e.g. an account with the administrator's email). */
  adoptExisting: boolean;
}

/** What a seed hook did. */
export interface SeedOutcome {
  /** One line per thing created, repaired or found in place; `platformctl seed` prints them. */
  report?: string[];
  /** Facts for the modules seeded after this one (see {@link SeedContext.provided}). */
  provides?: Record<string, unknown>;
}

/** A seed context over the outcomes of the hooks that ran so far (by module name). */
export function seedContext(
  outcomes: ReadonlyMap<string, SeedOutcome>,
  options: { adoptExisting?: boolean } = {},
): SeedContext {
  return {
    provided: (module) => outcomes.get(module)?.provides,
    adoptExisting: options.adoptExisting ?? false,
  };
}

/** Extra HTTP routes beside `/graphql` (e.g. identity's `/.well-known/jwks.json`). */
export type RouteRegistrar<Config, Services> = (
  router: Router,
  runtime: ModuleRuntime<Config>,
  services: Services,
  kernel: RouteContext,
) => void;

/** What the kernel lends a module's own routes. */
export interface RouteContext {
  /**
   * The caller of a request, as for `/graphql`: undefined when anonymous, the user for a valid
   * bearer token; throws an UNAUTHENTICATED PlatformError for a refused token.
   */
  authenticate(req: Request): Promise<AuthenticatedUser | undefined>;
  /**
   * What `user` (from `authenticate`, with their token) may do, as `ctx.can` sees it: from authz,
   * cached; the guest role's for undefined. Not narrowed by an API key's restriction.
   */
  permissionsOf(user: AuthenticatedUser | undefined): Promise<EffectivePermissions>;
}

/** What a module implements of the kernel's contracts (see {@link ModuleOptions.contracts}). */
export interface ModuleContracts<Config, Services> {
  accessTokens?: (runtime: ModuleRuntime<Config>, services: Services) => AccessTokenProvider;
  permissions?: (runtime: ModuleRuntime<Config>, services: Services) => PermissionResolver;
}

export interface ModuleOptions<Schema extends z.ZodType, Services = unknown> {
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
  /**
   * The guarded `__resolveReference` of each entity type this module resolves (every type
   * with a resolvable `@key` and fields beyond it); the kernel refuses to start without one.
   */
  references?: Record<string, EntityReference>;
  /**
   * graphql-shield rules; every field must have one (everything else is denied), and together
   * with the reference rules they must check each permission of `module.yaml`, and no other.
   */
  rules: IRules;
  hooks?: LifecycleHooks<z.infer<Schema>, Services>;
  /**
   * Durable consumers (topic or pattern, consumer group, options, handler), started by the kernel
   * after `onStart` and stopped before `services.close()`; one group per pattern.
   */
  consumers?: Array<ModuleConsumer<z.infer<Schema>, NoInfer<Services>>>;
  /**
   * The module's queues by name (lower-case, dashes): `runtime.jobs.enqueue(<name>, payload)` adds
   * a job; schedules in `module.yaml` name one as their `handler`.
   */
  jobs?: Record<string, ModuleJob<z.infer<Schema>, NoInfer<Services>>>;
  /**
   * Builds the module's services once its database is up; resolvers get them as
   * `ctx.services`. A `close()` on the result is called on shutdown.
   */
  services?: (runtime: ModuleRuntime<z.infer<Schema>>) => Promise<Services> | Services;
  routes?: RouteRegistrar<z.infer<Schema>, Services>;
  /**
   * Kernel contracts this module implements, served in process here and over HTTP to every other
   * service (kernel/src/contracts): `accessTokens` by the module that issues tokens (identity,
   * `auth.tokenService`; the kernel serves its JWKS and revocations routes), `permissions` by the
   * one that computes permissions (authz, `auth.permissionService`).
   */
  contracts?: ModuleContracts<z.infer<Schema>, Services>;
  /**
   * The module's mail templates by name, for `runtime.mail.send({ to, template, data })`: each
   * renders `{ subject, text, html }` from the data (JSON by then), escaping it in the HTML.
   */
  mail?: { templates: MailTemplates };
  /** Extra `/ready` checks (database and migrations are built in). */
  readiness?: Record<string, (runtime: ModuleRuntime<z.infer<Schema>>) => Promise<CheckResult> | CheckResult>;
}

/** A module as the kernel runs it: the manifest plus everything `defineModule` declared. */
export interface ModuleDefinition<Config = unknown, Services = unknown> extends Omit<
  ModuleOptions<z.ZodType<Config>, Services>,
  'manifest'
> {
  readonly manifest: Manifest;
  readonly manifestPath: string;
}

/**
 * Declares a module in one call. The manifest is read and validated here, so a module with a
 * broken `module.yaml` fails at import with a message naming the file and the problem.
 */
export function defineModule<Schema extends z.ZodType = z.ZodType<Record<string, never>>, Services = unknown>(
  options: ModuleOptions<Schema, Services>,
): ModuleDefinition<z.infer<Schema>, Services> {
  const manifestPath = options.manifest instanceof URL ? fileURLToPath(options.manifest) : options.manifest;
  const manifest = loadManifest(options.manifest);
  checkSchedules(manifestPath, manifest, options.jobs ?? {});
  return { ...options, manifest, manifestPath } as ModuleDefinition<z.infer<Schema>, Services>;
}

/** Each schedule of `module.yaml` must name one of the module's queues as its handler. */
function checkSchedules(source: string, manifest: Manifest, jobs: Record<string, unknown>): void {
  const problems = manifest.schedules
    .map((schedule, index) =>
      schedule.handler in jobs
        ? undefined
        : `schedules.${index}.handler: "${schedule.handler}" is not a queue of defineModule({ jobs }) (${Object.keys(jobs).join(', ') || 'none declared'})`,
    )
    .filter((problem): problem is string => problem !== undefined);
  if (problems.length > 0) throw new ManifestError(source, problems);
}
