import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { eventually, waitFor } from '../testing/wait.js';
import { deferred, Fleet, REDIS_URL, type Instance } from './__tests__/fleet.js';

// One module cache's behaviour, in process memory and (with REDIS_URL) in front of Redis.

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
