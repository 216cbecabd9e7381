import type { EventStream, Logger, ModuleConsumer, ModuleRuntime, PlatformEvent } from '@platform/kernel';
import { isUuid } from '@platform/kernel';
import { Post } from './post.entity.js';
import { postsByIds } from './post.queries.js';

/** One blog replica per event publishes it to subscribers (a consumer group, not a broadcast). */
export const FEED_GROUP = 'blog.subscriptions-post-created';
/** The pub/sub topic of `postCreated`. */
export const POST_CREATED_TOPIC = 'blog.postCreated';
/**
 * A subscription delivers what happens while one listens: events older than this (blog was
 * down, the group caught up later) are not announced as new.
 */
const STALE_AFTER_MS = 60_000;

/** What `postCreated` carries between instances: the post as written (JSON). */
export interface PostSnapshot {
  id: string;
  title: string;
  content: string;
  authorId: string;
  createdAt: string;
  updatedAt: string;
}

/** Feeds `postCreated`: one replica per event (the group), live (at most once per event id). */
export const postFeedConsumer: ModuleConsumer<unknown, { feed: PostFeed }> = {
  topic: 'blog.post.created',
  group: FEED_GROUP,
  live: true,
  handler: (event, _runtime, services) => services.feed.announce(event),
};

/**
 * Feeds `postCreated`: `blog.post.created` (recorded with the post, relayed after its commit) is
 * read once per event by the fleet, the post loaded once and published to every instance's
 * subscribers, who each get it only if their permissions still allow (the field's rule).
 */
export class PostFeed {
  readonly #runtime: ModuleRuntime;
  readonly #logger: Logger;

  constructor(runtime: ModuleRuntime) {
    this.#runtime = runtime;
    this.#logger = runtime.logger.child({ component: 'post-feed' });
  }

  /** New posts from now on, for one subscriber. */
  stream(): EventStream<PostSnapshot> {
    return this.#runtime.pubsub.subscribe<PostSnapshot>(POST_CREATED_TOPIC);
  }

  async announce(event: PlatformEvent): Promise<void> {
    const { postId } = event.payload;
    if (!isUuid(postId) || Date.now() - Date.parse(event.occurredAt) > STALE_AFTER_MS) return;
    const [post] = await postsByIds(this.#runtime.em(), [postId.toLowerCase()]);
    if (!post) return; // deleted before anyone could be told
    await this.#runtime.pubsub.publish(POST_CREATED_TOPIC, snapshotOf(post));
    this.#logger.debug({ postId, eventId: event.id }, 'postCreated published');
  }
}

function snapshotOf(post: Post): PostSnapshot {
  return {
    id: post.id,
    title: post.title,
    content: post.content,
    authorId: post.authorId,
    createdAt: post.createdAt.toISOString(),
    updatedAt: post.updatedAt.toISOString(),
  };
}

/** The post a snapshot describes, as the `Post` type's resolvers expect it. */
export function postOf(snapshot: PostSnapshot): Post {
  return Object.assign(new Post(), {
    ...snapshot,
    createdAt: new Date(snapshot.createdAt),
    updatedAt: new Date(snapshot.updatedAt),
  });
}
