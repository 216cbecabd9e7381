import {
  afterCursor,
  decodeCursor,
  InputError,
  isUuid,
  NEWEST_FIRST,
  pageSize,
  toConnection,
  type Connection,
  type Cursor,
} from '@platform/kernel';
import type { EntityManager } from '../context.js';
import { __Resource__ } from './__resource__.entity.js';

/** A page of a newest-first list: `size` rows after `cursor` (from the start without one). */
export interface PageRequest {
  size: number;
  cursor?: Cursor;
}

/** `first` and `after` checked: BAD_USER_INPUT naming the argument. */
export function pageOf(args: { first?: number | null; after?: string | null }): PageRequest {
  const size = pageSize(args.first);
  if (!args.after) return { size };
  const cursor = decodeCursor(args.after);
  // The kernel checks only the cursor's shape; a forged id or date is refused here, not in SQL.
  const year = cursor.createdAt.getUTCFullYear();
  if (!isUuid(cursor.id) || year < 1 || year > 9999) throw InputError.field('after', 'is not a valid cursor');
  return { size, cursor };
}

/** __Resources__, newest first; keyset cursors keep pages stable while rows are added. */
export async function list__Resources__(em: EntityManager, page: PageRequest): Promise<Connection<__Resource__>> {
  const [rows, totalCount] = await Promise.all([
    em.find(__Resource__, afterCursor(page.cursor), { orderBy: NEWEST_FIRST, limit: page.size + 1 }),
    em.count(__Resource__, {}),
  ]);
  return toConnection(rows, page.size, totalCount);
}

/** Loads __resources__ by id in one statement, in the order asked (null where missing). */
export async function __resources__ById(
  em: EntityManager,
  ids: readonly string[],
): Promise<Array<__Resource__ | null>> {
  const rows = await em.find(__Resource__, { id: { $in: [...ids] } });
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}
