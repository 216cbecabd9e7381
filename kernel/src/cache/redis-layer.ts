import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RedisDriver } from 'bentocache/drivers/redis';
import type { BusDriver, CreateBusDriverResult, CreateDriverResult, L2CacheDriver } from 'bentocache/types';
import { closeRedis } from '../redis.js';

/** Connection states in which Redis is known to be away: a command would only wait and fail. */
const AWAY = new Set(['reconnecting', 'close', 'end']);

/** Fails a cache command at once while the connection is known to be away (a request then falls back to its loader). */
function assertReachable(redis: Redis): void {
  if (AWAY.has(redis.status)) throw new Error(`redis connection ${redis.status}`);
}

/** What the second level reports of a failed command. */
export interface LevelFailure {
  error: unknown;
  /** True when no command was sent: Redis was known to be away, or failed a read moments ago. */
  skipped: boolean;
}

/**
 * Reads and writes of the second level skipped for a while after a command failed, so a Redis
 * that hangs (connections open, no answers) costs one request the command timeout, not every one.
 * Shared by the drivers of one connection.
 */
class Breaker {
  #openUntil = 0;

  constructor(readonly breakMs: number) {}

  get open(): boolean {
    return Date.now() < this.#openUntil;
  }

  trip(): void {
    this.#openUntil = Date.now() + this.breakMs;
  }

  reset(): void {
    this.#openUntil = 0;
  }
}

/**
 * The cache's second level on the module's shared Redis connection. What differs from
 * bentocache's own driver: a command fails at once while the connection is known to be away
 * (instead of waiting for its timeout in the offline queue); after a failure, reads and writes are
 * skipped for `breakMs` (deletions never are: an entry left behind would be served stale once
 * Redis answers); every failure is reported (`onFailure`: counted, and the request marked).
 * `disconnect` leaves the connection open: it is the module's, closed by the runtime.
 */
export class GuardedRedisDriver implements L2CacheDriver {
  readonly type = 'l2' as const;

  constructor(
    private readonly inner: RedisDriver,
    private readonly redis: Redis,
    private readonly breaker: Breaker,
    private readonly onFailure: (failure: LevelFailure) => void,
  ) {}

  async #call<T>(operation: () => Promise<T>, kind: 'read-write' | 'delete'): Promise<T> {
    let sent = false;
    try {
      assertReachable(this.redis);
      if (kind === 'read-write' && this.breaker.open) throw new Error('redis failed moments ago');
      sent = true;
      const result = await operation();
      this.breaker.reset();
      return result;
    } catch (error) {
      if (sent) this.breaker.trip();
      this.onFailure({ error, skipped: !sent });
      throw error;
    }
  }

  namespace(namespace: string): GuardedRedisDriver {
    return new GuardedRedisDriver(this.inner.namespace(namespace), this.redis, this.breaker, this.onFailure);
  }

  get(key: string): Promise<string | undefined> {
    return this.#call(() => this.inner.get(key), 'read-write');
  }

  pull(key: string): Promise<string | undefined> {
    return this.#call(() => this.inner.pull(key), 'delete');
  }

  set(key: string, value: string, ttl?: number): Promise<boolean> {
    return this.#call(() => this.inner.set(key, value, ttl), 'read-write');
  }

  clear(): Promise<void> {
    return this.#call(() => this.inner.clear(), 'delete');
  }

  delete(key: string): Promise<boolean> {
    return this.#call(() => this.inner.delete(key), 'delete');
  }

  deleteMany(keys: string[]): Promise<boolean> {
    return this.#call(() => this.inner.deleteMany(keys), 'delete');
  }

  async disconnect(): Promise<void> {}
}

/** bentocache's L2 layer over `redis`, guarded (see {@link GuardedRedisDriver}). */
export function guardedRedisLayer(
  redis: Redis,
  options: { breakMs: number; onFailure: (failure: LevelFailure) => void },
): CreateDriverResult<L2CacheDriver> {
  const breaker = new Breaker(options.breakMs);
  return {
    options: { connection: redis },
    factory: (config: { prefix?: string }) =>
      new GuardedRedisDriver(
        new RedisDriver({ connection: redis, prefix: config.prefix }),
        redis,
        breaker,
        options.onFailure,
      ),
  };
}

