import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { EventBus } from './bus.js';
import { createEventBus } from './create.js';
import { createEvent, type PlatformEvent } from './event.js';
import { MemoryBroker, MemoryEventBus } from './memory-bus.js';
import { RedisEventBus } from './redis-bus.js';
import { busKinds, deferred, silent, waitFor, type BusHarness } from './__tests__/harness.js';

const event = (topic: string, payload: Record<string, unknown> = {}): PlatformEvent =>
  createEvent('test', topic, payload);

describe.each(busKinds())('$kind event bus', ({ make }) => {
  let harness: BusHarness;
  let bus: EventBus;

  beforeEach(() => {
    harness = make();
    bus = harness.create();
  });
  afterEach(() => harness.cleanup());

  it('delivers by pattern: exact, prefix wildcards, everything, and nothing else', async () => {
    const patterns = [
      'identity.user.created',
      'identity.*',
      'identity.user.*',
      '*',
      'blog.*',
      'identity.user.deleted',
      'identity.role.*',
    ];
    const received = new Map<string, string[]>(patterns.map((pattern) => [pattern, []]));
    for (const [index, pattern] of patterns.entries()) {
      await bus.subscribe(pattern, (e) => void received.get(pattern)!.push(e.topic), { group: `g${index}` });
    }
    await bus.publish([event('identity.user.created'), event('identity.role.granted'), event('audit.entry.added')]);
    // Sentinels: per group delivery is in order, so once a group has its sentinel it has seen
    // everything before it.
    await bus.publish([event('blog.post.created'), event('identity.user.deleted')]);
    await waitFor(() => received.get('blog.*')!.length === 1 && received.get('identity.user.deleted')!.length === 1);
    await waitFor(() => received.get('*')!.length === 5, 'the catch-all group');

    expect(Object.fromEntries(received)).toEqual({
      'identity.user.created': ['identity.user.created'],
      'identity.*': ['identity.user.created', 'identity.role.granted', 'identity.user.deleted'],
      'identity.user.*': ['identity.user.created', 'identity.user.deleted'],
      '*': [
        'identity.user.created',
        'identity.role.granted',
        'audit.entry.added',
        'blog.post.created',
        'identity.user.deleted',
      ],
      'blog.*': ['blog.post.created'],
      'identity.user.deleted': ['identity.user.deleted'],
      'identity.role.*': ['identity.role.granted'],
    });
  });

  it('rejects invalid patterns, groups and topics', async () => {
    await expect(bus.subscribe('identity', () => {}, { group: 'g' })).rejects.toThrow('Invalid event pattern');
    await expect(bus.subscribe('Identity.*', () => {}, { group: 'g' })).rejects.toThrow('Invalid event pattern');
    await expect(bus.listen('identity.*.created', () => {})).rejects.toThrow('Invalid event pattern');
    await expect(bus.subscribe('*', () => {}, { group: 'has space' })).rejects.toThrow('Invalid consumer group');
    const bad = { ...event('a.b.c'), topic: 'not-a-topic' };
    await expect(bus.publish(bad)).rejects.toThrow('Invalid event topic');
  });

  it('calls handlers outside the publisher, in publish order per group', async () => {
    let published = false;
    const order: number[] = [];
    const calledDuringPublish: boolean[] = [];
    await bus.subscribe(
      'test.item.*',
      (e) => {
        calledDuringPublish.push(!published);
        order.push(e.payload.n as number);
      },
      { group: 'ordered' },
    );
    const events = Array.from({ length: 30 }, (_, n) => event('test.item.added', { n }));
    const done = bus.publish(events.slice(0, 10));
    published = true;
    await done;
    for (const e of events.slice(10)) await bus.publish(e);
    await waitFor(() => order.length === 30);
    expect(order).toEqual(events.map((_, n) => n));
    expect(calledDuringPublish.every((during) => !during)).toBe(true);
  });

  it('gives each event to one member of a group, and every event to every group', async () => {
    const sameGroup: string[] = [];
    const otherGroup: string[] = [];
    const other = harness.create();
    await bus.subscribe('test.*', (e) => void sameGroup.push(e.id), { group: 'workers' });
    await other.subscribe('test.*', (e) => void sameGroup.push(e.id), { group: 'workers' });
    await bus.subscribe('test.*', (e) => void otherGroup.push(e.id), { group: 'auditors' });
    const events = Array.from({ length: 20 }, (_, n) => event('test.job.queued', { n }));
    await bus.publish(events);
    await waitFor(() => sameGroup.length >= 20 && otherGroup.length >= 20);
    await waitFor(() => harness.settled('workers'), 'workers to acknowledge');
    await waitFor(() => harness.settled('auditors'), 'auditors to acknowledge');

    const ids = events.map((e) => e.id).sort();
    expect([...sameGroup].sort()).toEqual(ids);
    expect([...otherGroup].sort()).toEqual(ids);
  });

  it('lets a live group handle an event id once, on any member, however often it is published; other groups each time', async () => {
    const live: string[] = [];
    const plain: string[] = [];
    let failFirst = true;
    const other = harness.create();
    for (const member of [bus, other]) {
      await member.subscribe(
        'test.*',
        (e) => {
          // A failure is not remembered as handled: the retry runs.
          if (e.topic === 'test.flaky.announced' && failFirst) {
            failFirst = false;
            throw new Error('feed failed once');
          }
          live.push(e.id);
        },
        { group: 'feed', live: true },
      );
    }
    await bus.subscribe('test.*', (e) => void plain.push(e.id), { group: 'indexer' });
    const announced = event('test.post.announced');
    const flaky = event('test.flaky.announced');
    // The same events again, as an outbox publishes a row again after its relay died between
    // publishing it and marking it published, or after its claim lapsed.
    await bus.publish([announced, flaky]);
    await waitFor(() => live.length === 2 && plain.length === 2, 'the first deliveries');
    await other.publish([announced, flaky]);
    await other.publish(announced);
    await waitFor(() => plain.length === 5, 'every delivery to the plain group');
    await waitFor(() => harness.settled('feed'), 'the live group to acknowledge');
    expect([...live].sort()).toEqual([announced.id, flaky.id].sort());
    expect(plain.filter((id) => id === announced.id)).toHaveLength(3);
    expect(await harness.deadLetters()).toEqual([]);
  });

  it('retries a failing handler with backoff until it succeeds', async () => {
    const attempts: string[] = [];
    await bus.subscribe(
      'test.flaky.*',
      (e) => {
        attempts.push(e.id);
        if (attempts.length <= 2) throw new Error(`failure ${attempts.length}`);
      },
      { group: 'flaky', maxAttempts: 5 },
    );
    const flaky = event('test.flaky.happened');
    await bus.publish(flaky);
    await waitFor(() => attempts.length === 3, 'the third attempt');
    await waitFor(() => harness.settled('flaky'), 'the acknowledgement');
    expect(attempts).toEqual([flaky.id, flaky.id, flaky.id]);
    expect(await harness.deadLetters()).toEqual([]);
  });

  it('dead-letters an event after maxAttempts, and later events still flow', async () => {
    const attempts = new Map<string, number>();
    const handled: string[] = [];
    await bus.subscribe(
      'test.*',
      (e) => {
        attempts.set(e.id, (attempts.get(e.id) ?? 0) + 1);
        if (e.topic === 'test.poison.pill') throw new Error('cannot digest');
        handled.push(e.id);
      },
      { group: 'eater', maxAttempts: 3 },
    );
    const poison = event('test.poison.pill', { dose: 1 });
    const later = [event('test.food.served'), event('test.food.served')];
    await bus.publish([poison, ...later]);
    await waitFor(async () => (await harness.deadLetters()).length === 1, 'the dead letter');
    await waitFor(() => handled.length === 2 && attempts.get(poison.id) === 3);
    await waitFor(() => harness.settled('eater'), 'everything acknowledged');

    expect(handled).toEqual(later.map((e) => e.id));
    const [dead] = await harness.deadLetters();
    expect(dead).toMatchObject({ group: 'eater', attempts: 3, event: { id: poison.id, payload: { dose: 1 } } });
    expect(dead!.error).toContain('cannot digest');

    await bus.publish(event('test.food.served'));
    await waitFor(() => handled.length === 3, 'an event after the dead letter');
    expect(attempts.get(poison.id)).toBe(3);
  });

  it('keeps what a group missed while it had no member, and delivers it when a member returns', async () => {
    const seen: number[] = [];
    const first = await bus.subscribe('test.*', (e) => void seen.push(e.payload.n as number), { group: 'returning' });
    await bus.publish(event('test.item.added', { n: 1 }));
    await waitFor(() => seen.length === 1);
    await first.close();

    await bus.publish([2, 3, 4].map((n) => event('test.item.added', { n })));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toEqual([1]);

    const later = harness.create();
    await later.subscribe('test.*', (e) => void seen.push(e.payload.n as number), { group: 'returning' });
    await waitFor(() => seen.length === 4, 'the missed events');
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it('fans listen() out to every bus instance, for matching topics only', async () => {
    const other = harness.create();
    const heard: Record<string, string[]> = { here: [], there: [] };
    await bus.listen('identity.*', (e) => void heard.here!.push(e.topic));
    await other.listen('identity.*', (e) => void heard.there!.push(e.topic));
    await other.publish(event('blog.post.created'));
    await other.publish(event('identity.user.updated'));
    await waitFor(() => heard.here!.length === 1 && heard.there!.length === 1);
    expect(heard).toEqual({ here: ['identity.user.updated'], there: ['identity.user.updated'] });
  });

  it('close() lets the handler in flight finish, then refuses to publish', async () => {
    const release = deferred();
    const started = deferred();
    let finished = false;
    await bus.subscribe(
      'test.*',
      async () => {
        started.resolve();
        await release.promise;
        finished = true;
      },
      { group: 'slow' },
    );
    await bus.publish(event('test.slow.work'));
    await started.promise;
    const closed = bus.close();
    setImmediate(() => release.resolve());
    await closed;
    expect(finished).toBe(true);
    await expect(bus.publish(event('test.slow.work'))).rejects.toThrow('closed');
  });
});

describe('createEventBus', () => {
  it('makes the in-process bus without a Redis URL, and the Redis bus with one', async () => {
    const memory = createEventBus({
      config: { redis: { url: null, keyPrefix: 'platform' } },
      module: 'blog',
      logger: silent,
    });
    const redis = createEventBus({
      config: { redis: { url: 'redis://127.0.0.1:1', keyPrefix: 'platform' } },
      module: 'blog',
      logger: silent,
    });
    try {
      expect(memory).toBeInstanceOf(MemoryEventBus);
      expect((memory as MemoryEventBus).broker).toBe(MemoryBroker.shared);
      expect(redis).toBeInstanceOf(RedisEventBus);
    } finally {
      await Promise.all([memory.close(), redis.close()]);
    }
  });
});

describe('MemoryEventBus', () => {
  it("starts a live group's delivery before other groups' that joined earlier", async () => {
    const broker = new MemoryBroker();
    const bus = new MemoryEventBus({ logger: silent, broker });
    const steps: string[] = [];
    // Like a transaction on the embedded database: several steps, each resolved at once, no I/O wait.
    const bookkeeping = async (): Promise<void> => {
      for (let step = 0; step < 5; step++) {
        await Promise.resolve();
        steps.push('bookkeeping');
      }
    };
    await bus.subscribe('test.*', bookkeeping, { group: 'bookkeeping' });
    await bus.subscribe('test.*', () => void steps.push('live'), { group: 'feed', live: true });
    await bus.subscribe('test.*', () => void steps.push('plain'), { group: 'plain' });
    await bus.publish(event('test.item.added'));
    await waitFor(() => steps.length === 7);
    expect(steps).toEqual(['live', 'bookkeeping', 'bookkeeping', 'bookkeeping', 'bookkeeping', 'bookkeeping', 'plain']);
    await bus.close();
  });

  it('drains queued events on close, and leaves nothing queued in the group', async () => {
    const broker = new MemoryBroker();
    const bus = new MemoryEventBus({ logger: silent, broker });
    const handled: number[] = [];
    await bus.subscribe(
      'test.*',
      async (e) => {
        await new Promise((resolve) => setImmediate(resolve));
        handled.push(e.payload.n as number);
      },
      { group: 'drained' },
    );
    await bus.publish([1, 2, 3, 4, 5].map((n) => event('test.item.added', { n })));
    await bus.close();
    expect(handled).toEqual([1, 2, 3, 4, 5]);

    // A later bus on the same broker joins the group again: nothing was left queued.
    const later = new MemoryEventBus({ logger: silent, broker });
    const seen: number[] = [];
    await later.subscribe('test.*', (e) => void seen.push(e.payload.n as number), { group: 'drained' });
    await later.publish(event('test.item.added', { n: 6 }));
    await waitFor(() => seen.length === 1);
    expect(seen).toEqual([6]);
    await later.close();
  });

  it('parks an event whose retry is waiting when the last member leaves, for the next member', async () => {
    const broker = new MemoryBroker();
    const bus = new MemoryEventBus({ logger: silent, broker, retry: { baseDelayMs: 60_000, maxDelayMs: 60_000 } });
    const failing = await bus.subscribe(
      'test.*',
      () => {
        throw new Error('not now');
      },
      { group: 'parked' },
    );
    const stuck = event('test.item.added', { n: 1 });
    await bus.publish(stuck);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Leaving wakes the retry at once (no 60 s wait), and the event is not dropped.
    await failing.close();

    const seen: string[] = [];
    await bus.subscribe('test.*', (e) => void seen.push(e.id), { group: 'parked' });
    await waitFor(() => seen.length === 1, 'the parked event');
    expect(seen).toEqual([stuck.id]);
    expect(broker.deadLetters).toEqual([]);
    await bus.close();
  });
});
