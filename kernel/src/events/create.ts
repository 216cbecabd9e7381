import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { PlatformConfig } from '../config/schema.js';
import type { EventBus, RetryOptions } from './bus.js';
import { MemoryEventBus, type MemoryBroker } from './memory-bus.js';
import { RedisEventBus } from './redis-bus.js';

export interface CreateEventBusOptions {
  config: Pick<PlatformConfig, 'redis'>;
  /** The module the bus serves; it names the Redis consumers, so `CLIENT LIST` shows who is who. */
  module: string;
  logger: Logger;
  retry?: RetryOptions;
  /** In-memory only: a private broker instead of the process-wide one (isolated test platforms). */
  broker?: MemoryBroker;
  /** Redis only: key prefix; default `<redis.keyPrefix>:events`. */
  prefix?: string;
}

/**
 * The bus the configuration asks for: Redis Streams when `redis.url` is set, otherwise the
 * in-process bus shared by every module of this process (the embedded platform).
 */
export function createEventBus(options: CreateEventBusOptions): EventBus {
  const { config, module, logger, retry, broker, prefix } = options;
  if (!config.redis.url) return new MemoryEventBus({ logger, retry, broker });
  const consumer = `${module}-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  return new RedisEventBus({
    url: config.redis.url,
    logger,
    consumer,
    retry,
    prefix: prefix ?? `${config.redis.keyPrefix}:events`,
  });
}
