import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { as, codeOf, countStatements, newCallers, startBlog, type BlogTestHandle } from './__tests__/start-blog.js';
import { Post } from './post/post.entity.js';

interface PostsPage {
  totalCount: number;
  edges: Array<{ node: { id: string; title: string } }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const POST_ENTITIES = `query ($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Post { id title author { id } } }
}`;
const USER_POSTS = `query ($representations: [_Any!]!, $first: Int, $after: String) {
  _entities(representations: $representations) {
    ... on User { id posts(first: $first, after: $after) { totalCount edges { node { id title } } pageInfo { hasNextPage endCursor } } }
  }
}`;
const POSTS_WITH_AUTHORS = `{ posts(first: 50) { totalCount edges { node { id title author { id } } } } }`;

const users = (ids: readonly string[]) => ids.map((id) => ({ __typename: 'User', id }));

/** Each author writes 10 posts, a minute apart, newest last. */
const POSTS_PER_AUTHOR = 10;

describe('blog through federation', () => {
  const callers = newCallers();
  const authors = Array.from({ length: 5 }, () => randomUUID());
  /** Each author's post ids, newest first. */
  const postsOf = new Map<string, string[]>();
  let handle: BlogTestHandle;

  beforeAll(async () => {
    handle = await startBlog(callers);
    const em = handle.runtime.em();
    authors.forEach((authorId, a) => {
      const posts = Array.from({ length: POSTS_PER_AUTHOR }, (_, i) =>
        em.create(Post, {
          title: `Post ${i} by author ${a}`,
          content: 'Text.',
          authorId,
          createdAt: new Date(Date.UTC(2026, 1, 1, a, i)),
        }),
      );
      postsOf.set(
        authorId,
        posts.reverse().map((post) => post.id),
      );
    });
    await em.flush();
  });

  afterAll(async () => {
    await handle?.stop();
  });

  const postsOfUser = async (userId: string, variables: Record<string, unknown>): Promise<PostsPage> => {
    const { body } = await handle.query<{ _entities: Array<{ posts: PostsPage }> }>(USER_POSTS, {
      representations: users([userId]),
      ...variables,
    });
    expect(body.errors).toBeUndefined();
    return body.data!._entities[0]!.posts;
  };

  describe('Post references', () => {
    it('resolve posts for anyone who may read them, null for unknown or malformed ids', async () => {
      const [first, second] = postsOf.get(authors[0]!)!;
      const { body } = await handle.query(POST_ENTITIES, {
        representations: [
          { __typename: 'Post', id: first },
          { __typename: 'Post', id: randomUUID() },
          { __typename: 'Post', id: 'nope' },
          { __typename: 'Post', id: second!.toUpperCase() },
        ],
      });
      expect(body.errors).toBeUndefined();
      expect(body.data).toEqual({
        _entities: [
          { id: first, title: 'Post 9 by author 0', author: { id: authors[0] } },
          null,
          null,
          { id: second, title: 'Post 8 by author 0', author: { id: authors[0] } },
        ],
      });
    });

    it('are FORBIDDEN without blog.post.read, naming it', async () => {
      const { body } = await handle.query(
        POST_ENTITIES,
        { representations: [{ __typename: 'Post', id: postsOf.get(authors[0]!)![0] }] },
        as(callers.nobody),
      );
      expect(codeOf(body.errors)).toBe('FORBIDDEN');
      expect(body.errors?.[0]?.message).toContain('blog.post.read');
    });
  });

  describe('User.posts', () => {
    it("gives each user's posts, newest first, and an empty page for a user without posts", async () => {
      const [a, b] = authors;
      const nobody = randomUUID();
      const { body } = await handle.query<{ _entities: Array<{ id: string; posts: PostsPage }> }>(USER_POSTS, {
        representations: users([a!, nobody, b!]),
        first: 3,
      });
      expect(body.errors).toBeUndefined();
      const pages = body.data!._entities;
      expect(pages.map((user) => user.id)).toEqual([a, nobody, b]);
      expect(pages.map((user) => user.posts.edges.map((edge) => edge.node.id))).toEqual([
        postsOf.get(a!)!.slice(0, 3),
        [],
        postsOf.get(b!)!.slice(0, 3),
      ]);
      expect(pages.map((user) => [user.posts.totalCount, user.posts.pageInfo.hasNextPage])).toEqual([
        [POSTS_PER_AUTHOR, true],
        [0, false],
        [POSTS_PER_AUTHOR, true],
      ]);
    });

    it("pages through one user's posts after a cursor without gaps or duplicates", async () => {
      const author = authors[2]!;
      const seen: string[] = [];
      let after: string | null = null;
      do {
        const { edges, pageInfo }: PostsPage = await postsOfUser(author, { first: 4, after });
        seen.push(...edges.map((edge) => edge.node.id));
        after = pageInfo.hasNextPage ? pageInfo.endCursor : null;
      } while (after);
      expect(seen).toEqual(postsOf.get(author));
    });

    it('is FORBIDDEN without blog.post.read, naming it, while the id stays public', async () => {
      const { body } = await handle.query(USER_POSTS, { representations: users([authors[0]!]) }, as(callers.nobody));
      expect(codeOf(body.errors)).toBe('FORBIDDEN');
      expect(body.errors?.[0]?.message).toContain('blog.post.read');
      const id = await handle.query(
        `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { id } } }`,
        { representations: users([authors[0]!, 'nope']) },
        as(callers.nobody),
      );
      expect(id.body).toEqual({ data: { _entities: [{ id: authors[0] }, null] } });
    });
  });

  describe('statements per request', () => {
    it('a page of 50 posts with their authors costs 2 (the page and its count), then 1 (the count cached)', async () => {
      const { result, statements } = await countStatements(handle, () => handle.query(POSTS_WITH_AUTHORS));
      expect(result.body.errors).toBeUndefined();
      expect((result.body.data as { posts: PostsPage }).posts.edges).toHaveLength(50);
      expect(statements).toBe(2);
      const again = await countStatements(handle, () => handle.query(POSTS_WITH_AUTHORS));
      expect(again.result.body).toEqual(result.body);
      expect(again.statements).toBe(1);
    });

    it('50 post references cost 1', async () => {
      const representations = [...postsOf.values()].flat().map((id) => ({ __typename: 'Post', id }));
      const { result, statements } = await countStatements(handle, () =>
        handle.query(POST_ENTITIES, { representations }),
      );
      expect(result.body.errors).toBeUndefined();
      expect(statements).toBe(1);
    });

    it.each([
      ['1 user', 1, undefined],
      ['5 users', 5, undefined],
      ['5 users after a cursor', 5, 'cursor'],
    ])('User.posts of %s costs 2 (the pages and their counts)', async (_case, howMany, withCursor) => {
      const cursor = Buffer.from(`2026-02-01T02:05:00.000Z|${randomUUID()}`).toString('base64url');
      const { result, statements } = await countStatements(handle, () =>
        handle.query(USER_POSTS, {
          representations: users(authors.slice(0, howMany)),
          first: 5,
          after: withCursor ? cursor : null,
        }),
      );
      expect(result.body.errors).toBeUndefined();
      expect(statements).toBe(2);
    });
  });
});
