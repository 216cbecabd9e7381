import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { moduleConfig } from '../config/load.js';
import type { PlatformConfig } from '../config/schema.js';
import { createModuleCache } from '../cache/cache.js';
import { openDatabase } from '../database/database.js';
import type { ErrorBus } from '../error-bus/error-bus.js';
import type { EventBus } from '../events/bus.js';
import { outboxRecorder } from '../events/outbox.js';
import { JobsService } from '../jobs/service.js';
import { moduleMail } from '../mail/module-mail.js';
import { createFileStorage } from '../files/create.js';
import type { ServiceMetrics } from '../metrics/metrics.js';
import type { ModuleDefinition, ModuleRuntime } from '../module/define.js';
import type { Manifest } from '../module/manifest.js';
import type { ScheduleDefinition } from '../jobs/queue.js';
import { closeRedis, createRedis } from '../redis.js';
import { serviceSecret } from '../security/service-secret.js';
import { createPubSub } from '../subscriptions/pubsub.js';
import type { Teardown } from './teardown.js';

export interface RuntimeOptions {
  platform: PlatformConfig;
  logger: Logger;
  metrics: ServiceMetrics;
  /** Undoes what was built, in reverse, on stop or on a failed start. */
  teardown: Teardown;
  /** The bus the module publishes and listens on (its owner closes it). */
  bus: EventBus;
  /** Where unexpected errors go (its owner closes it). */
  errors: ErrorBus;
  /**
   * A serving instance: migrations as `database.migrateOnStart` says, Redis commands bounded to a
   * second and counted when they fail, pub/sub shared through Redis. Otherwise (a command-line
   * job): migrations always, and a pub/sub nobody listens to.
   */
  serving: boolean;
}

/** A module's runtime, and what its `services` hook built from it. */
export interface BuiltRuntime<Config, Services> {
  runtime: ModuleRuntime<Config>;
  services: Services;
}

/**
 * Builds what a module runs on, the same for a serving instance and a command-line job: its
 * config section, database (migrated), Redis, outbox, pub/sub, and its services.
 */
export async function buildRuntime<Config, Services>(
  module: ModuleDefinition<Config, Services>,
  options: RuntimeOptions,
): Promise<BuiltRuntime<Config, Services>> {
  const { platform, logger, metrics, teardown, serving } = options;
  const name = module.manifest.name;
  const config = moduleConfig(platform, name, (module.config ?? z.object({}).passthrough()) as z.ZodType<Config>);
  const db = await openDatabase({
    config: platform,
    module: name,
    entities: module.entities,
    migrations: module.migrations,
    logger,
    metrics,
  });
  teardown.add(() => db.close());
  if (!serving || platform.database.migrateOnStart) {
    const applied = await db.migrate();
    if (applied.length > 0) logger.info({ migrations: applied, schema: db.schema }, 'migrations applied');
  }
  const redis = connectRedis(name, options);
  const pubsub = createPubSub(serving ? platform : { redis: { ...platform.redis, url: null } }, name, logger);
  teardown.add(() => pubsub.close());
  const cache = createModuleCache({
    namespace: name,
    platform,
    logger,
    metrics,
    redis,
    connectSubscriber: () =>
      createRedis(platform.redis.url!, {
        name: `${name}-cache-bus`,
        logger,
        blocking: true,
        onError: () => metrics.dependencyErrors.inc({ dependency: 'redis' }),
      }),
  });
  teardown.add(() => cache.close());
  const files = createFileStorage(platform, name, () => serviceSecret(platform));
  teardown.add(() => files.close?.());
  const jobs = new JobsService({
    module: name,
    platform,
    db,
    logger,
    metrics,
    errors: options.errors,
    schedules: moduleSchedules(module.manifest, platform),
    runSchedules: platform.jobs.runSchedules,
  });
  teardown.add(() => jobs.close());
  // Defined now so the services hook (and an offline job) can enqueue; handlers run only once the
  // services exist (workers start after onStart).
  const built: { services?: Services } = {};
  for (const [queue, job] of Object.entries(module.jobs ?? {})) {
    const { concurrency, attempts, backoffMs, timeoutMs } = job;
    jobs.defineQueue(queue, (payload, context) => job.handler(payload, runtime, built.services as Services, context), {
      concurrency,
      attempts,
      backoffMs,
      timeoutMs,
    });
  }
  const events = outboxRecorder(name, db);
  const mail = moduleMail({
    module: name,
    templates: module.mail?.templates,
    platform,
    db,
    events,
    jobs,
    logger,
    secret: () => serviceSecret(platform),
    onClose: (close) => teardown.add(close),
  });
  const runtime: ModuleRuntime<Config> = {
    manifest: module.manifest,
    platform,
    config,
    logger,
    db,
    em: () => db.fork(),
    bus: options.bus,
    events,
    redis,
    pubsub,
    cache,
    files,
    jobs,
    mail,
    errors: options.errors,
  };
  const services = (module.services ? await module.services(runtime) : undefined) as Services;
  built.services = services;
  const closable = services as { close?: () => Promise<void> | void } | undefined;
  if (typeof closable?.close === 'function') teardown.add(() => closable.close!());
  return { runtime, services };
}

/**
 * The module's Redis connection for commands, when configured. A serving instance's requests fail
 * over to their fallbacks within a second rather than wait on a slow Redis.
 */
function connectRedis(name: string, options: RuntimeOptions): Redis | undefined {
  const { platform, logger, metrics, serving } = options;
  if (!platform.redis.url) return undefined;
  const redis = serving
    ? createRedis(platform.redis.url, {
        name,
        logger,
        commandTimeoutMs: 1000,
        onError: () => metrics.dependencyErrors.inc({ dependency: 'redis' }),
      })
    : createRedis(platform.redis.url, { name: `${name}-cli`, logger });
  options.teardown.add(() => closeRedis(redis));
  return redis;
}

/** module.yaml's schedules, as `jobs.schedules` in config changes (cron) or stops (`enabled: false`) them. */
export function moduleSchedules(manifest: Manifest, platform: PlatformConfig): ScheduleDefinition[] {
  return manifest.schedules.flatMap(({ name, cron, handler }) => {
    const override = platform.jobs.schedules[`${manifest.name}.${name}`];
    return override?.enabled === false ? [] : [{ name, cron: override?.cron ?? cron, queue: handler }];
  });
}
