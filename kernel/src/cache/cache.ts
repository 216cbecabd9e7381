import { AsyncLocalStorage } from 'node:async_hooks';
import { BentoCache, bentostore, errors } from 'bentocache';
import { MemoryDriver } from 'bentocache/drivers/memory';
import type { CacheProvider, CreateDriverResult, L1CacheDriver } from 'bentocache/types';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { PlatformConfig } from '../config/schema.js';
import type { ServiceMetrics } from '../metrics/metrics.js';
import { CacheBusTransport, cacheBusLayer, guardedRedisLayer, type LevelFailure } from './redis-layer.js';

/** How long an entry lives, and the tags it can be invalidated by. */
export interface CacheEntryOptions {
  /** Seconds the entry is served (more than 0; fractions allowed); default `cache.defaultTtlSec`. */
  ttlSec?: number;
  /** `invalidateTags` with any of these drops the entry (on every instance). */
  tags?: string[];
}

/**
 * A module's cache (`runtime.cache`): keys live under `<redis.keyPrefix>:cache:<module>:`, values
 * are JSON (what `JSON.stringify` keeps; a `Date` comes back as its ISO string). In process memory
 * (bounded, least recently used dropped first) when Redis is not configured; with Redis, a
 * process-local level in front of Redis, kept coherent by invalidations published to every
 * instance. Redis being away never fails a call: reads miss and `getOrLoad` answers from its
 * loader (counted as `cache_requests_total{result="error"}` and
 * `dependency_errors_total{dependency="redis"}`).
 */
export interface ModuleCache {
  /** The metrics label and key segment: the module's name. */
  readonly namespace: string;
  /** The cached value, or undefined when there is none (expired, invalidated, never set). */
  get<T = unknown>(key: string): Promise<T | undefined>;
  /** Stores `value` (JSON; `undefined` is refused) on every level. */
  set(key: string, value: unknown, options?: CacheEntryOptions): Promise<void>;
  /**
   * The cached value, else `loader`'s, stored for the next callers. Concurrent misses of one key
   * in one process run `loader` once; the others wait for its value (instances do not coordinate:
   * each may load once). A loader's error reaches every waiting caller as thrown, and nothing is
   * stored; so is an `undefined` result. A value loaded while the key was invalidated is answered
   * but not stored, so a load racing an update cannot put the old value back.
   */
  getOrLoad<T>(key: string, loader: () => Promise<T>, options?: CacheEntryOptions): Promise<T>;
  /**
   * `getOrLoad` for many keys at once: the values of `keys`, in order, the missing ones loaded by
   * one call of `loader` (which answers them in the order asked: a batch query). Keys another
   * caller of this process is loading right now are awaited rather than loaded again.
   */
  getOrLoadMany<T>(
    keys: readonly string[],
    loader: (missing: string[]) => Promise<readonly T[]>,
    options?: CacheEntryOptions,
  ): Promise<T[]>;
  /** Drops the entries of these keys here and on every instance. */
  delete(...keys: string[]): Promise<void>;
  /** Drops every entry stored with any of these tags, here and on every instance. */
  invalidateTags(tags: readonly string[]): Promise<void>;
}

/** The kernel's side of a cache: closing it (the runtime's teardown does). */
export interface ClosableCache extends ModuleCache {
  close(): Promise<void>;
}

export interface CreateCacheOptions {
  /** The module's name: key segment and metrics label. */
  namespace: string;
  platform: Pick<PlatformConfig, 'cache' | 'redis'>;
  logger: Logger;
  metrics?: ServiceMetrics;
  /**
   * The module's command connection, when Redis is configured: the cache's second level and the
   * publisher of invalidations. The cache opens one more connection, its subscriber.
   */
  redis?: Redis;
  /** Makes the subscriber connection (from `platform.redis.url`). */
  connectSubscriber?: () => Redis;
  /** After a Redis command failed, reads and writes skip Redis this long (deletions never do); default 2000. */
  redisBreakMs?: number;
}

/** What one call saw: whether a Redis command failed while serving it. */
interface CallState {
  redisFailed: boolean;
}

/** A load in flight; invalidated when its key (or everything) is invalidated meanwhile. */
interface Load {
  invalidated: boolean;
}

const calls = new AsyncLocalStorage<CallState>();
/**
 * How a loaded value is stored: without telling the other instances. Their copy of the key, if
 * any, is as good as it was (a change is announced by its invalidation, and one missed while
 * away drops the whole local level), so the announcement would only cost a PUBLISH per key.
 */
const FILL = { skipBusNotify: true } as const;
/** Where bentocache keeps tag invalidation timestamps (its tag system's own prefix). */
const TAG_KEY_PREFIX = '___bc:t:';

