import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { type PlatformEvent } from '@platform/kernel';
import { createEvent, waitFor } from '@platform/kernel/testing';
import { newCallers, outbox, startBlog, type BlogTestHandle } from '../__tests__/start-blog.js';
import { Post } from './post.entity.js';

describe('on identity.user.deleted', () => {
  let handle: BlogTestHandle;

  beforeAll(async () => {
    handle = await startBlog(newCallers());
  });

  afterAll(async () => {
    await handle?.stop();
  });

  const publish = async (event: PlatformEvent): Promise<PlatformEvent> => {
    await handle.runtime.bus.publish(event);
    return event;
  };
  const userDeleted = (userId: string) =>
    createEvent('identity', 'identity.user.deleted', { userId }, { actorId: 'an-admin', requestId: 'req-delete' });
  const postsBy = (authorId: string): Promise<number> => handle.runtime.em().count(Post, { authorId });

  /** `count` posts by a new user, written directly. */
  const writer = async (count: number): Promise<{ userId: string; postIds: string[] }> => {
    const userId = randomUUID();
    const em = handle.runtime.em();
    const posts = Array.from({ length: count }, (_, i) =>
      em.create(Post, { title: `Post ${i}`, content: 'Text.', authorId: userId }),
    );
    await em.flush();
    return { userId, postIds: posts.map((post) => post.id) };
  };

  /** Deletes a fresh user's post through the consumer: events published before it were handled. */
  const settled = async (): Promise<void> => {
    const { userId } = await writer(1);
    await publish(userDeleted(userId));
    await waitFor(async () => (await postsBy(userId)) === 0, 'the events before to be handled');
  };

  it("deletes the user's posts, recording blog.post.deleted for each, and leaves others' alone", async () => {
    const gone = await writer(3);
    const bystander = await writer(2);

    await publish(userDeleted(gone.userId));
    await waitFor(async () => (await postsBy(gone.userId)) === 0, 'the posts to go');

    expect(await postsBy(bystander.userId)).toBe(2);
    const deleted = (await outbox(handle)).filter((row) => row.payload.authorId === gone.userId);
    expect(deleted.map((row) => row.payload.postId).sort()).toEqual([...gone.postIds].sort());
    for (const row of deleted) {
      expect(row).toEqual({
        topic: 'blog.post.deleted',
        payload: { postId: expect.any(String), authorId: gone.userId, reason: 'author_deleted' },
        meta: expect.objectContaining({ actorId: 'an-admin', requestId: 'req-delete' }),
      });
    }
  });

  it('has one effect when the same event is delivered twice', async () => {
    const gone = await writer(2);
    const event = userDeleted(gone.userId);
    await publish(event);
    await publish(event);
    await settled();
    expect(await postsBy(gone.userId)).toBe(0);
    expect((await outbox(handle)).filter((row) => row.payload.authorId === gone.userId)).toHaveLength(2);
  });

  it('skips an event without a valid user id instead of retrying it', async () => {
    const before = (await outbox(handle)).length;
    await publish(createEvent('identity', 'identity.user.deleted', { userId: 'not-a-uuid' }));
    await settled();
    // Only the posts `settled` itself deleted were recorded.
    expect((await outbox(handle)).length).toBe(before + 1);
  });
});
