import type { ModuleRuntime } from '@platform/kernel';
import type { Emit } from './events.js';
import { IdentityEventConsumer } from './post/identity-events.js';
import { PostFeed } from './post/post.feed.js';
import { PostService } from './post/post.service.js';

/** Everything blog's hooks and resolvers use, built once the database is up. */
export interface BlogServices {
  posts: PostService;
  /** identity's `identity.user.deleted`; consumed from `onStart` on. */
  identityEvents: IdentityEventConsumer;
  /** `postCreated`: new posts published to subscribers; fed from `onStart` on. */
  feed: PostFeed;
  close(): Promise<void>;
}

export function createBlogServices(runtime: ModuleRuntime): BlogServices {
  const emit: Emit = (em, topic, payload, meta) => runtime.events.record(em, topic, payload, meta);
  const posts = new PostService({ emit });
  const identityEvents = new IdentityEventConsumer({ runtime, posts });
  const feed = new PostFeed(runtime);
  return {
    posts,
    identityEvents,
    feed,
    // Called by the kernel before the database closes, so no handler outlives it.
    close: async () => {
      await Promise.all([identityEvents.stop(), feed.stop()]);
    },
  };
}
