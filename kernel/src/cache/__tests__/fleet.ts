import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { ServiceMetrics } from '../../metrics/metrics.js';
import { closeRedis, createRedis } from '../../redis.js';
import { deleteRedisKeys } from '../../testing/index.js';
import { createModuleCache, type ClosableCache } from '../cache.js';

// Shared by the cache suites: instances of one deployment's module cache, measured by their metrics.

export const silent = pino({ level: 'silent' });
export const REDIS_URL = process.env.REDIS_URL;

export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export interface Instance {
  cache: ClosableCache;
  metrics: ServiceMetrics;
  /** `cache_requests_total` of this instance by result. */
  requests(result: 'hit' | 'miss' | 'error'): Promise<number>;
  redisErrors(): Promise<number>;
}

/** Caches of one test: instances of one deployment (one key prefix), closed after the test. */
export class Fleet {
  readonly prefix = `test:${randomBytes(4).toString('hex')}`;
  readonly #closers: Array<() => Promise<void>> = [];

  constructor(readonly redisUrl: string | null) {}

  instance(
    options: { namespace?: string; l1MaxItems?: number; redisUrl?: string | null; redisBreakMs?: number } = {},
  ): Instance {
    const url = options.redisUrl === undefined ? this.redisUrl : options.redisUrl;
    const metrics = new ServiceMetrics('test');
    const onError = (): void => metrics.dependencyErrors.inc({ dependency: 'redis' });
    const redis = url
      ? createRedis(url, { name: 'cache-test', logger: silent, commandTimeoutMs: 1000, onError })
      : undefined;
    const cache = createModuleCache({
      namespace: options.namespace ?? 'demo',
      platform: {
        cache: { defaultTtlSec: 60, l1MaxItems: options.l1MaxItems ?? 1000, l1MaxSize: '1mb' },
        redis: { url, keyPrefix: this.prefix },
      },
      logger: silent,
      metrics,
      redis,
      connectSubscriber: () => createRedis(url!, { name: 'cache-test-bus', logger: silent, blocking: true, onError }),
      redisBreakMs: options.redisBreakMs,
    });
    this.#closers.push(async () => {
      await cache.close();
      if (redis) await closeRedis(redis);
    });
    const value = async (name: string, labels: Record<string, string>): Promise<number> => {
      const metric = await metrics.registry.getSingleMetric(name)!.get();
      return metric.values
        .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
        .reduce((sum, v) => sum + v.value, 0);
    };
    return {
      cache,
      metrics,
      requests: (result) => value('cache_requests_total', { namespace: options.namespace ?? 'demo', result }),
      redisErrors: () => value('dependency_errors_total', { dependency: 'redis' }),
    };
  }

  async close(): Promise<void> {
    for (const close of this.#closers.splice(0)) await close();
    // Private or unreachable servers are left alone; the shared one keeps no keys of ours.
    if (this.redisUrl && this.redisUrl === REDIS_URL) await deleteRedisKeys(this.redisUrl, `${this.prefix}:*`);
  }
}
