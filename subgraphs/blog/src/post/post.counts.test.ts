import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createEvent, testConfig, waitFor, type PlatformConfig } from '@platform/kernel/testing';
import {
  as,
  countStatements,
  createPost,
  newCallers,
  startBlog,
  type BlogTestHandle,
} from '../__tests__/start-blog.js';
import { Post } from './post.entity.js';
import { postTable } from './post.queries.js';

/**
 * The lists' `totalCount` from `runtime.cache`: counted once per TTL, and never stale after a
 * change that adds or removes posts. The TTL is long here, so a count that comes right can only
 * come from the change's invalidation, never from the entry running out.
 */
const LONG_TTL = { countCacheTtlSec: 600 };

const LIST = `query ($authorId: ID) { posts(first: 1, authorId: $authorId) { totalCount } }`;
const DELETE = `mutation ($id: ID!) { deletePost(id: $id) }`;

async function totalCount(handle: BlogTestHandle, authorId?: string): Promise<number> {
  const { body } = await handle.query<{ posts: { totalCount: number } }>(LIST, { authorId });
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!.posts.totalCount;
}

/** A post written straight into the table, as another process would: nothing is invalidated. */
async function insertBehindTheCache(handle: BlogTestHandle, authorId: string): Promise<void> {
  const em = handle.runtime.em();
  await em.execute(
    `insert into ${postTable(em)} (id, title, content, author_id, created_at, updated_at) values (?, 'Behind', 'Behind.', ?, now(), now())`,
    [randomUUID(), authorId],
  );
}

describe('cached post counts', () => {
  const callers = newCallers();
  let handle: BlogTestHandle;

  beforeAll(async () => {
    handle = await startBlog(callers, { blog: LONG_TTL });
  });

  afterAll(async () => {
    await handle?.stop();
  });

  it('counts a list once: the next pages cost only their rows', async () => {
    const writer = callers.author;
    await createPost(handle, writer);
    const first = await countStatements(handle, () => totalCount(handle, writer));
    const second = await countStatements(handle, () => totalCount(handle, writer));
    expect([first.result, second.result]).toEqual([1, 1]);
    expect([first.statements, second.statements]).toEqual([2, 1]);
    // Served from the cache: a row written behind its back is not seen until a change invalidates.
    await insertBehindTheCache(handle, writer);
    expect(await totalCount(handle, writer)).toBe(1);
    await createPost(handle, writer);
    expect(await totalCount(handle, writer)).toBe(3);
  });

  it("shows a creation, an author's deletion and a moderator's deletion at once, in every list", async () => {
    const writer = callers.other;
    const all = await totalCount(handle);
    expect(await totalCount(handle, writer)).toBe(0);
    const [one, two] = [await createPost(handle, writer), await createPost(handle, writer)];
    expect([await totalCount(handle, writer), await totalCount(handle)]).toEqual([2, all + 2]);
    expect((await handle.query(DELETE, { id: one.id }, as(writer))).body.errors).toBeUndefined();
    expect([await totalCount(handle, writer), await totalCount(handle)]).toEqual([1, all + 1]);
    expect((await handle.query(DELETE, { id: two.id }, as(callers.moderator))).body.errors).toBeUndefined();
    expect([await totalCount(handle, writer), await totalCount(handle)]).toEqual([0, all]);
  });

  it("drops a deleted user's posts from the counts (identity.user.deleted)", async () => {
    const gone = randomUUID();
    const em = handle.runtime.em();
    em.create(Post, { title: 'Theirs', content: 'Theirs.', authorId: gone });
    em.create(Post, { title: 'Theirs', content: 'Theirs.', authorId: gone });
    await em.flush();
    expect(await totalCount(handle, gone)).toBe(2); // now cached
    await handle.runtime.bus.publish(createEvent('identity', 'identity.user.deleted', { userId: gone }));
    // Within the wait (far shorter than the TTL) only the consumer's invalidation can bring it to 0.
    await waitFor(async () => (await totalCount(handle, gone)) === 0, "the deleted user's count to drop");
    expect(await handle.runtime.em().count(Post, { authorId: gone })).toBe(0);
  });

  // Two instances on one PostgreSQL schema and one Redis (the embedded database is one process's).
  if (process.env.DATABASE_URL && process.env.REDIS_URL) {
    describe('across instances (PostgreSQL + Redis)', () => {
      let prepared: { config: PlatformConfig; cleanup: () => Promise<void> };
      let a: BlogTestHandle;
      let b: BlogTestHandle;
      let probe: Redis;

      beforeAll(async () => {
        prepared = testConfig({ modules: { blog: LONG_TTL } });
        a = await startBlog(callers, { config: prepared.config });
        b = await startBlog(callers, { config: prepared.config });
        probe = new Redis(process.env.REDIS_URL!);
        // Both instances listen for invalidations before anything is cached.
        const channel = `${prepared.config.redis.keyPrefix}:bentocache.notifications:cache`;
        await waitFor(async () => {
          const [, listeners] = (await probe.pubsub('NUMSUB', channel)) as [string, number];
          return Number(listeners) >= 2;
        }, 'both instances listening for cache invalidations');
      });

      afterAll(async () => {
        probe?.disconnect();
        await b?.stop();
        await a?.stop();
        await prepared?.cleanup();
      });

      it("drops another instance's cached count when a post is created or deleted here", async () => {
        const writer = randomUUID();
        await insertBehindTheCache(a, writer);
        expect([await totalCount(a, writer), await totalCount(b, writer)]).toEqual([1, 1]);
        await insertBehindTheCache(a, writer);
        expect(await totalCount(b, writer)).toBe(1); // b serves its cached count
        // Any creation counts every list afresh (one tag): here another author's post.
        const created = await createPost(a, callers.author);
        expect(await totalCount(a, writer)).toBe(2);
        await waitFor(async () => (await totalCount(b, writer)) === 2, "b's count after a's creation");
        await insertBehindTheCache(a, writer);
        expect(await totalCount(b, writer)).toBe(2);
        expect((await a.query(DELETE, { id: created.id }, as(callers.author))).body.errors).toBeUndefined();
        expect(await totalCount(a, writer)).toBe(3);
        await waitFor(async () => (await totalCount(b, writer)) === 3, "b's count after a's deletion");
      });
    });
  }
});
