import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import {
  as,
  codeOf,
  createPost,
  fieldsOf,
  newCallers,
  outbox,
  POST,
  startBlog,
  writtenState,
  type BlogTestHandle,
  type PostView,
} from '../__tests__/start-blog.js';
import { Post } from './post.entity.js';

const UPDATE = `mutation ($id: ID!, $input: UpdatePostInput!) {
  updatePost(id: $id, input: $input) { id title content createdAt updatedAt author { id } }
}`;
const DELETE = `mutation ($id: ID!) { deletePost(id: $id) }`;

/** Changing and deleting posts: who may, and what it records. */
describe('post changes', () => {
  const callers = newCallers();
  const { author, other, moderator, nobody, admin } = callers;
  let handle: BlogTestHandle;

  beforeAll(async () => {
    handle = await startBlog(callers);
  });

  afterAll(async () => {
    await handle?.stop();
  });

  const created = (): Promise<PostView> => createPost(handle, author);
  const stored = (id: string): Promise<Post | null> => handle.runtime.em().findOne(Post, { id });
  const snapshot = () => writtenState(handle);

  describe('updating posts', () => {
    it('lets the author change the title, moving updatedAt and recording which fields changed', async () => {
      const post = await created();
      const { body } = await handle.query<{ updatePost: PostView }>(
        UPDATE,
        { id: post.id, input: { title: ' Renamed ', content: post.content } },
        as(author),
      );
      expect(body.errors).toBeUndefined();
      const updated = body.data!.updatePost;
      expect(updated).toMatchObject({
        id: post.id,
        title: 'Renamed',
        content: post.content,
        createdAt: post.createdAt,
      });
      expect(Date.parse(updated.updatedAt)).toBeGreaterThan(Date.parse(post.updatedAt));
      expect((await outbox(handle, post.id)).map(({ topic, payload }) => ({ topic, payload }))).toEqual([
        { topic: 'blog.post.created', payload: { postId: post.id, authorId: author } },
        { topic: 'blog.post.updated', payload: { postId: post.id, authorId: author, changed: ['title'] } },
      ]);
    });

    it('records nothing when nothing changes', async () => {
      const post = await created();
      const { body } = await handle.query<{ updatePost: PostView }>(
        UPDATE,
        { id: post.id, input: { title: post.title } },
        as(author),
      );
      expect(body.data!.updatePost).toEqual(post);
      expect((await outbox(handle, post.id)).map((row) => row.topic)).toEqual(['blog.post.created']);
    });

    it.each([
      ['no change at all', {}, ['input']],
      ['only nulls', { title: null, content: null }, ['input']],
      ['a blank title', { title: '  ' }, ['title']],
      ['a blank content and a long title', { title: 'x'.repeat(201), content: '' }, ['title', 'content']],
    ])('refuses %s as BAD_USER_INPUT naming the field, and writes nothing', async (_case, input, fields) => {
      const post = await created();
      const before = await snapshot();
      const { body } = await handle.query(UPDATE, { id: post.id, input }, as(author));
      expect(codeOf(body.errors)).toBe('BAD_USER_INPUT');
      expect(fieldsOf(body.errors)).toEqual(fields);
      expect(await snapshot()).toEqual(before);
      expect((await stored(post.id))!.title).toBe(post.title);
    });

    it('is FORBIDDEN for another user, naming blog.post.update, and changes nothing', async () => {
      const post = await created();
      const { body } = await handle.query(UPDATE, { id: post.id, input: { title: 'Mine now' } }, as(other));
      expect(codeOf(body.errors)).toBe('FORBIDDEN');
      expect(body.errors?.[0]?.message).toContain('blog.post.update');
      expect(body.errors?.[0]?.extensions?.permission).toBe('blog.post.moderate');
      expect((await stored(post.id))!.title).toBe(post.title);
    });

    it("judges each aliased update on its own post: one's own passes, another's is FORBIDDEN", async () => {
      const mine = await createPost(handle, other);
      const theirs = await created();
      const { body } = await handle.query(
        `mutation ($mine: ID!, $theirs: ID!) {
          a: updatePost(id: $mine, input: { title: "Mine, edited" }) { id }
          b: updatePost(id: $theirs, input: { title: "Theirs, hijacked" }) { id }
        }`,
        { mine: mine.id, theirs: theirs.id },
        as(other),
      );
      // `updatePost` is non-null, so the refused alias nulls the whole answer; `a` ran first.
      expect(body.errors).toHaveLength(1);
      expect(body.errors?.[0]).toMatchObject({ path: ['b'], extensions: { code: 'FORBIDDEN' } });
      expect((await stored(mine.id))!.title).toBe('Mine, edited');
      expect((await stored(theirs.id))!.title).toBe(theirs.title);
    });

    it.each([
      ['a guest', {}],
      ['a user without blog.post.update', as(nobody)],
    ])('is FORBIDDEN for %s, naming blog.post.update', async (_case, headers) => {
      const post = await created();
      const { body } = await handle.query(UPDATE, { id: post.id, input: { title: 'Mine now' } }, headers);
      expect(codeOf(body.errors)).toBe('FORBIDDEN');
      expect(body.errors?.[0]?.extensions?.permission).toBe('blog.post.update');
      expect((await stored(post.id))!.title).toBe(post.title);
    });

    it("lets a moderator change anyone's post, recording the moderator as the actor", async () => {
      const post = await created();
      const { body } = await handle.query<{ updatePost: PostView }>(
        UPDATE,
        { id: post.id, input: { content: 'Moderated.' } },
        as(moderator),
      );
      expect(body.data!.updatePost).toMatchObject({ content: 'Moderated.', author: { id: author } });
      expect((await outbox(handle, post.id)).at(-1)).toEqual({
        topic: 'blog.post.updated',
        payload: { postId: post.id, authorId: author, changed: ['content'] },
        meta: expect.objectContaining({ actorId: moderator }),
      });
    });
  });

  describe('deleting posts', () => {
    it('lets the author delete their post, recording blog.post.deleted; a second time is NOT_FOUND', async () => {
      const post = await created();
      expect((await handle.query(DELETE, { id: post.id }, as(author))).body).toEqual({ data: { deletePost: true } });
      expect(await stored(post.id)).toBeNull();
      expect((await handle.query(POST, { id: post.id })).body).toEqual({ data: { post: null } });
      expect((await outbox(handle, post.id)).at(-1)).toEqual({
        topic: 'blog.post.deleted',
        payload: { postId: post.id, authorId: author, reason: 'requested' },
        meta: expect.objectContaining({ actorId: author }),
      });
      expect(codeOf((await handle.query(DELETE, { id: post.id }, as(author))).body.errors)).toBe('NOT_FOUND');
    });

    it('is FORBIDDEN for another user, naming blog.post.delete, and keeps the post', async () => {
      const post = await created();
      const { body } = await handle.query(DELETE, { id: post.id }, as(other));
      expect(codeOf(body.errors)).toBe('FORBIDDEN');
      expect(body.errors?.[0]?.message).toContain('blog.post.delete');
      expect(await stored(post.id)).not.toBeNull();
    });

    it.each([
      ['a guest', {}],
      ['a user without blog.post.delete', as(nobody)],
    ])('is FORBIDDEN for %s, naming blog.post.delete', async (_case, headers) => {
      const post = await created();
      const { body } = await handle.query(DELETE, { id: post.id }, headers);
      expect(codeOf(body.errors)).toBe('FORBIDDEN');
      expect(body.errors?.[0]?.extensions?.permission).toBe('blog.post.delete');
      expect(await stored(post.id)).not.toBeNull();
    });

    it.each([
      ['a moderator', moderator],
      ['an administrator, who holds every permission', admin],
    ])("lets %s delete anyone's post", async (_case, caller) => {
      const post = await created();
      expect((await handle.query(DELETE, { id: post.id }, as(caller))).body).toEqual({ data: { deletePost: true } });
      expect(await stored(post.id)).toBeNull();
    });
  });

  describe('a post that does not exist', () => {
    it.each([
      ['its would-be author', author],
      ['a moderator', moderator],
    ])('is NOT_FOUND for %s, who could change it', async (_case, caller) => {
      const id = randomUUID();
      expect(codeOf((await handle.query(UPDATE, { id, input: { title: 'T' } }, as(caller))).body.errors)).toBe(
        'NOT_FOUND',
      );
      expect(codeOf((await handle.query(DELETE, { id }, as(caller))).body.errors)).toBe('NOT_FOUND');
    });

    it('is FORBIDDEN for a guest, as an existing post would be', async () => {
      const { body } = await handle.query(DELETE, { id: randomUUID() });
      expect(codeOf(body.errors)).toBe('FORBIDDEN');
    });

    it('is BAD_USER_INPUT for a malformed id', async () => {
      const { body } = await handle.query(DELETE, { id: 'nope' }, as(author));
      expect(codeOf(body.errors)).toBe('BAD_USER_INPUT');
      expect(fieldsOf(body.errors)).toEqual(['id']);
    });
  });
});
