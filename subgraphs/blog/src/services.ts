import { emitter, type ModuleRuntime } from '@platform/kernel';
import type { BlogConfig } from './config.js';
import type { BlogEvents } from './events.js';
import { PostFeed } from './post/post.feed.js'; // reference-only: postCreated
import { PostCounts } from './post/post.queries.js';
import { PostService } from './post/post.service.js';

/** Everything blog's consumers and resolvers use, built once the database is up. */
export interface BlogServices {
  posts: PostService;
  /** The lists' `totalCount`, cached (`countCacheTtlSec`); `posts` drops them on every change. */
  counts: PostCounts;
  // reference-only:start (postCreated)
  /** `postCreated`: new posts published to subscribers (fed by `postFeedConsumer`). */
  feed: PostFeed;
  // reference-only:end
}

export function createBlogServices(runtime: ModuleRuntime<BlogConfig>): BlogServices {
  const counts = new PostCounts(runtime.cache, runtime.config.countCacheTtlSec);
  return {
    posts: new PostService({ emit: emitter<BlogEvents>(runtime.events), counts }),
    counts,
    feed: new PostFeed(runtime), // reference-only: postCreated
  };
}
