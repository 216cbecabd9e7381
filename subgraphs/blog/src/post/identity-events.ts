import { causedBy, handleOnce, isUuid, type ModuleConsumer } from '@platform/kernel';
import type { PostService } from './post.service.js';

/**
 * Consumer group of every blog replica for identity's deletions: each event is handled by one
 * of them. A group has one pattern (on Redis it is one cursor over the stream), so a topic blog
 * consumes later gets a group of its own.
 */
export const CONSUMER_GROUP = 'blog.identity-user-deleted';

/**
 * A deleted user's posts go with them: identity erases the account's personal data and keeps
 * only a tombstone, and what someone wrote is theirs as much as their name. Each post's
 * deletion is recorded as `blog.post.deleted` (reason `author_deleted`), so audit and other
 * consumers see every one. Delivery is at least once: `handleOnce` records the event id with the
 * deletions in one transaction, so a redelivered event changes nothing, and the events recorded
 * meanwhile name the request that deleted the user (`causedBy`). The kernel runs it (module.ts).
 */
export const userDeletedConsumer: ModuleConsumer<unknown, { posts: PostService }> = {
  topic: 'identity.user.deleted',
  group: CONSUMER_GROUP,
  async handler(event, runtime, services) {
    const logger = runtime.logger.child({ component: 'identity-events' });
    const { userId } = event.payload;
    if (!isUuid(userId)) {
      // A redelivery cannot fix a bad payload: logged and acknowledged rather than retried.
      logger.error({ eventId: event.id, topic: event.topic }, 'event without a valid userId skipped');
      return;
    }
    let removed = 0;
    await handleOnce(runtime.db, 'blog.post.on-user-deleted', event, async (em) => {
      removed = await services.posts.deleteByAuthor(em, userId.toLowerCase(), causedBy(event));
    });
    // Committed: the lists are counted afresh (also when a redelivery deleted nothing: the first
    // delivery may have committed and stopped before it said so).
    await services.posts.changed();
    if (removed > 0) logger.info({ userId, removed, eventId: event.id }, 'posts of a deleted user removed');
  },
};
