import type { PostField } from './post/post.inputs.js';

/**
 * Every event blog publishes (topic → what the payload carries): ids and field names, never
 * content. Services record them with the kernel's `Emit<BlogEvents>`, which checks both.
 */
export interface BlogEvents {
  'blog.post.created': { postId: string; authorId: string };
  /** `changed`: the fields whose value changed. */
  'blog.post.updated': { postId: string; authorId: string; changed: PostField[] };
  /**
   * `reason`: `requested` through the API; `author_deleted` when identity deleted the author;
   * `expired` when the retention schedule deleted it (`modules.blog.retentionDays`).
   */
  'blog.post.deleted': { postId: string; authorId: string; reason: 'requested' | 'author_deleted' | 'expired' };
}
