import {
  afterCursor,
  NEWEST_FIRST,
  toConnection,
  type Connection,
  type PageRequest,
  type EntityManager,
  type ModuleCache,
} from '@platform/kernel';
import { Post } from './post.entity.js';

/** The post table's schema-qualified name, for the few statements the ORM cannot express. */
export function postTable(em: EntityManager): string {
  return em.getDriver().getTableName(em.getMetadata(Post), {});
}

/**
 * The posts of a list (all, or one author's), counted for its `totalCount`: from `runtime.cache`
 * for `ttlSec` seconds (0: counted every time), so paging through a list does not count the table
 * on every page. Every change that adds or removes posts calls `changed()` once it has committed,
 * which drops every cached count, on every instance: a count read after a change sees it.
 */
export class PostCounts {
  /** The tag of every cached count: one invalidation drops them all. */
  static readonly TAG = 'post-counts';
  readonly #cache: ModuleCache;
  readonly #ttlSec: number;

  constructor(cache: ModuleCache, ttlSec: number) {
    this.#cache = cache;
    this.#ttlSec = ttlSec;
  }

  count(em: EntityManager, authorId?: string): Promise<number> {
    const count = (): Promise<number> => em.count(Post, authorId ? { authorId } : {});
    if (this.#ttlSec === 0) return count();
    return this.#cache.getOrLoad(`post-count:${authorId ?? 'all'}`, count, {
      ttlSec: this.#ttlSec,
      tags: [PostCounts.TAG],
    });
  }

  /** After a committed change that added or removed posts: every list is counted afresh. */
  async changed(): Promise<void> {
    if (this.#ttlSec > 0) await this.#cache.invalidateTags([PostCounts.TAG]);
  }
}

/** Posts, newest first, optionally of one author; keyset cursors keep pages stable while posts are added. */
export async function listPosts(
  em: EntityManager,
  counts: PostCounts,
  page: PageRequest,
  authorId?: string,
): Promise<Connection<Post>> {
  const scope = authorId ? { authorId } : {};
  const [rows, totalCount] = await Promise.all([
    em.find(Post, { ...scope, ...afterCursor(page.cursor) }, { orderBy: NEWEST_FIRST, limit: page.size + 1 }),
    counts.count(em, authorId),
  ]);
  return toConnection(rows, page.size, totalCount);
}

/** Loads posts by id in one statement, in the order asked (null where missing). */
export async function postsByIds(em: EntityManager, ids: readonly string[]): Promise<Array<Post | null>> {
  const rows = await em.find(Post, { id: { $in: [...ids] } });
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}
