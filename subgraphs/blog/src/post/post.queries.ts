import {
  afterCursor,
  NEWEST_FIRST,
  toConnection,
  type Connection,
  type PageRequest,
  type EntityManager,
} from '@platform/kernel';
import { Post } from './post.entity.js';

/** The post table's schema-qualified name, for the few statements the ORM cannot express. */
export function postTable(em: EntityManager): string {
  return em.getDriver().getTableName(em.getMetadata(Post), {});
}

/** Posts, newest first, optionally of one author; keyset cursors keep pages stable while posts are added. */
export async function listPosts(em: EntityManager, page: PageRequest, authorId?: string): Promise<Connection<Post>> {
  const scope = authorId ? { authorId } : {};
  const [rows, totalCount] = await Promise.all([
    em.find(Post, { ...scope, ...afterCursor(page.cursor) }, { orderBy: NEWEST_FIRST, limit: page.size + 1 }),
    em.count(Post, scope),
  ]);
  return toConnection(rows, page.size, totalCount);
}

/** Loads posts by id in one statement, in the order asked (null where missing). */
export async function postsByIds(em: EntityManager, ids: readonly string[]): Promise<Array<Post | null>> {
  const rows = await em.find(Post, { id: { $in: [...ids] } });
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}
