import type { PlatformConfig } from '../config/schema.js';
import { createErrorBus } from '../error-bus/create.js';
import { MemoryBroker, MemoryEventBus } from '../events/memory-bus.js';
import { createLogger } from '../logging/logger.js';
import { ServiceMetrics } from '../metrics/metrics.js';
import type { ModuleDefinition, ModuleRuntime } from '../module/define.js';
import { buildRuntime } from './runtime.js';
import { Teardown } from './teardown.js';

/**
 * A module's runtime and services without its server, for command-line jobs (`platformctl
 * seed`): the same runtime a serving instance builds (buildRuntime), database migrated, services
 * built, but no HTTP, no subscriptions, no consumers and no outbox relay. Events the job records
 * stay in the module's outbox until the running service relays them, so nothing is published
 * into a bus no one in this process listens to.
 */
export async function withModuleRuntime<Config, Services, T>(
  module: ModuleDefinition<Config, Services>,
  platform: PlatformConfig,
  job: (runtime: ModuleRuntime<Config>, services: Services) => Promise<T>,
): Promise<T> {
  const name = module.manifest.name;
  const logger = createLogger(platform, name);
  const teardown = new Teardown(logger);
  const bus = new MemoryEventBus({ logger, broker: new MemoryBroker() });
  teardown.add(() => bus.close());
  try {
    const metrics = new ServiceMetrics(name);
    const errors = await createErrorBus({ config: platform, module: name, logger, metrics });
    teardown.add(() => errors.close(platform.errors.sentry.flushTimeoutMs));
    const { runtime, services } = await buildRuntime(module, {
      platform,
      logger,
      metrics,
      teardown,
      bus,
      errors,
      serving: false,
    });
    return await job(runtime, services);
  } finally {
    await teardown.run();
  }
}
