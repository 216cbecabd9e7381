import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Redis } from 'ioredis';
import { describeRedisUrl, reconnectDelay } from '../redis.js';
import type { EventBus } from './bus.js';
import { createEvent, type PlatformEvent } from './event.js';
import { RedisEventBus } from './redis-bus.js';
import { freePort, PrivateRedis } from '../testing/redis-server.js';
import { busKinds, deferred, redisTestOptions, waitFor, type BusHarness } from './__tests__/harness.js';

const event = (topic: string, payload: Record<string, unknown> = {}): PlatformEvent =>
  createEvent('test', topic, payload);
const DAY_MS = 24 * 60 * 60 * 1000;

describe('redis connection helpers', () => {
  it('describes a URL without its credentials', () => {
    expect(describeRedisUrl('redis://user:s3cret@cache.internal:6380/2')).toBe('redis://cache.internal:6380/2');
    expect(describeRedisUrl('rediss://:s3cret@cache.internal')).toBe('rediss://cache.internal');
    expect(describeRedisUrl('not a url')).not.toContain('not a url');
  });

  it('backs off exponentially between reconnects, capped, never zero', () => {
    for (let attempt = 1; attempt < 40; attempt++) {
      const delay = reconnectDelay(attempt, 5000);
      expect(delay).toBeGreaterThanOrEqual(Math.min(5000, 100 * 2 ** (attempt - 1)) / 2);
      expect(delay).toBeLessThanOrEqual(5000);
    }
  });
});

const redisKinds = busKinds().filter(({ kind }) => kind === 'redis');

