import { z } from 'zod';
import { moduleConfig } from '../config/load.js';
import type { PlatformConfig } from '../config/schema.js';
import { openDatabase } from '../database/database.js';
import { MemoryBroker, MemoryEventBus } from '../events/memory-bus.js';
import { outboxRecorder } from '../events/outbox.js';
import { createLogger } from '../logging/logger.js';
import { ServiceMetrics } from '../metrics/metrics.js';
import type { ModuleDefinition, ModuleRuntime } from '../module/define.js';
import { closeRedis, createRedis } from '../redis.js';
import { createPubSub } from '../subscriptions/pubsub.js';

/**
 * A module's runtime and services without its server, for command-line jobs (`platformctl
 * seed`): database migrated, services built, no HTTP, no subscriptions and no outbox relay.
 * Events the job records stay in the module's outbox until the running service relays them,
 * so nothing is published into a bus no one in this process listens to.
 */
export async function withModuleRuntime<Config, Services, T>(
  module: ModuleDefinition<Config, Services>,
  platform: PlatformConfig,
  job: (runtime: ModuleRuntime<Config>, services: Services) => Promise<T>,
): Promise<T> {
  const name = module.manifest.name;
  const config = moduleConfig(platform, name, (module.config ?? z.object({}).passthrough()) as z.ZodType<Config>);
  const logger = createLogger(platform, name);
  const db = await openDatabase({
    config: platform,
    module: name,
    entities: module.entities,
    migrations: module.migrations,
    logger,
    metrics: new ServiceMetrics(name),
  });
  const redis = platform.redis.url ? createRedis(platform.redis.url, { name: `${name}-cli`, logger }) : undefined;
  const bus = new MemoryEventBus({ logger, broker: new MemoryBroker() });
  let services: Services | undefined;
  try {
    await db.migrate();
    const runtime: ModuleRuntime<Config> = {
      manifest: module.manifest,
      platform,
      config,
      logger,
      db,
      em: () => db.fork(),
      bus,
      redis,
      events: outboxRecorder(name, db),
      // Offline jobs serve no subscribers: an in-process pub/sub that nobody listens to.
      pubsub: createPubSub({ redis: { ...platform.redis, url: null } }, name, logger),
    };
    services = (module.services ? await module.services(runtime) : undefined) as Services;
    return await job(runtime, services);
  } finally {
    const closable = services as { close?: () => Promise<void> | void } | undefined;
    if (typeof closable?.close === 'function') await closable.close();
    await bus.close();
    if (redis) await closeRedis(redis);
    await db.close();
  }
}
