import { emitter, type ModuleRuntime } from '@platform/kernel';
import type { BlogEvents } from './events.js';
import { PostFeed } from './post/post.feed.js'; // reference-only: postCreated
import { PostService } from './post/post.service.js';

/** Everything blog's consumers and resolvers use, built once the database is up. */
export interface BlogServices {
  posts: PostService;
  // reference-only:start (postCreated)
  /** `postCreated`: new posts published to subscribers (fed by `postFeedConsumer`). */
  feed: PostFeed;
  // reference-only:end
}

export function createBlogServices(runtime: ModuleRuntime): BlogServices {
  return {
    posts: new PostService({ emit: emitter<BlogEvents>(runtime.events) }),
    feed: new PostFeed(runtime), // reference-only: postCreated
  };
}
