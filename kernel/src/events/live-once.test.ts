import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createEvent, type PlatformEvent } from './event.js';
import { liveOnce, MemoryHandledEvents, RedisHandledEvents, type HandledEvents } from './live-once.js';

const silent = pino({ level: 'silent' });

/** A handler that records each run and finishes when told (or fails, when told to). */
function gatedHandler(): {
  runs: string[];
  handler: (event: PlatformEvent) => Promise<void>;
  finish: (error?: Error) => void;
} {
  const runs: string[] = [];
  const gates: Array<(error?: Error) => void> = [];
  return {
    runs,
    handler: (event) =>
      new Promise<void>((resolve, reject) => {
        runs.push(event.id);
        gates.push((error) => (error ? reject(error) : resolve()));
      }),
    finish: (error) => gates.shift()?.(error),
  };
}

const tick = (ms = 30): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What every store must do: two members, one event delivered to both at the same time. */
function claimContract(name: string, stores: () => [HandledEvents, HandledEvents]): void {
  describe(`${name}: deliveries of one event at the same time`, () => {
    it('runs the handler once; the other delivery waits for it and is skipped', async () => {
      const [store1, store2] = stores();
      const gate = gatedHandler();
      const member1 = liveOnce(gate.handler, 'feed', store1, silent, { pollMs: 10 });
      const member2 = liveOnce(gate.handler, 'feed', store2, silent, { pollMs: 10 });
      const event = createEvent('test', 'test.post.announced', {});
      const first = member1(event);
      await tick();
      const second = member2(event);
      await tick();
      expect(gate.runs).toEqual([event.id]);
      gate.finish();
      await Promise.all([first, second]);
      expect(gate.runs).toEqual([event.id]);
      await member2(event);
      expect(gate.runs).toEqual([event.id]);
    });

    it('runs it again when the first run failed: the waiting delivery takes it over', async () => {
      const [store1, store2] = stores();
      const gate = gatedHandler();
      const member1 = liveOnce(gate.handler, 'feed', store1, silent, { pollMs: 10 });
      const member2 = liveOnce(gate.handler, 'feed', store2, silent, { pollMs: 10 });
      const event = createEvent('test', 'test.post.announced', {});
      const first = member1(event);
      await tick();
      const second = member2(event);
      gate.finish(new Error('publish failed'));
      await expect(first).rejects.toThrow('publish failed');
      await tick(60);
      expect(gate.runs).toEqual([event.id, event.id]);
      gate.finish();
      await second;
      await member1(event);
      expect(gate.runs).toEqual([event.id, event.id]);
    });

    it('takes over the claim of a member that hung mid-handler once its lease lapses', async () => {
      const [store1, store2] = stores();
      const gate = gatedHandler();
      const options = { pollMs: 10, leaseMs: 200 };
      const member1 = liveOnce(gate.handler, 'feed', store1, silent, options);
      const member2 = liveOnce(gate.handler, 'feed', store2, silent, options);
      const event = createEvent('test', 'test.post.announced', {});
      void Promise.resolve(member1(event)).catch(() => undefined); // hangs: its member lost Redis mid-publish
      await tick();
      const waiting = member2(event);
      await tick(100);
      expect(gate.runs).toEqual([event.id]);
      await tick(200);
      expect(gate.runs).toEqual([event.id, event.id]);
      gate.finish();
      gate.finish();
      await waiting;
    });
  });
}

claimContract('in memory', () => {
  const handled = new MemoryHandledEvents();
  return [handled, handled];
});

// On Redis too, a connection and a store per member as two instances have; absent without REDIS_URL.
const redisUrl = process.env.REDIS_URL;
if (redisUrl) {
  const prefix = `test:live-once:${randomBytes(4).toString('hex')}`;
  const connections: Redis[] = [];
  const connect = (): Redis => {
    const redis = new Redis(redisUrl, { lazyConnect: true });
    connections.push(redis);
    return redis;
  };
  afterAll(async () => {
    const keys = await connections[0]?.keys(`${prefix}:*`);
    if (keys && keys.length > 0) await connections[0]!.del(...keys);
    for (const redis of connections) redis.disconnect();
  });
  claimContract('on Redis', () => [
    new RedisHandledEvents(connect(), prefix),
    new RedisHandledEvents(connect(), prefix),
  ]);
}
describe('liveOnce', () => {
  it('forgets a handled event after the window, and keeps the store to what is inside it', async () => {
    let now = 0;
    const handled = new MemoryHandledEvents(1000, () => now);
    const seen: string[] = [];
    const handler = liveOnce((e) => void seen.push(e.id), 'feed', handled, silent);
    const first = createEvent('test', 'test.post.announced', {});
    await handler(first);
    await handler(first);
    expect(seen).toEqual([first.id]);
    now = 999;
    await handler(first);
    expect(seen).toEqual([first.id]);
    now = 1000;
    await handler(first);
    expect(seen).toEqual([first.id, first.id]);
    // Expired entries go as new ones are added: the store holds one window's worth.
    for (let i = 0; i < 5; i++) {
      now += 400;
      await handler(createEvent('test', 'test.post.announced', {}));
    }
    expect(handled.size).toBe(3);
  });

  it('keeps groups apart, and runs an event without an id every time', async () => {
    const handled = new MemoryHandledEvents();
    const seen: string[] = [];
    const a = liveOnce(() => void seen.push('a'), 'feed-a', handled, silent);
    const b = liveOnce(() => void seen.push('b'), 'feed-b', handled, silent);
    const event = createEvent('test', 'test.post.announced', {});
    await a(event);
    await b(event);
    await a(event);
    const anonymous = { ...event, id: undefined as unknown as string };
    await a(anonymous);
    await a(anonymous);
    expect(seen).toEqual(['a', 'b', 'a', 'a']);
  });
});
