import { afterAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createLogger } from '../logging/logger.js';
import { loadConfig } from '../config/load.js';
import { EventStream, mapStream } from './event-stream.js';
import { createPubSub, publishedAtOf, type PlatformPubSub } from './pubsub.js';
import { eventually } from '../testing/index.js';

const logger = createLogger(loadConfig({ env: { PLATFORM_ENV: 'test', LOG_LEVEL: 'silent' } }), 'pubsub-test');

/** Resolves with the next value, failing after `ms`. */
async function nextOf<T>(stream: AsyncIterator<T>, ms = 5000): Promise<IteratorResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no value in time')), ms);
  });
  try {
    return await Promise.race([stream.next(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('EventStream', () => {
  it('hands pushed values to the consumer in order, then ends after draining', async () => {
    let closed = 0;
    const stream = new EventStream<number>(() => closed++);
    stream.push(1);
    stream.push(2);
    stream.end();
    expect(await stream.next()).toEqual({ value: 1, done: false });
    expect(await stream.next()).toEqual({ value: 2, done: false });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    expect(closed).toBe(1);
  });

  it('releases once on return(), even before the first next(), and wakes a waiting consumer', async () => {
    let closed = 0;
    const early = new EventStream<number>(() => closed++);
    await early.return();
    await early.return();
    expect(closed).toBe(1);
    const waiting = new EventStream<number>(() => closed++);
    const pending = waiting.next();
    await waiting.return();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(closed).toBe(2);
  });

  it('drops the oldest values beyond its limit, counting them', async () => {
    const stream = new EventStream<number>(() => {}, 2);
    for (const value of [1, 2, 3, 4]) stream.push(value);
    expect(stream.dropped).toBe(2);
    expect((await stream.next()).value).toBe(3);
  });

  it('mapStream skips undefined, stops on request, and returns its source', async () => {
    let sourceClosed = false;
    const source = new EventStream<number>(() => (sourceClosed = true));
    const mapped = mapStream(source, (value, stop) => {
      if (value === 2) return undefined;
      if (value === 3) stop();
      return value * 10;
    });
    for (const value of [1, 2, 3, 4]) source.push(value);
    expect((await mapped.next()).value).toBe(10);
    expect((await mapped.next()).value).toBe(30);
    expect((await mapped.next()).done).toBe(true);
    expect(sourceClosed).toBe(true);
  });
});

const engines: Array<[string, () => PlatformPubSub]> = [
  ['in process', () => createPubSub({ redis: { url: null, keyPrefix: 'unused' } }, 'test', logger)],
];
const prefix = `test:${randomBytes(4).toString('hex')}`;
if (process.env.REDIS_URL) {
  engines.push([
    'on Redis',
    () => createPubSub({ redis: { url: process.env.REDIS_URL!, keyPrefix: prefix } }, 'test', logger),
  ]);
}

describe.each(engines)('PlatformPubSub %s', (kind, create) => {
  const created: PlatformPubSub[] = [];
  const make = (): PlatformPubSub => {
    const pubsub = create();
    created.push(pubsub);
    return pubsub;
  };

  afterAll(async () => {
    await Promise.all(created.map((pubsub) => pubsub.close()));
  });

  /** Redis SUBSCRIBE is asynchronous: publish until the first delivery arrives. */
  async function publishUntilSeen(pubsub: PlatformPubSub, topic: string, stream: AsyncIterator<object>) {
    const first = stream.next();
    for (let i = 0; i < 100; i++) {
      await pubsub.publish(topic, { n: 0 });
      const arrived = await Promise.race([first.then(() => true), new Promise((r) => setTimeout(() => r(false), 20))]);
      if (arrived) return;
    }
    throw new Error('never delivered');
  }

  it('delivers to every subscriber of a topic, filtered, with the publish time', async () => {
    const pubsub = make();
    const all = pubsub.subscribe<{ n: number }>('blog.things');
    const odd = pubsub.subscribe<{ n: number }>('blog.things', (payload) => payload.n % 2 === 1);
    await publishUntilSeen(pubsub, 'blog.things', all);
    const before = Date.now();
    await pubsub.publish('blog.things', { n: 1 });
    await pubsub.publish('blog.things', { n: 2 });
    const seen: number[] = [];
    for (;;) {
      const { value } = await nextOf(all);
      if (value!.n === 0) continue;
      seen.push(value!.n);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual([1, 2]);
    const { value } = await nextOf(odd);
    expect(value).toEqual({ n: 1 });
    expect(publishedAtOf(value)).toBeGreaterThanOrEqual(before - 5);
    expect(pubsub.stats()).toEqual({ streams: 2, channels: 1 });
    await all.return();
    await odd.return();
    expect(pubsub.stats()).toEqual({ streams: 0, channels: 0 });
  });

  it('releases the channel when the last subscriber leaves', async () => {
    const pubsub = make();
    const streams = Array.from({ length: 100 }, () => pubsub.subscribe('blog.many'));
    expect(pubsub.stats()).toEqual({ streams: 100, channels: 1 });
    await Promise.all(streams.map((stream) => stream.return()));
    expect(pubsub.stats()).toEqual({ streams: 0, channels: 0 });
    if (kind === 'on Redis') {
      const redis = new Redis(process.env.REDIS_URL!);
      try {
        const channel = `${prefix}:pubsub:blog.many`;
        // The UNSUBSCRIBE goes out once the SUBSCRIBE is acknowledged, on another connection than
        // this check's: given time (under CI's load, more than 2 s was once needed), it lands.
        await eventually(async () => expect(await redis.pubsub('NUMSUB', channel)).toEqual([channel, 0]), 15_000);
      } finally {
        redis.disconnect();
      }
    }
  });
});