// Redis-only behaviour; the table is empty (and the block absent) without REDIS_URL.
if (redisKinds.length > 0) {
  describe.each(redisKinds)('RedisEventBus', ({ make }) => {
    let harness: BusHarness;
    let redis: Redis;
    let stream: string;

    beforeEach(() => {
      harness = make();
      redis = harness.redis!;
      stream = `${harness.prefix}:stream`;
    });
    afterEach(() => harness.cleanup());

    it('redelivers an entry a dead consumer left unacknowledged to another consumer', async () => {
      const stuck = deferred();
      const seenByFirst: string[] = [];
      const first = harness.create({ closeTimeoutMs: 100 });
      await first.subscribe(
        'test.*',
        async (e) => {
          seenByFirst.push(e.id);
          await stuck.promise;
        },
        { group: 'workers' },
      );
      const work = event('test.job.queued', { n: 1 });
      await first.publish(work);
      await waitFor(() => seenByFirst.length === 1, 'the first consumer to take the entry');
      // The first consumer "dies" mid-handler: its connections close, its entry stays pending.
      await first.close();

      const seenBySecond: PlatformEvent[] = [];
      const second = harness.create({ claimIdleMs: 300 });
      await second.subscribe('test.*', (e) => void seenBySecond.push(e), { group: 'workers' });
      await waitFor(() => seenBySecond.length === 1, 'the second consumer to claim the entry');
      await waitFor(() => harness.settled('workers'), 'the acknowledgement');
      stuck.resolve();

      expect(seenBySecond[0]).toEqual(work);
      expect(seenByFirst).toEqual([work.id]);
    });

    it('lets a group created after publishing catch up on retained events', async () => {
      const bus = harness.create();
      const early = [event('identity.user.created', { n: 1 }), event('identity.user.updated', { n: 2 })];
      await bus.publish(early);
      const received: PlatformEvent[] = [];
      await bus.subscribe('identity.*', (e) => void received.push(e), { group: 'late-module' });
      await bus.publish(event('identity.user.deleted', { n: 3 }));
      await waitFor(() => received.length === 3);
      expect(received.map((e) => e.payload.n)).toEqual([1, 2, 3]);
      expect(received[0]).toEqual(early[0]);
    });

    it('recovers when the stream vanishes, and reports the data loss', async () => {
      const bus = harness.create();
      let resets = 0;
      bus.onReset!(() => resets++);
      const received: string[] = [];
      await bus.subscribe('test.*', (e) => void received.push(e.id), { group: 'survivor' });
      const before = event('test.item.added');
      await bus.publish(before);
      await waitFor(() => received.length === 1);

      await redis.del(stream);
      const after = event('test.item.added');
      await bus.publish(after);
      await waitFor(() => received.length === 2, 'an event after the stream was lost');
      await waitFor(() => resets === 1, 'the reset notification');
      expect(received).toEqual([before.id, after.id]);
      expect(await redis.xinfo('GROUPS', stream)).toHaveLength(1);
    });

    it('trims entries by age, keeping recent ones', async () => {
      const bus = new RedisEventBus({
        ...redisTestOptions(process.env.REDIS_URL!, harness.prefix!),
        retentionMs: DAY_MS,
      });
      try {
        await redis.xadd(stream, `${Date.now() - 2 * DAY_MS}-0`, 'topic', 'test.item.added', 'event', '{}');
        const recent = event('test.item.added');
        await bus.publish(recent);
        expect(await redis.xlen(stream)).toBe(2);
        await bus.trim();
        const left = (await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>;
        expect(left.map(([, fields]) => JSON.parse(fields[3]!).id)).toEqual([recent.id]);
      } finally {
        await bus.close();
      }
    });

    it("trims by Redis's clock, not by a skewed one of its own", async () => {
      const bus = new RedisEventBus({
        ...redisTestOptions(process.env.REDIS_URL!, harness.prefix!),
        retentionMs: DAY_MS,
      });
      const clock = jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 10 * DAY_MS);
      try {
        await redis.xadd(stream, '*', 'topic', 'test.item.added', 'event', '{}');
        await bus.trim();
        expect(await redis.xlen(stream)).toBe(1);
      } finally {
        clock.mockRestore();
        await bus.close();
      }
    });

    it('leaves its consumer group membership behind cleanly on close', async () => {
      const bus = harness.create();
      let handled = 0;
      const subscription = await bus.subscribe('test.*', () => void handled++, { group: 'tidy' });
      await bus.publish(event('test.item.added'));
      await waitFor(() => handled === 1);
      await waitFor(() => harness.settled('tidy'));
      expect(await redis.xinfo('CONSUMERS', stream, 'tidy')).toHaveLength(1);
      await subscription.close();
      expect(await redis.xinfo('CONSUMERS', stream, 'tidy')).toEqual([]);
    });

    it('fails publish() while Redis is unreachable instead of hanging', async () => {
      const bus = new RedisEventBus({ ...redisTestOptions('redis://127.0.0.1:1', harness.prefix!) });
      try {
        await expect(bus.publish(event('test.item.added'))).rejects.toThrow();
      } finally {
        await bus.close();
      }
    });
  });
}

// A real restart needs a server of our own (the shared one is never restarted); it runs in the
// Redis pass, and fails there if redis-server cannot be started.
if (redisKinds.length > 0) {
  describe.each(redisKinds)('RedisEventBus across a Redis restart', () => {
    let server: PrivateRedis | undefined;
    let bus: EventBus | undefined;

    afterEach(async () => {
      await bus?.close();
      await server?.stop();
    });

    it('notices the new run_id, recreates its group and keeps delivering', async () => {
      server = new PrivateRedis(await freePort());
      await server.start();
      bus = new RedisEventBus(redisTestOptions(server.url, `test:events:${randomBytes(4).toString('hex')}`));
      let resets = 0;
      bus.onReset!(() => resets++);
      const received: string[] = [];
      await bus.subscribe('test.*', (e) => void received.push(e.id), { group: 'phoenix' });
      const before = event('test.item.added');
      await bus.publish(before);
      await waitFor(() => received.length === 1);

      await server.stop();
      await server.start();
      await waitFor(() => resets >= 1, 'the reset notification');
      const after = event('test.item.added');
      await waitFor(
        () =>
          bus!.publish(after).then(
            () => true,
            () => false,
          ),
        'publish to succeed after the restart',
      );
      await waitFor(() => received.includes(after.id), 'delivery after the restart');
      expect(received.filter((id) => id === after.id).length).toBeGreaterThanOrEqual(1);
      expect(received[0]).toBe(before.id);
    });
  });
}
