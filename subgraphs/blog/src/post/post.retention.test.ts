import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { waitFor } from '@platform/kernel/testing';
import { countStatements, newCallers, outbox, startBlog, type BlogTestHandle } from '../__tests__/start-blog.js';
import { Post } from './post.entity.js';
import { postTable } from './post.queries.js';

/**
 * Data retention: the `retention` schedule of module.yaml runs the `delete-expired-posts` job,
 * which deletes posts created more than `modules.blog.retentionDays` ago, each with its event. In
 * tests schedules do not tick (`jobs.runSchedules: false`): the suite enqueues the job itself.
 */
const DAY = 86_400_000;
const LIST = `query ($authorId: ID) { posts(first: 1, authorId: $authorId) { totalCount } }`;

async function totalCount(handle: BlogTestHandle, authorId: string): Promise<number> {
  const { body } = await handle.query<{ posts: { totalCount: number } }>(LIST, { authorId });
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!.posts.totalCount;
}

/** A post by `authorId` created `days` ago, written straight into the table. */
async function postFrom(handle: BlogTestHandle, authorId: string, days: number): Promise<string> {
  const id = randomUUID();
  const at = new Date(Date.now() - days * DAY);
  const em = handle.runtime.em();
  await em.execute(
    `insert into ${postTable(em)} (id, title, content, author_id, created_at, updated_at) values (?, 'Old', 'Old.', ?, ?, ?)`,
    [id, authorId, at, at],
  );
  return id;
}

const exists = async (handle: BlogTestHandle, id: string): Promise<boolean> =>
  (await handle.runtime.em().count(Post, { id })) === 1;

/** Tries of the retention job that completed, from /metrics (`jobs_total`). */
async function completedRuns(handle: BlogTestHandle): Promise<number> {
  const text = await (await fetch(`${handle.baseUrl}/metrics`)).text();
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('jobs_total{') &&
        l.includes('queue="blog.delete-expired-posts"') &&
        l.includes('status="completed"'),
    );
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('post retention (the retention schedule)', () => {
  const callers = newCallers();
  let keeping30Days: BlogTestHandle;
  let keepingForever: BlogTestHandle;

  beforeAll(async () => {
    [keeping30Days, keepingForever] = await Promise.all([
      // A long count TTL: a count that drops can only have been invalidated by the job.
      startBlog(callers, { blog: { retentionDays: 30, countCacheTtlSec: 600 } }),
      startBlog(callers, { blog: { countCacheTtlSec: 0 } }), // the default retention: null
    ]);
    // Two embedded databases start at once: on a loaded machine that outlasts the default 30 s.
  }, 90_000);

  afterAll(async () => {
    await Promise.all([keeping30Days?.stop(), keepingForever?.stop()]);
  });

  it('is declared in module.yaml with its job as handler', () => {
    expect(keeping30Days.runtime.manifest.schedules).toContainEqual(
      expect.objectContaining({ name: 'retention', cron: '30 3 * * *', handler: 'delete-expired-posts' }),
    );
  });

  it('deletes the posts older than retentionDays, each with blog.post.deleted, and keeps the others', async () => {
    const handle = keeping30Days;
    const writer = randomUUID();
    const old = [await postFrom(handle, writer, 31), await postFrom(handle, writer, 400)];
    const recent = [await postFrom(handle, writer, 29), await postFrom(handle, writer, 0)];
    expect(await totalCount(handle, writer)).toBe(4); // cached

    await handle.runtime.jobs.enqueue('delete-expired-posts', {});
    await waitFor(async () => (await totalCount(handle, writer)) === 2, 'the expired posts to be deleted');

    for (const id of old) {
      expect(await exists(handle, id)).toBe(false);
      expect(await outbox(handle, id)).toEqual([
        {
          topic: 'blog.post.deleted',
          payload: { postId: id, authorId: writer, reason: 'expired' },
          meta: expect.any(Object),
        },
      ]);
    }
    for (const id of recent) {
      expect(await exists(handle, id)).toBe(true);
      expect(await outbox(handle, id)).toEqual([]);
    }
  });

  it('deletes in batches until none is left, and stops once its signal is aborted', async () => {
    const handle = keeping30Days;
    const writer = randomUUID();
    const ids = await Promise.all(Array.from({ length: 5 }, () => postFrom(handle, writer, 1000)));
    const cutoff = new Date(Date.now() - 900 * DAY);

    const stopped = new AbortController();
    stopped.abort();
    const posts = handle.services.posts;
    expect(await posts.deleteCreatedBefore(handle.runtime.em(), cutoff, { batchSize: 2, signal: stopped.signal })).toBe(
      0,
    );
    expect(await handle.runtime.em().count(Post, { authorId: writer })).toBe(5);

    expect(await posts.deleteCreatedBefore(handle.runtime.em(), cutoff, { batchSize: 2 })).toBe(5);
    expect(await handle.runtime.em().count(Post, { authorId: writer })).toBe(0);
    const deleted = (await outbox(handle)).filter((row) => row.payload.authorId === writer);
    expect(deleted.map((row) => row.payload.postId).sort()).toEqual([...ids].sort());
    expect(await posts.deleteCreatedBefore(handle.runtime.em(), cutoff, { batchSize: 2 })).toBe(0);
  });

  it('deletes nothing while retentionDays is null (the default)', async () => {
    const handle = keepingForever;
    const ancient = await postFrom(handle, randomUUID(), 3650);
    const runs = await completedRuns(handle);
    await handle.runtime.jobs.enqueue('delete-expired-posts', {});
    await waitFor(async () => (await completedRuns(handle)) > runs, 'the retention job to complete');
    expect(await exists(handle, ancient)).toBe(true);
    expect(await outbox(handle, ancient)).toEqual([]);
  });

  it('counts every list afresh with countCacheTtlSec: 0', async () => {
    const handle = keepingForever;
    const writer = randomUUID();
    await postFrom(handle, writer, 1);
    const first = await countStatements(handle, () => totalCount(handle, writer));
    await postFrom(handle, writer, 1);
    const second = await countStatements(handle, () => totalCount(handle, writer));
    expect([first.result, second.result]).toEqual([1, 2]);
    expect([first.statements, second.statements]).toEqual([2, 2]);
  });
});
