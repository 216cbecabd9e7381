import {
  afterCursor,
  NEWEST_FIRST,
  toConnection,
  type Connection,
  type PageRequest,
  type EntityManager,
  type ModuleCache,
} from '@platform/kernel';
import { __Resource__ } from './__resource__.entity.js';

/** The __resource__ table's schema-qualified name, for the few statements the ORM cannot express. */
export function __resource__Table(em: EntityManager): string {
  return em.getDriver().getTableName(em.getMetadata(__Resource__), {});
}

/**
 * The __resources__ of a list (all, or one author's), counted for its `totalCount`: from `runtime.cache`
 * for `ttlSec` seconds (0: counted every time), so paging through a list does not count the table
 * on every page. Every change that adds or removes __resources__ calls `changed()` once it has committed,
 * which drops every cached count, on every instance: a count read after a change sees it.
 */
export class __Resource__Counts {
  /** The tag of every cached count: one invalidation drops them all. */
  static readonly TAG = '__resource__-counts';
  readonly #cache: ModuleCache;
  readonly #ttlSec: number;

  constructor(cache: ModuleCache, ttlSec: number) {
    this.#cache = cache;
    this.#ttlSec = ttlSec;
  }

  count(em: EntityManager, authorId?: string): Promise<number> {
    const count = (): Promise<number> => em.count(__Resource__, authorId ? { authorId } : {});
    if (this.#ttlSec === 0) return count();
    return this.#cache.getOrLoad(`__resource__-count:${authorId ?? 'all'}`, count, {
      ttlSec: this.#ttlSec,
      tags: [__Resource__Counts.TAG],
    });
  }

  /** After a committed change that added or removed __resources__: every list is counted afresh. */
  async changed(): Promise<void> {
    if (this.#ttlSec > 0) await this.#cache.invalidateTags([__Resource__Counts.TAG]);
  }
}

/** __Resources__, newest first, optionally of one author; keyset cursors keep pages stable while __resources__ are added. */
export async function list__Resources__(
  em: EntityManager,
  counts: __Resource__Counts,
  page: PageRequest,
  authorId?: string,
): Promise<Connection<__Resource__>> {
  const scope = authorId ? { authorId } : {};
  const [rows, totalCount] = await Promise.all([
    em.find(__Resource__, { ...scope, ...afterCursor(page.cursor) }, { orderBy: NEWEST_FIRST, limit: page.size + 1 }),
    counts.count(em, authorId),
  ]);
  return toConnection(rows, page.size, totalCount);
}

/** Loads __resources__ by id in one statement, in the order asked (null where missing). */
export async function __resources__ByIds(
  em: EntityManager,
  ids: readonly string[],
): Promise<Array<__Resource__ | null>> {
  const rows = await em.find(__Resource__, { id: { $in: [...ids] } });
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}
