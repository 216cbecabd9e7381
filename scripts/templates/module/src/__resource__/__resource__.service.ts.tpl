import { LockMode } from '@mikro-orm/core';
import { NotFoundError, type Emit, type EventMeta, type EntityManager } from '@platform/kernel';
import type { __Name__Events } from '../events.js';
import { __Resource__ } from './__resource__.entity.js';
import { __resource__Table, type __Resource__Counts } from './__resource__.queries.js';
import {
  validateNew__Resource__,
  validate__Resource__Changes,
  type __Resource__Field,
  type __Resource__Text,
} from './__resource__.validation.js';

/**
 * Writing __resources__. Input is checked before anything is written, and every change records its
 * event in the same transaction, only when something changed: a retried call publishes nothing.
 * A change that adds or removes __resources__ drops the cached list counts once it has committed.
 * Who may call what is the rules' business (see rules.ts), not this class's.
 */
export class __Resource__Service {
  readonly #emit: Emit<__Name__Events>;
  readonly #counts: __Resource__Counts;

  constructor(deps: { emit: Emit<__Name__Events>; counts: __Resource__Counts }) {
    this.#emit = deps.emit;
    this.#counts = deps.counts;
  }

  async create(em: EntityManager, authorId: string, input: __Resource__Text): Promise<__Resource__> {
    const text = validateNew__Resource__(input);
    const written = await em.transactional(async (tx) => {
      const now = new Date(); // one instant: a new __resource__ was last updated when it was created
      const created = tx.create(__Resource__, { ...text, authorId, createdAt: now, updatedAt: now });
      await tx.flush();
      await this.#emit(tx, '__name__.__resource__.created', { __resource__Id: created.id, authorId });
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
  ): Promise<__Resource__> {
    const changes = validate__Resource__Changes(input);
    return em.transactional(async (tx) => {
      const found = await this.#lock(tx, id);
      const changed = (Object.keys(changes) as __Resource__Field[]).filter((field) => changes[field] !== found[field]);
      if (changed.length === 0) return found;
      for (const field of changed) found[field] = changes[field]!;
      await tx.flush();
      await this.#emit(tx, '__name__.__resource__.updated', {
        __resource__Id: found.id,
        authorId: found.authorId,
        changed,
      });
      return found;
    });
  }

  async delete(em: EntityManager, id: string): Promise<boolean> {
    await em.transactional(async (tx) => {
      const found = await this.#lock(tx, id);
      tx.remove(found);
      await tx.flush();
      await this.#emit(tx, '__name__.__resource__.deleted', {
        __resource__Id: found.id,
        authorId: found.authorId,
        reason: 'requested',
      });
    });
    await this.#counts.changed();
    return true;
  }

  /**
   * Deletes every __resource__ of an author identity deleted, recording `__name__.__resource__.deleted` for each;
   * `meta` names what caused it. Safe to repeat: a second call finds nothing to delete. `em` may
   * be in the caller's transaction (`handleOnce`): the caller calls {@link changed} once it commits.
   *
   * @returns how many __resources__ were deleted.
   */
  async deleteByAuthor(em: EntityManager, authorId: string, meta?: Partial<EventMeta>): Promise<number> {
    return em.transactional(async (tx) => {
      // One statement that says what it deleted (MikroORM's delete cannot return rows): a __resource__
      // written meanwhile is either deleted with its event or left alone, never deleted silently.
      const removed = await tx.execute<Array<{ id: string }>>(
        `delete from ${__resource__Table(tx)} where author_id = ? returning id`,
        [authorId],
      );
      for (const { id } of removed) {
        await this.#emit(
          tx,
          '__name__.__resource__.deleted',
          { __resource__Id: id, authorId, reason: 'author_deleted' },
          meta,
        );
      }
      return removed.length;
    });
  }

  /** Drops the cached list counts: after a transaction that added or removed __resources__ has committed. */
  changed(): Promise<void> {
    return this.#counts.changed();
  }

  /**
   * Deletes the __resources__ created before `cutoff` (data retention), oldest first, `batchSize` per
   * transaction, each with its `__name__.__resource__.deleted` event (reason `expired`) in that transaction,
   * so audit and every consumer see each one. Stops before the next batch once `signal` is
   * aborted (the job timed out or the instance is stopping): the next run goes on from there.
   *
   * @returns how many __resources__ were deleted.
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
          `delete from ${__resource__Table(tx)} where id in (select id from ${__resource__Table(tx)} where created_at < ?` +
            ` order by created_at, id limit ? for update skip locked) returning id, author_id`,
          [cutoff, batchSize],
        );
        for (const row of rows) {
          await this.#emit(tx, '__name__.__resource__.deleted', {
            __resource__Id: row.id,
            authorId: row.author_id,
            reason: 'expired',
          });
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
   * The __resource__, read afresh and locked until the transaction ends: a concurrent change waits
   * instead of being overwritten, and a __resource__ deleted since the rules saw it is NOT_FOUND.
   */
  async #lock(tx: EntityManager, id: string): Promise<__Resource__> {
    const found = await tx.findOne(__Resource__, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
    if (!found) throw new NotFoundError('__Resource__', id);
    return found;
  }
}
