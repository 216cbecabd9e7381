import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { createEvent } from './event.js';
import { liveOnce, MemoryHandledEvents } from './live-once.js';

describe('liveOnce', () => {
  it('forgets a handled event after the window, and keeps the store to what is inside it', async () => {
    let now = 0;
    const handled = new MemoryHandledEvents(1000, () => now);
    const seen: string[] = [];
    const handler = liveOnce((e) => void seen.push(e.id), 'feed', handled, pino({ level: 'silent' }));
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
    const logger = pino({ level: 'silent' });
    const a = liveOnce(() => void seen.push('a'), 'feed-a', handled, logger);
    const b = liveOnce(() => void seen.push('b'), 'feed-b', handled, logger);
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
