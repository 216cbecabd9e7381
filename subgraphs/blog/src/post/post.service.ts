import { LockMode } from '@mikro-orm/core';
import { NotFoundError, type Emit, type EventMeta, type EntityManager } from '@platform/kernel';
import type { BlogEvents } from '../events.js';
import { Post } from './post.entity.js';
import { postTable, type PostCounts } from './post.queries.js';
import { validateNewPost, validatePostChanges, type PostField, type PostText } from './post.validation.js';

/**
 * Writing posts. Input is checked before anything is written, and every change records its
 * event in the same transaction, only when something changed: a retried call publishes nothing.
 * A change that adds or removes posts drops the cached list counts once it has committed.
 * Who may call what is the rules' business (see rules.ts), not this class's.
 */
export class PostService {
  readonly #emit: Emit<BlogEvents>;
  readonly #counts: PostCounts;

  constructor(deps: { emit: Emit<BlogEvents>; counts: PostCounts }) {
    this.#emit = deps.emit;
    this.#counts = deps.counts;
  }

  async create(em: EntityManager, authorId: string, input: PostText): Promise<Post> {
    const text = validateNewPost(input);
    const written = await em.transactional(async (tx) => {
      const now = new Date(); // one instant: a new post was last updated when it was created
      const created = tx.create(Post, { ...text, authorId, createdAt: now, updatedAt: now });
      await tx.flush();
      await this.#emit(tx, 'blog.post.created', { postId: created.id, authorId });
      return created;
    });
    await this.#counts.changed();
    return written;
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
    await em.transactional(async (tx) => {
      const found = await this.#lock(tx, id);
      tx.remove(found);
      await tx.flush();
      await this.#emit(tx, 'blog.post.deleted', { postId: found.id, authorId: found.authorId, reason: 'requested' });
    });
    await this.#counts.changed();
    return true;
  }

  /**
   * Deletes every post of an author identity deleted, recording `blog.post.deleted` for each;
   * `meta` names what caused it. Safe to repeat: a second call finds nothing to delete. `em` may
   * be in the caller's transaction (`handleOnce`): the caller calls {@link changed} once it commits.
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

  /** Drops the cached list counts: after a transaction that added or removed posts has committed. */
  changed(): Promise<void> {
    return this.#counts.changed();
  }

  /**
   * Deletes the posts created before `cutoff` (data retention), oldest first, `batchSize` per
   * transaction, each with its `blog.post.deleted` event (reason `expired`) in that transaction,
   * so audit and every consumer see each one. Stops before the next batch once `signal` is
   * aborted (the job timed out or the instance is stopping): the next run goes on from there.
   *
   * @returns how many posts were deleted.
   */
  async deleteCreatedBefore(
    em: EntityManager,
    cutoff: Date,
    options: { batchSize?: number; signal?: AbortSignal } = {},
  ): Promise<number> {
    const batchSize = options.batchSize ?? 500;
    let deleted = 0;
    while (!options.signal?.aborted) {
      const removed = await em.fork().transactional(async (tx) => {
        // Rows another transaction holds (an edit, a delete) are skipped: the next batch or run takes them.
        const rows = await tx.execute<Array<{ id: string; author_id: string }>>(
          `delete from ${postTable(tx)} where id in (select id from ${postTable(tx)} where created_at < ?` +
            ` order by created_at, id limit ? for update skip locked) returning id, author_id`,
          [cutoff, batchSize],
        );
        for (const row of rows) {
          await this.#emit(tx, 'blog.post.deleted', { postId: row.id, authorId: row.author_id, reason: 'expired' });
        }
        return rows.length;
      });
      if (removed > 0) await this.#counts.changed();
      deleted += removed;
      if (removed < batchSize) break;
    }
    return deleted;
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
