import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { ServiceMetrics } from '../metrics/metrics.js';
import { closeRedis, createRedis } from '../redis.js';
import { deleteRedisKeys } from '../testing/index.js';
import { freePort, PrivateRedis } from '../testing/redis-server.js';
import { eventually, waitFor } from '../testing/wait.js';
import { createModuleCache, type ClosableCache } from './cache.js';

const silent = pino({ level: 'silent' });
const REDIS_URL = process.env.REDIS_URL;

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

interface Instance {
  cache: ClosableCache;
  metrics: ServiceMetrics;
  /** `cache_requests_total` of this instance by result. */
  requests(result: 'hit' | 'miss' | 'error'): Promise<number>;
  redisErrors(): Promise<number>;
}

/** Caches of one test: instances of one deployment (one key prefix), closed after the test. */
class Fleet {
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

const kinds: Array<{ kind: string; url: string | null }> = [
  { kind: 'memory', url: null },
  ...(REDIS_URL ? [{ kind: 'redis', url: REDIS_URL }] : []),
];

describe.each(kinds)('runtime.cache ($kind)', ({ url }) => {
  let fleet: Fleet;
  beforeEach(() => {
    fleet = new Fleet(url);
  });
  afterEach(() => fleet.close());
  const make = (options?: Parameters<Fleet['instance']>[0]): Instance => fleet.instance(options);

  it('stores JSON values, answers undefined on a miss, and counts hits and misses', async () => {
    const { cache, requests } = make();
    expect(await cache.get('user:1')).toBeUndefined();
    await cache.set('user:1', { name: 'Ada', tags: ['a'], born: new Date('1815-12-10T00:00:00Z') });
    expect(await cache.get('user:1')).toEqual({ name: 'Ada', tags: ['a'], born: '1815-12-10T00:00:00.000Z' });
    await cache.set('nothing', null);
    expect(await cache.get('nothing')).toBeNull();
    expect(await requests('hit')).toBe(2);
    expect(await requests('miss')).toBe(1);
    expect(await requests('error')).toBe(0);
  });

  it('forgets an entry once its TTL has passed', async () => {
    const { cache } = make();
    await cache.set('short', 'lived', { ttlSec: 0.3 });
    await cache.set('long', 'lived', { ttlSec: 60 });
    expect(await cache.get('short')).toBe('lived');
    await eventually(async () => expect(await cache.get('short')).toBeUndefined());
    expect(await cache.get('long')).toBe('lived');
    expect(await cache.getOrLoad('short', async () => 'reloaded')).toBe('reloaded');
  });

  it('drops entries by key and by tag, and only those', async () => {
    const { cache } = make();
    await cache.set('a', 1, { tags: ['user:1'] });
    await cache.set('b', 2, { tags: ['user:1', 'posts'] });
    await cache.set('c', 3, { tags: ['user:2'] });
    await cache.set('d', 4);
    await cache.invalidateTags(['user:1']);
    expect(await cache.get('a')).toBeUndefined();
    expect(await cache.get('b')).toBeUndefined();
    expect(await cache.get('c')).toBe(3);
    await cache.delete('c', 'd');
    expect(await cache.get('c')).toBeUndefined();
    expect(await cache.get('d')).toBeUndefined();
    // An entry stored after the invalidation is served.
    await cache.set('a', 5, { tags: ['user:1'] });
    expect(await cache.get('a')).toBe(5);
  });

  it('runs the loader once for concurrent misses of one key, and every caller gets its value', async () => {
    const { cache, requests } = make();
    const gate = deferred();
    let loads = 0;
    const loader = async (): Promise<{ id: number }> => {
      loads++;
      await gate.promise;
      return { id: 7 };
    };
    const callers = Array.from({ length: 10 }, () => cache.getOrLoad('user:7', loader));
    // Another key is not held up by the first one's load.
    expect(await cache.getOrLoad('user:8', async () => ({ id: 8 }))).toEqual({ id: 8 });
    gate.resolve();
    expect(await Promise.all(callers)).toEqual(Array.from({ length: 10 }, () => ({ id: 7 })));
    expect(loads).toBe(1);
    expect(await cache.getOrLoad('user:7', loader)).toEqual({ id: 7 });
    expect(loads).toBe(1);
    expect(await requests('miss')).toBe(2);
    expect(await requests('hit')).toBe(10);
  });

  it('loads the misses of many keys in one call, once however many callers want them', async () => {
    const { cache, requests } = make();
    await cache.set('u:1', 'one (cached)');
    const gate = deferred();
    const asked: string[][] = [];
    const loader = async (missing: string[]): Promise<string[]> => {
      asked.push(missing);
      await gate.promise;
      return missing.map((key) => (key === 'u:4' ? (undefined as unknown as string) : `${key} (loaded)`));
    };
    const first = cache.getOrLoadMany(['u:1', 'u:2', 'u:3', 'u:2', 'u:4'], loader);
    await waitFor(() => asked.length === 1, 'the first batch');
    const second = cache.getOrLoadMany(['u:3', 'u:5'], loader);
    const single = cache.getOrLoad('u:2', async () => 'not loaded again');
    await waitFor(() => asked.length === 2, 'the second batch');
    gate.resolve();
    expect(await first).toEqual(['one (cached)', 'u:2 (loaded)', 'u:3 (loaded)', 'u:2 (loaded)', undefined]);
    expect(await second).toEqual(['u:3 (loaded)', 'u:5 (loaded)']);
    expect(await single).toBe('u:2 (loaded)');
    expect(asked).toEqual([['u:2', 'u:3', 'u:4'], ['u:5']]);
    // Stored, but not the undefined of u:4.
    expect(await cache.getOrLoadMany(['u:2', 'u:3', 'u:4'], async (missing) => missing.map(() => 'again'))).toEqual([
      'u:2 (loaded)',
      'u:3 (loaded)',
      'again',
    ]);
    expect(await requests('hit')).toBeGreaterThanOrEqual(3);
  });

  it('does not store what a batch loaded for a key invalidated meanwhile, and passes its error on', async () => {
    const { cache } = make();
    const gate = deferred();
    const started = deferred();
    const batch = cache.getOrLoadMany(['a', 'b'], async (missing) => {
      started.resolve();
      await gate.promise;
      return missing.map((key) => `${key}: old`);
    });
    await started.promise;
    await cache.delete('a');
    gate.resolve();
    expect(await batch).toEqual(['a: old', 'b: old']);
    expect(await cache.get('a')).toBeUndefined();
    expect(await cache.get('b')).toBe('b: old');
    class Broken extends Error {}
    await expect(
      cache.getOrLoadMany(['c'], async () => {
        throw new Broken('database down');
      }),
    ).rejects.toBeInstanceOf(Broken);
    expect(await cache.getOrLoadMany(['c'], async () => ['c: new'])).toEqual(['c: new']);
  });

  it("hands a loader's own error to every caller and stores nothing", async () => {
    const { cache } = make();
    const gate = deferred();
    class NotThere extends Error {}
    let loads = 0;
    const failing = async (): Promise<string> => {
      loads++;
      await gate.promise;
      throw new NotThere('no such user');
    };
    const callers = [cache.getOrLoad('k', failing), cache.getOrLoad('k', failing)];
    gate.resolve();
    for (const caller of callers) await expect(caller).rejects.toBeInstanceOf(NotThere);
    expect(loads).toBeGreaterThanOrEqual(1);
    expect(await cache.get('k')).toBeUndefined();
    expect(await cache.getOrLoad('k', async () => 'found')).toBe('found');
    // undefined is no value: answered, not stored.
    expect(await cache.getOrLoad('u', async () => undefined)).toBeUndefined();
    expect(await cache.getOrLoad('u', async () => 'now')).toBe('now');
  });

  it('does not store a value loaded while its key was invalidated (a load racing an update)', async () => {
    const { cache } = make();
    const gate = deferred();
    const started = deferred();
    const stale = cache.getOrLoad('profile', async () => {
      started.resolve();
      await gate.promise;
      return 'before the update';
    });
    await started.promise;
    await cache.delete('profile'); // the update commits and invalidates while the old row is in flight
    gate.resolve();
    expect(await stale).toBe('before the update');
    expect(await cache.get('profile')).toBeUndefined();
    expect(await cache.getOrLoad('profile', async () => 'after the update')).toBe('after the update');
  });

  it("keeps each module's keys apart", async () => {
    const identity = make({ namespace: 'identity' });
    const blog = make({ namespace: 'blog' });
    await identity.cache.set('user:1', 'identity');
    await blog.cache.set('user:1', 'blog');
    expect(await identity.cache.get('user:1')).toBe('identity');
    await identity.cache.invalidateTags(['x']);
    await identity.cache.delete('user:1');
    expect(await blog.cache.get('user:1')).toBe('blog');
  });

  it('bounds what it keeps in process memory', async () => {
    const { cache } = make({ l1MaxItems: 2, redisUrl: null });
    await cache.set('one', 1);
    await cache.set('two', 2);
    await cache.set('three', 3);
    expect(await cache.get('one')).toBeUndefined();
    expect(await cache.get('three')).toBe(3);
  });
});

describe('runtime.cache with Redis away', () => {
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.close();
    fleet = undefined;
  });

