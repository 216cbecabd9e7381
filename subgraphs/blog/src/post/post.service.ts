import type { EntityManager } from '@mikro-orm/core';
import { afterCursor, decodeCursor, NEWEST_FIRST, pageSize, toConnection, type Connection } from '@platform/kernel';
import { Post } from './post.entity.js';

export interface ListPostsArgs {
  first?: number | null;
  after?: string | null;
  authorId?: string | null;
}

/** Reads posts; newest first with keyset cursors so pages stay stable while posts are added. */
export async function listPosts(em: EntityManager, args: ListPostsArgs): Promise<Connection<Post>> {
  const size = pageSize(args.first);
  const cursor = args.after ? decodeCursor(args.after) : undefined;
  const scope = args.authorId ? { authorId: args.authorId } : {};
  const [rows, totalCount] = await Promise.all([
    em.find(Post, { ...scope, ...afterCursor(cursor) }, { orderBy: NEWEST_FIRST, limit: size + 1 }),
    em.count(Post, scope),
  ]);
  return toConnection(rows, size, totalCount);
}

/** Loads posts by id in one statement, in the order asked (null where missing). */
export async function postsByIds(em: EntityManager, ids: readonly string[]): Promise<Array<Post | null>> {
  const rows = await em.find(Post, { id: { $in: [...ids] } });
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}
