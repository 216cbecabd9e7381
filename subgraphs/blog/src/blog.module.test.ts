import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import {
  as,
  codeOf,
  CREATE,
  createPost,
  fieldsOf,
  newCallers,
  outbox,
  POST,
  startBlog,
  writtenState,
  type BlogTestHandle,
  type PostView,
} from './__tests__/start-blog.js';
import { Post } from './post/post.entity.js';

const POSTS = `query ($first: Int, $after: String, $authorId: ID) {
  posts(first: $first, after: $after, authorId: $authorId) {
    totalCount
    edges { node { id } cursor }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface PostsPage {
  totalCount: number;
  edges: Array<{ node: { id: string }; cursor: string }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

describe('blog module', () => {
  const callers = newCallers();
  const { author, nobody } = callers;
  let handle: BlogTestHandle;

  beforeAll(async () => {
    handle = await startBlog(callers);
  });

  afterAll(async () => {
    await handle?.stop();
  });

  const postsPage = async (variables: Record<string, unknown>): Promise<PostsPage> => {
    const { body } = await handle.query<{ posts: PostsPage }>(POSTS, variables);
    expect(body.errors).toBeUndefined();
    return body.data!.posts;
  };
  const snapshot = () => writtenState(handle);

  describe('creating posts', () => {
    it('publishes a post by the caller, with the title trimmed, and records blog.post.created', async () => {
      const { body } = await handle.query<{ createPost: PostView }>(
        CREATE,
        { input: { title: '  Hello, blog  ', content: 'First post.\n' } },
        { ...as(author), 'x-request-id': 'req-create' },
      );
      expect(body.errors).toBeUndefined();
      const post = body.data!.createPost;
      expect(post).toEqual({
        id: expect.any(String),
        title: 'Hello, blog',
        content: 'First post.\n',
        createdAt: expect.any(String),
        updatedAt: post.createdAt,
        author: { id: author },
      });
      expect(await outbox(handle, post.id)).toEqual([
        {
          topic: 'blog.post.created',
          payload: { postId: post.id, authorId: author },
          meta: expect.objectContaining({ actorId: author, requestId: 'req-create' }),
        },
      ]);
    });

    it('counts characters as PostgreSQL does, up to the limits', async () => {
      const title = '😀'.repeat(200); // 400 UTF-16 units, 200 characters
      const content = 'x'.repeat(100_000);
      const { body } = await handle.query<{ createPost: PostView }>(CREATE, { input: { title, content } }, as(author));
      expect(body.errors).toBeUndefined();
      expect(body.data!.createPost).toMatchObject({ title, content });
    });

    it.each([
      ['a blank title', { title: ' \t ', content: 'Text.' }, ['title']],
      ['a title of 201 characters', { title: 'x'.repeat(201), content: 'Text.' }, ['title']],
      ['a title on two lines', { title: 'One\nTwo', content: 'Text.' }, ['title']],
      ['a title with an unpaired surrogate', { title: 'Broken \ud800', content: 'Text.' }, ['title']],
      ['a blank content', { title: 'Title', content: ' \n ' }, ['content']],
      ['a content of 100,001 characters', { title: 'Title', content: 'x'.repeat(100_001) }, ['content']],
      ['a NUL character in the content', { title: 'Title', content: 'a\u0000b' }, ['content']],
      ['a blank title and content', { title: '', content: '' }, ['title', 'content']],
    ])('refuses %s as BAD_USER_INPUT naming the field, and writes nothing', async (_case, input, fields) => {
      const before = await snapshot();
      const { body } = await handle.query(CREATE, { input }, as(author));
      expect(codeOf(body.errors)).toBe('BAD_USER_INPUT');
      expect(fieldsOf(body.errors)).toEqual(fields);
      expect(body.data ?? null).toBeNull();
      expect(await snapshot()).toEqual(before);
    });

    it.each([
      ['a guest', {}],
      ['a user without blog.post.create', as(nobody)],
    ])('is FORBIDDEN for %s, naming blog.post.create, and writes nothing', async (_case, headers) => {
      const before = await snapshot();
      const { body } = await handle.query(CREATE, { input: { title: 'Title', content: 'Text.' } }, headers);
      expect(codeOf(body.errors)).toBe('FORBIDDEN');
      expect(body.errors?.[0]?.message).toContain('blog.post.create');
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('reading posts', () => {
    it('lets guests read a post with its author', async () => {
      const post = await createPost(handle, author);
      const { body } = await handle.query<{ post: PostView }>(POST, { id: post.id });
      expect(body).toEqual({ data: { post } });
    });

    it('answers null for an unknown post and BAD_USER_INPUT for a malformed id', async () => {
      expect((await handle.query(POST, { id: randomUUID() })).body).toEqual({ data: { post: null } });
      const { body } = await handle.query(POST, { id: 'post-1' });
      expect(codeOf(body.errors)).toBe('BAD_USER_INPUT');
      expect(fieldsOf(body.errors)).toEqual(['id']);
    });

    it('is FORBIDDEN without blog.post.read, naming it', async () => {
      for (const query of [POST, POSTS]) {
        const { body } = await handle.query(query, { id: randomUUID() }, as(nobody));
        expect(codeOf(body.errors)).toBe('FORBIDDEN');
        expect(body.errors?.[0]?.message).toContain('blog.post.read');
      }
    });

    it('walks 45 posts in pages of 20, newest first, without gaps or duplicates', async () => {
      const writer = randomUUID();
      const em = handle.runtime.em();
      // Three posts per instant: ties on createdAt are ordered by id, and cursors must respect that.
      const posts = Array.from({ length: 45 }, (_, i) =>
        em.create(Post, {
          title: `Post ${i}`,
          content: 'Text.',
          authorId: writer,
          createdAt: new Date(Date.UTC(2026, 0, 1, 0, Math.floor(i / 3))),
        }),
      );
      await em.flush();
      const expected = posts
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
        .map((post) => post.id);

      const seen: string[] = [];
      const pages: Array<[number, boolean]> = [];
      let after: string | null = null;
      do {
        const { totalCount, edges, pageInfo }: PostsPage = await postsPage({ first: 20, after, authorId: writer });
        expect(totalCount).toBe(45);
        seen.push(...edges.map((edge) => edge.node.id));
        pages.push([edges.length, pageInfo.hasNextPage]);
        after = pageInfo.hasNextPage ? pageInfo.endCursor : null;
      } while (after);
      expect(pages).toEqual([
        [20, true],
        [20, true],
        [5, false],
      ]);
      expect(seen).toEqual(expected);
    });

    it.each([
      ['a malformed cursor', { after: '%%%' }, 'after'],
      [
        'a cursor with a forged id',
        { after: Buffer.from('2026-01-01T00:00:00.000Z|1 or 1=1').toString('base64url') },
        'after',
      ],
      [
        'a cursor with a forged date',
        { after: Buffer.from(`+010000-01-01T00:00:00.000Z|${randomUUID()}`).toString('base64url') },
        'after',
      ],
      ['first = 0', { first: 0 }, 'first'],
      ['first > 100', { first: 101 }, 'first'],
      ['a malformed authorId', { authorId: 'alice' }, 'authorId'],
    ])('refuses %s as BAD_USER_INPUT naming the argument', async (_case, variables, field) => {
      const { body } = await handle.query(POSTS, variables);
      expect(codeOf(body.errors)).toBe('BAD_USER_INPUT');
      expect(fieldsOf(body.errors)).toEqual([field]);
    });
  });
});
