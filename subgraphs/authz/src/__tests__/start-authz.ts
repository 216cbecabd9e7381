import { randomBytes } from 'node:crypto';
import { type PlatformConfig } from '@platform/kernel';
import {
  closeRedis,
  createEventBus,
  createLogger,
  createRedis,
  MemoryBroker,
  RedisEventBus,
  type EventBus,
  type StartSubgraphOptions,
  startTestSubgraph,
  testConfig,
  type TestSubgraph,
} from '@platform/kernel/testing';
import authz from '../module.js';
import type { AuthzServices } from '../services.js';

export type AuthzTestHandle = TestSubgraph<unknown, AuthzServices>;

export interface StartAuthzOptions {
  authenticate?: StartSubgraphOptions['authenticate'];
  overrides?: Record<string, unknown>;
}

/**
 * Boots authz like `startTestSubgraph`, on an event bus of its own: a private in-memory broker,
 * or with `REDIS_URL` a private key prefix. Suites running at the same time then neither see this
 * one's events nor take them from it (every authz instance consumes in the group `authz`).
 */
export async function startAuthz(options: StartAuthzOptions = {}): Promise<AuthzTestHandle> {
  const prepared = testConfig(options.overrides);
  const { config } = prepared;
  const bus = createEventBus({
    config,
    module: 'authz',
    logger: createLogger(config, 'authz'),
    broker: new MemoryBroker(),
    prefix: `test:authz:${randomBytes(4).toString('hex')}`,
    retry: { baseDelayMs: 10, maxDelayMs: 100 },
  });
  let handle: TestSubgraph<unknown, AuthzServices>;
  try {
    handle = await startTestSubgraph(authz, { config, bus, authenticate: options.authenticate });
  } catch (error) {
    await closeBus(bus, config);
    await prepared.cleanup();
    throw error;
  }
  return {
    ...handle,
    stop: async () => {
      await handle.stop();
      await closeBus(bus, config);
      await prepared.cleanup();
    },
  };
}

async function closeBus(bus: EventBus, config: PlatformConfig): Promise<void> {
  await bus.close();
  if (!(bus instanceof RedisEventBus) || !config.redis.url) return;
  const redis = createRedis(config.redis.url, { name: 'authz-test-cleanup', logger: createLogger(config, 'authz') });
  try {
    await redis.del(bus.keys.stream, bus.keys.dead, bus.keys.broadcast);
  } finally {
    await closeRedis(redis);
  }
}

export { waitFor } from '@platform/kernel/testing';
