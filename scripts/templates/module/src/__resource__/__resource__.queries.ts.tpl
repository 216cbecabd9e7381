import {
  afterCursor,
  NEWEST_FIRST,
  toConnection,
  type Connection,
  type PageRequest,
  type EntityManager,
} from '@platform/kernel';
import { __Resource__ } from './__resource__.entity.js';

/** The __resource__ table's schema-qualified name, for the few statements the ORM cannot express. */
export function __resource__Table(em: EntityManager): string {
  return em.getDriver().getTableName(em.getMetadata(__Resource__), {});
}

/** __Resources__, newest first, optionally of one author; keyset cursors keep pages stable while __resources__ are added. */
export async function list__Resources__(
  em: EntityManager,
  page: PageRequest,
  authorId?: string,
): Promise<Connection<__Resource__>> {
  const scope = authorId ? { authorId } : {};
  const [rows, totalCount] = await Promise.all([
    em.find(__Resource__, { ...scope, ...afterCursor(page.cursor) }, { orderBy: NEWEST_FIRST, limit: page.size + 1 }),
    em.count(__Resource__, scope),
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
