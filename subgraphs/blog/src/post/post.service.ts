import { LockMode } from '@mikro-orm/core';
import { NotFoundError, type Emit, type EventMeta, type EntityManager } from '@platform/kernel';
import type { BlogEvents } from '../events.js';
import { Post } from './post.entity.js';
import { postTable } from './post.queries.js';
import { validateNewPost, validatePostChanges, type PostField, type PostText } from './post.validation.js';

/**
 * Writing posts. Input is checked before anything is written, and every change records its
 * event in the same transaction, only when something changed: a retried call publishes nothing.
 * Who may call what is the rules' business (see rules.ts), not this class's.
 */
export class PostService {
  readonly #emit: Emit<BlogEvents>;

  constructor(deps: { emit: Emit<BlogEvents> }) {
    this.#emit = deps.emit;
  }

  async create(em: EntityManager, authorId: string, input: PostText): Promise<Post> {
    const text = validateNewPost(input);
    return em.transactional(async (tx) => {
      const now = new Date(); // one instant: a new post was last updated when it was created
      const created = tx.create(Post, { ...text, authorId, createdAt: now, updatedAt: now });
      await tx.flush();
      await this.#emit(tx, 'blog.post.created', { postId: created.id, authorId });
      return created;
    });
  }

  /** Changes the title, the content or both; `updatedAt` moves only when one of them did. */
  async update(
    em: EntityManager,
    id: string,
    input: { title?: string | null; content?: string | null },
  ): Promise<Post> {
    const changes = validatePostChanges(input);
    return em.transactional(async (tx) => {
      const found = await this.#lock(tx, id);
      const changed = (Object.keys(changes) as PostField[]).filter((field) => changes[field] !== found[field]);
      if (changed.length === 0) return found;
      for (const field of changed) found[field] = changes[field]!;
      await tx.flush();
      await this.#emit(tx, 'blog.post.updated', { postId: found.id, authorId: found.authorId, changed });
      return found;
    });
  }

  async delete(em: EntityManager, id: string): Promise<boolean> {
    return em.transactional(async (tx) => {
      const found = await this.#lock(tx, id);
      tx.remove(found);
      await tx.flush();
      await this.#emit(tx, 'blog.post.deleted', { postId: found.id, authorId: found.authorId, reason: 'requested' });
      return true;
    });
  }

  /**
   * Deletes every post of an author identity deleted, recording `blog.post.deleted` for each;
   * `meta` names what caused it. Safe to repeat: a second call finds nothing to delete.
   *
   * @returns how many posts were deleted.
   */
  async deleteByAuthor(em: EntityManager, authorId: string, meta?: Partial<EventMeta>): Promise<number> {
    return em.transactional(async (tx) => {
      // One statement that says what it deleted (MikroORM's delete cannot return rows): a post
      // written meanwhile is either deleted with its event or left alone, never deleted silently.
      const removed = await tx.execute<Array<{ id: string }>>(
        `delete from ${postTable(tx)} where author_id = ? returning id`,
        [authorId],
      );
      for (const { id } of removed) {
        await this.#emit(tx, 'blog.post.deleted', { postId: id, authorId, reason: 'author_deleted' }, meta);
      }
      return removed.length;
    });
  }

  /**
   * The post, read afresh and locked until the transaction ends: a concurrent change waits
   * instead of being overwritten, and a post deleted since the rules saw it is NOT_FOUND.
   */
  async #lock(tx: EntityManager, id: string): Promise<Post> {
    const found = await tx.findOne(Post, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
    if (!found) throw new NotFoundError('Post', id);
    return found;
  }
}