type Handler = (message: unknown) => void;

export interface CacheBusOptions {
  /** Publishes invalidations: the module's command connection (fails fast while Redis is away). */
  publisher: Redis;
  /** A connection of its own for SUBSCRIBE, reconnecting forever; closed by `disconnect`. */
  subscriber: Redis;
  /** Prepended to bentocache's channel names: deployments sharing a Redis never hear each other. */
  channelPrefix: string;
  logger: Logger;
  /**
   * Called when the subscriber is back after losing its connection: invalidations published
   * meanwhile were missed, so the process-local level must be dropped.
   */
  onResubscribed: () => void;
}

/**
 * The bus that carries one instance's invalidations to every other instance's process-local level
 * (Redis pub/sub). Unlike bentocache's Redis transport it never leaves a rejected promise behind
 * when Redis is away at start or at shutdown, publishes through the command connection, and
 * reports a reconnect only once the subscriber is subscribed again (so the retry queue of
 * unpublished invalidations is flushed when it can succeed).
 */
export class CacheBusTransport implements BusDriver {
  #id: string | undefined;
  readonly #handlers = new Map<string, Handler[]>();
  #reconnected: (() => void) | undefined;
  #wasReady = false;

  constructor(private readonly options: CacheBusOptions) {
    const { subscriber } = options;
    subscriber.on('message', (channel: string, raw: string) => this.#receive(channel, raw));
    subscriber.on('ready', () => {
      // ioredis resubscribes by itself on reconnect (autoResubscribe).
      if (this.#wasReady) {
        options.onResubscribed();
        this.#reconnected?.();
      }
      this.#wasReady = true;
    });
  }

  setId(id: string): this {
    this.#id = id;
    return this;
  }

  onReconnect(callback: () => void): void {
    this.#reconnected = callback;
  }

  async publish(channel: string, message: unknown): Promise<void> {
    assertReachable(this.options.publisher);
    await this.options.publisher.publish(
      this.options.channelPrefix + channel,
      JSON.stringify({ busId: this.#id, payload: message }),
    );
  }

  async subscribe<T>(channel: string, handler: (message: T) => void): Promise<void> {
    const full = this.options.channelPrefix + channel;
    this.#handlers.set(full, [...(this.#handlers.get(full) ?? []), handler as Handler]);
    await this.options.subscriber.subscribe(full).catch((error: unknown) => {
      // Only at shutdown, or a refused SUBSCRIBE: the connection retries across outages.
      this.options.logger.warn({ err: error, channel: full }, 'cache invalidation bus: subscribe failed');
    });
  }

  async unsubscribe(channel: string): Promise<void> {
    const full = this.options.channelPrefix + channel;
    this.#handlers.delete(full);
    await this.options.subscriber.unsubscribe(full).catch(() => undefined);
  }

  async disconnect(): Promise<void> {
    await closeRedis(this.options.subscriber);
  }

  #receive(channel: string, raw: string): void {
    const handlers = this.#handlers.get(channel);
    if (!handlers) return;
    let decoded: { busId?: unknown; payload?: unknown };
    try {
      decoded = JSON.parse(raw) as { busId?: unknown; payload?: unknown };
    } catch {
      return;
    }
    if (typeof decoded !== 'object' || decoded === null || decoded.busId === this.#id) return;
    for (const handler of handlers) handler(decoded.payload);
  }
}

/** bentocache's bus layer over a {@link CacheBusTransport}; unpublished invalidations wait (bounded) for the reconnect. */
export function cacheBusLayer(transport: CacheBusTransport): CreateBusDriverResult {
  return {
    options: { retryQueue: { enabled: true, maxSize: 10_000, retryInterval: false } },
    factory: () => transport,
  };
}
