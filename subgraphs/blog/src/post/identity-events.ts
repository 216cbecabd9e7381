import {
  causedBy,
  handleOnce,
  isUuid,
  type Logger,
  type ModuleRuntime,
  type PlatformEvent,
  type Subscription,
} from '@platform/kernel';
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
 * consumers see every one. Each event is handled at most once (`handleOnce`), and the deletion
 * itself is idempotent.
 */
export class IdentityEventConsumer {
  readonly #runtime: ModuleRuntime;
  readonly #posts: PostService;
  readonly #logger: Logger;
  #subscription: Subscription | undefined;

  constructor(deps: { runtime: ModuleRuntime; posts: PostService }) {
    this.#runtime = deps.runtime;
    this.#posts = deps.posts;
    this.#logger = deps.runtime.logger.child({ component: 'identity-events' });
  }

  async start(): Promise<void> {
    this.#subscription = await this.#runtime.bus.subscribe(
      'identity.user.deleted',
      (event) => this.userDeleted(event),
      {
        group: CONSUMER_GROUP,
      },
    );
  }

  /** Stops consuming; handlers in flight finish first, so it must run before the database closes. */
  async stop(): Promise<void> {
    const subscription = this.#subscription;
    this.#subscription = undefined;
    await subscription?.close();
  }

  async userDeleted(event: PlatformEvent): Promise<void> {
    const { userId } = event.payload;
    if (!isUuid(userId)) {
      // A redelivery cannot fix a bad payload: logged and acknowledged rather than retried.
      this.#logger.error({ eventId: event.id, topic: event.topic }, 'event without a valid userId skipped');
      return;
    }
    let removed = 0;
    await handleOnce(this.#runtime.db, 'blog.post.on-user-deleted', event, async (em) => {
      removed = await this.#posts.deleteByAuthor(em, userId.toLowerCase(), causedBy(event));
    });
    if (removed > 0) this.#logger.info({ userId, posts: removed, eventId: event.id }, 'posts of deleted user removed');
  }
}
