import { afterEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { freePort, PrivateRedis } from '../testing/redis-server.js';
import { eventually, waitFor } from '../testing/wait.js';
import { Fleet, REDIS_URL, type Instance } from './__tests__/fleet.js';

// The cache with Redis unreachable, dying and returning, and across instances.

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