/** Builds a module's cache (see {@link ModuleCache}). */
export function createModuleCache(options: CreateCacheOptions): ClosableCache {
  return new BentoModuleCache(options);
}

class BentoModuleCache implements ClosableCache {
  readonly namespace: string;
  readonly #bento: BentoCache<Record<string, ReturnType<typeof bentostore>>>;
  readonly #cache: CacheProvider;
  readonly #defaultTtlMs: number;
  readonly #logger: Logger;
  readonly #metrics: ServiceMetrics | undefined;
  readonly #loads = new Map<string, Set<Load>>();
  /** Keys `getOrLoadMany` is loading now, and their coming values. */
  readonly #batchLoads = new Map<string, Promise<unknown>>();
  #l1: MemoryDriver | undefined;
  #transport: CacheBusTransport | undefined;
  /** Redis failures are logged once per outage; the counter takes every one. */
  #redisFailing = false;

  constructor(options: CreateCacheOptions) {
    const { platform, namespace, redis } = options;
    this.namespace = namespace;
    this.#logger = options.logger.child({ component: 'cache', namespace });
    this.#metrics = options.metrics;
    this.#defaultTtlMs = platform.cache.defaultTtlSec * 1000;
    const store = bentostore().useL1Layer(this.#memoryLayer(platform.cache));
    if (redis) {
      store.useL2Layer(
        guardedRedisLayer(redis, {
          breakMs: options.redisBreakMs ?? 2000,
          onFailure: (failure) => this.#redisFailed(failure),
        }),
      );
      if (options.connectSubscriber) {
        this.#transport = new CacheBusTransport({
          publisher: redis,
          subscriber: options.connectSubscriber(),
          channelPrefix: `${platform.redis.keyPrefix}:`,
          logger: this.#logger,
          onResubscribed: () => {
            // Invalidations published while we were away were missed: forget what we hold.
            this.#l1?.clear();
            this.#invalidateLoads(undefined);
            this.#logger.info('cache invalidation bus reconnected; process-local cache dropped');
          },
        });
        store.useBus(cacheBusLayer(this.#transport));
      }
    }
    this.#bento = new BentoCache({
      default: 'cache',
      stores: { cache: store },
      prefix: `${platform.redis.keyPrefix}:cache:${namespace}`,
      ttl: this.#defaultTtlMs,
      grace: false,
    });
    this.#bento.on('bus:message:received', ({ message }) => {
      const { type, keys } = message as { type: string; keys: string[] };
      if (type === 'clear' || keys.some((key) => key.startsWith(TAG_KEY_PREFIX))) this.#invalidateLoads(undefined);
      else this.#invalidateLoads(keys);
    });
    this.#cache = this.#bento.use('cache');
  }

  #memoryLayer(settings: PlatformConfig['cache']): CreateDriverResult<L1CacheDriver> {
    return {
      options: { maxItems: settings.l1MaxItems, maxSize: settings.l1MaxSize },
      factory: (config: ConstructorParameters<typeof MemoryDriver>[0]) => (this.#l1 = new MemoryDriver(config)),
    };
  }

  #redisFailed({ error, skipped }: LevelFailure): void {
    // A command not sent is the request's degradation, not another failure of Redis.
    if (!skipped) this.#metrics?.dependencyErrors.inc({ dependency: 'redis' });
    const call = calls.getStore();
    if (call) call.redisFailed = true;
    if (!this.#redisFailing) {
      this.#redisFailing = true;
      this.#logger.warn({ err: error }, 'cache: redis unavailable, serving from process memory and loaders');
      setTimeout(() => (this.#redisFailing = false), 30_000).unref();
    }
  }

  #count(result: 'hit' | 'miss' | 'error'): void {
    this.#metrics?.cacheRequests.inc({ namespace: this.namespace, result });
  }

  #entryOptions(options: CacheEntryOptions | undefined): { ttl: number; tags?: string[] } {
    // bentocache reads a TTL of 0 as "forever".
    if (options?.ttlSec !== undefined && !(options.ttlSec > 0)) throw new TypeError('cache: ttlSec must be positive');
    const ttl = options?.ttlSec === undefined ? this.#defaultTtlMs : options.ttlSec * 1000;
    return options?.tags?.length ? { ttl, tags: [...options.tags] } : { ttl };
  }

  /** Marks the loads in flight of `keys` (all of them when undefined) as invalidated. */
  #invalidateLoads(keys: readonly string[] | undefined): void {
    if (this.#loads.size === 0) return;
    const sets = keys ? keys.map((key) => this.#loads.get(key)) : [...this.#loads.values()];
    for (const loads of sets) for (const load of loads ?? []) load.invalidated = true;
  }

  async get<T = unknown>(key: string): Promise<T | undefined> {
    const call: CallState = { redisFailed: false };
    const value = await calls.run(call, () => this.#cache.get<T | undefined>({ key }));
    this.#count(call.redisFailed ? 'error' : value === undefined ? 'miss' : 'hit');
    return value;
  }

  async set(key: string, value: unknown, options?: CacheEntryOptions): Promise<void> {
    this.#invalidateLoads([key]);
    await this.#cache.set({ key, value, ...this.#entryOptions(options) });
  }

  /** Registers a load of `key` (see {@link ModuleCache.getOrLoad}); `done` removes it. */
  #startLoad(key: string): { load: Load; done: () => void } {
    const load: Load = { invalidated: false };
    const loads = this.#loads.get(key) ?? new Set<Load>();
    this.#loads.set(key, loads.add(load));
    const done = (): void => {
      loads.delete(load);
      if (loads.size === 0 && this.#loads.get(key) === loads) this.#loads.delete(key);
    };
    return { load, done };
  }

  async getOrLoad<T>(key: string, loader: () => Promise<T>, options?: CacheEntryOptions): Promise<T> {
    const batched = this.#batchLoads.get(key);
    if (batched) return (await batched) as T;
    const call: CallState = { redisFailed: false };
    let loaded: { value: T } | undefined;
    // From the call on: an invalidation while waiting for another caller's load counts too.
    const { load, done } = this.#startLoad(key);
    try {
      const value = await calls.run(call, () =>
        this.#cache.getOrSet<T>({
          key,
          ...this.#entryOptions(options),
          ...FILL,
          factory: async (ctx) => {
            const result = await loader();
            loaded = { value: result };
            // Not stored: undefined is no value, and an invalidated load may predate the change.
            return result === undefined || load.invalidated ? (ctx.skip() as T) : result;
          },
        }),
      );
      this.#count(call.redisFailed ? 'error' : loaded ? 'miss' : 'hit');
      return loaded ? loaded.value : value;
    } catch (error) {
      this.#count(call.redisFailed ? 'error' : 'miss');
      throw error instanceof errors.E_FACTORY_ERROR ? (error.cause as Error) : error;
    } finally {
      done();
    }
  }

  async getOrLoadMany<T>(
    keys: readonly string[],
    loader: (missing: string[]) => Promise<readonly T[]>,
    options?: CacheEntryOptions,
  ): Promise<T[]> {
    const unique = [...new Set(keys)];
    const started = new Map(unique.map((key) => [key, this.#startLoad(key)]));
    const call: CallState = { redisFailed: false };
    try {
      const values = new Map<string, T>();
      const cached = await calls.run(call, () =>
        Promise.all(unique.map((key) => this.#cache.get<T | undefined>({ key }))),
      );
      const waiting: Array<Promise<void>> = [];
      const missing: string[] = [];
      unique.forEach((key, index) => {
        const value = cached[index];
        const other = this.#batchLoads.get(key);
        if (value !== undefined) values.set(key, value);
        else if (other) waiting.push(other.then((loaded) => void values.set(key, loaded as T)));
        else missing.push(key);
      });
      unique.forEach((_key, index) => this.#count(call.redisFailed ? 'error' : index < values.size ? 'hit' : 'miss'));
      if (missing.length > 0) {
        const batch = loader(missing);
        missing.forEach((key, index) => {
          const value = batch.then((loaded) => loaded[index]);
          value.catch(() => undefined); // the caller that started the batch reports its failure
          this.#batchLoads.set(key, value);
        });
        try {
          const loaded = await batch;
          await calls.run(call, () =>
            Promise.all(
              missing.map(async (key, index) => {
                const value = loaded[index] as T;
                values.set(key, value);
                if (value === undefined || started.get(key)!.load.invalidated) return;
                await this.#cache.set({ key, value, ...this.#entryOptions(options), ...FILL });
              }),
            ),
          );
        } finally {
          for (const key of missing) this.#batchLoads.delete(key);
        }
      }
      await Promise.all(waiting);
      return keys.map((key) => values.get(key) as T);
    } finally {
      for (const { done } of started.values()) done();
    }
  }

  async delete(...keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    this.#invalidateLoads(keys);
    if (keys.length === 1) await this.#cache.delete({ key: keys[0]! });
    else await this.#cache.deleteMany({ keys });
  }

  async invalidateTags(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) return;
    this.#invalidateLoads(undefined);
    await this.#cache.deleteByTag({ tags: [...tags] });
  }

  async close(): Promise<void> {
    await this.#transport?.disconnect();
  }
}
