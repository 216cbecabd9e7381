import type { EntityManager, EventMeta } from '@platform/kernel';
import type { PostField } from './post/post.validation.js';

/** Every event blog publishes (topic → what the payload carries): ids and field names, never content. */
export interface BlogEvents {
  'blog.post.created': { postId: string; authorId: string };
  /** `changed`: the fields whose value changed. */
  'blog.post.updated': { postId: string; authorId: string; changed: PostField[] };
  /** `reason`: `requested` through `deletePost`; `author_deleted` when identity deleted the author. */
  'blog.post.deleted': { postId: string; authorId: string; reason: 'requested' | 'author_deleted' };
}

export type BlogTopic = keyof BlogEvents;

/**
 * Records an event in the outbox within the caller's transaction; relayed once it commits.
 * During a request the kernel fills `meta` (request id, actor, client) itself.
 */
export type Emit = <T extends BlogTopic>(
  em: EntityManager,
  topic: T,
  payload: BlogEvents[T],
  meta?: Partial<EventMeta>,
) => Promise<void>;
