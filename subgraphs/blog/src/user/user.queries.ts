import { toConnection, type Connection, type EntityManager, type PageRequest } from '@platform/kernel';
import { Post } from '../post/post.entity.js';
import { postTable } from '../post/post.queries.js';

/**
 * The same page of several authors' posts, in two statements however many authors there are
 * (`User.posts` batched over a request). Each author's page is a lateral subquery that reads
 * at most `size + 1` rows from the (author, created_at, id) index, so an author with thousands
 * of posts costs no more than one with a few; the ORM's `find` cannot express the lateral join,
 * hence SQL, with the table named by the ORM and rows mapped back to entities.
 */
export async function pagesByAuthor(
  em: EntityManager,
  authorIds: readonly string[],
  page: PageRequest,
): Promise<Array<Connection<Post>>> {
  const table = postTable(em);
  const keyset = page.cursor ? 'and (post.created_at, post.id) < (?::timestamptz, ?::uuid)' : '';
  const [rows, counts] = await Promise.all([
    em.execute(
      `select page.* from unnest(array[?]::uuid[]) as author (id)
        cross join lateral (
          select * from ${table} post where post.author_id = author.id ${keyset}
          order by post.created_at desc, post.id desc limit ?
        ) page
        order by page.author_id, page.created_at desc, page.id desc`,
      [authorIds, ...(page.cursor ? [page.cursor.createdAt, page.cursor.id] : []), page.size + 1],
    ),
    em.execute<Array<{ author_id: string; total: number }>>(
      `select author_id, count(*)::int as total from ${table} where author_id in (?) group by author_id`,
      [authorIds],
    ),
  ]);
  const posts = new Map<string, Post[]>();
  for (const row of rows) {
    const post = em.map(Post, row);
    const list = posts.get(post.authorId);
    if (list) list.push(post);
    else posts.set(post.authorId, [post]);
  }
  const totals = new Map(counts.map((count) => [count.author_id, count.total]));
  return authorIds.map((id) => toConnection(posts.get(id) ?? [], page.size, totals.get(id) ?? 0));
}