  it('answers from the loader, counting the failures, when Redis cannot be reached', async () => {
    fleet = new Fleet(`redis://127.0.0.1:${await freePort()}`);
    const { cache, requests, redisErrors } = fleet.instance();
    expect(await cache.getOrLoad('user:1', async () => ({ id: 1 }))).toEqual({ id: 1 });
    expect(await cache.get('missing')).toBeUndefined();
    await cache.set('k', 'v');
    await cache.delete('k');
    await cache.invalidateTags(['t']);
    // The process-local level still serves what was loaded.
    expect(await cache.getOrLoad('user:1', async () => ({ id: 2 }))).toEqual({ id: 1 });
    expect(await requests('error')).toBeGreaterThanOrEqual(2);
    expect(await redisErrors()).toBeGreaterThan(0);
  });
});

// Redis-only behaviour; the block is absent without REDIS_URL (the embedded pass).
if (REDIS_URL) {
  describe('runtime.cache across instances (Redis)', () => {
    let fleet: Fleet;
    let probe: Redis;
    afterEach(async () => {
      await fleet.close();
      probe.disconnect();
    });

    /** Both instances' subscribers are listening, so an invalidation published now reaches both. */
    async function listening(instances: number): Promise<void> {
      const channel = `${fleet.prefix}:bentocache.notifications:cache`;
      await waitFor(async () => {
        const [, count] = (await probe.pubsub('NUMSUB', channel)) as [string, number];
        return Number(count) >= instances;
      }, 'cache subscribers');
    }

    function start(): { a: Instance; b: Instance } {
      fleet = new Fleet(REDIS_URL!);
      probe = new Redis(REDIS_URL!);
      return { a: fleet.instance(), b: fleet.instance() };
    }

    it("shares entries through Redis, and one instance's invalidation reaches the other's memory", async () => {
      const { a, b } = start();
      await listening(2);
      expect(await a.cache.getOrLoad('user:1', async () => ({ name: 'v1' }))).toEqual({ name: 'v1' });
      // b reads a's entry from Redis (no load), and now holds it in its own memory.
      expect(await b.cache.getOrLoad('user:1', async () => ({ name: 'not loaded' }))).toEqual({ name: 'v1' });
      await probe.del(`${fleet.prefix}:cache:demo:user:1`);
      expect(await b.cache.get('user:1')).toEqual({ name: 'v1' }); // served from b's memory
      await a.cache.delete('user:1');
      await eventually(async () => expect(await b.cache.get('user:1')).toBeUndefined());
      expect(await b.cache.getOrLoad('user:1', async () => ({ name: 'v2' }))).toEqual({ name: 'v2' });
      await a.cache.set('user:1', { name: 'v3' });
      await eventually(async () => expect(await b.cache.get('user:1')).toEqual({ name: 'v3' }));
    });

    it("invalidates a tag in every instance's memory", async () => {
      const { a, b } = start();
      await listening(2);
      await b.cache.set('post:1', 'one', { tags: ['author:1'] });
      expect(await b.cache.get('post:1')).toBe('one');
      await a.cache.invalidateTags(['author:1']);
      await eventually(async () => expect(await b.cache.get('post:1')).toBeUndefined());
    });

    it('asks a hanging Redis once, then skips it for reads and writes, but never for deletions', async () => {
      const server = new PrivateRedis(await freePort());
      await server.start();
      fleet = new Fleet(server.url);
      probe = new Redis(server.url, { lazyConnect: true });
      const { cache, requests, redisErrors } = fleet.instance({ redisBreakMs: 60_000 });
      try {
        await listening(1);
        expect(await cache.getOrLoad('warm', async () => 'stored')).toBe('stored');
        server.pause(); // connections open, no answers: commands wait for their timeout
        expect(await cache.getOrLoad('first', async () => 'loaded')).toBe('loaded');
        const afterFirst = await redisErrors();
        expect(afterFirst).toBeGreaterThanOrEqual(1);
        // Reads and writes skip Redis now: answered from the loader, counted as the request's error only.
        const errorsBefore = await requests('error');
        expect(await cache.getOrLoad('second', async () => 'loaded too')).toBe('loaded too');
        expect(await cache.get('third')).toBeUndefined();
        expect(await requests('error')).toBe(errorsBefore + 2);
        expect(await redisErrors()).toBe(afterFirst);
        // A deletion is still tried (an entry left in Redis would be served once it answers).
        await cache.delete('warm');
        expect(await redisErrors()).toBeGreaterThan(afterFirst);
        server.resume();
        // Back: a deletion that succeeds closes the breaker, and writes reach Redis again.
        await eventually(async () => {
          await cache.delete('nothing');
          await cache.set('after', 'ok');
          expect(await probe.get(`${fleet.prefix}:cache:demo:after`)).not.toBeNull();
        }, 15_000);
      } finally {
        server.resume();
        await server.stop();
      }
    });

    it('keeps answering when Redis dies, then uses it again once it is back', async () => {
      const server = new PrivateRedis(await freePort());
      await server.start();
      fleet = new Fleet(server.url);
      probe = new Redis(server.url, { lazyConnect: true });
      const { cache, requests } = fleet.instance();
      try {
        await listening(1);
        expect(await cache.getOrLoad('k', async () => 'first')).toBe('first');
        await server.stop();
        let loads = 0;
        expect(
          await cache.getOrLoad('other', async () => {
            loads++;
            return 'from the loader';
          }),
        ).toBe('from the loader');
        expect(loads).toBe(1);
        expect(await requests('error')).toBeGreaterThanOrEqual(1);
        await server.start();
        await listening(1);
        // Back: the subscriber reconnected and the process-local level was dropped (missed invalidations).
        expect(await cache.getOrLoad('k', async () => 'reloaded')).toBe('reloaded');
        await eventually(async () => {
          await cache.set('after', 'ok');
          expect(await probe.get(`${fleet.prefix}:cache:demo:after`)).not.toBeNull();
        });
      } finally {
        await server.stop();
      }
    });
  });
}
