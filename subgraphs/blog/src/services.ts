import { emitter, type ModuleRuntime } from '@platform/kernel';
import type { BlogEvents } from './events.js';
import { PostFeed } from './post/post.feed.js';
import { PostService } from './post/post.service.js';

/** Everything blog's consumers and resolvers use, built once the database is up. */
export interface BlogServices {
  posts: PostService;
  /** `postCreated`: new posts published to subscribers (fed by `postFeedConsumer`). */
  feed: PostFeed;
}

export function createBlogServices(runtime: ModuleRuntime): BlogServices {
  return {
    posts: new PostService({ emit: emitter<BlogEvents>(runtime.events) }),
    feed: new PostFeed(runtime),
  };
}
