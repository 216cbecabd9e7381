import type { EntityManager } from '@mikro-orm/core';
import { afterCursor, decodeCursor, newestFirst, pageSize, toConnection, type Connection } from '@platform/kernel';
import { AuditEvent } from './audit-event.entity.js';

export interface ListAuditEventsArgs {
  first?: number | null;
  after?: string | null;
}

/** Events are ordered by when they happened, not when audit received them. */
const ORDER_FIELD = 'occurredAt';

/** Reads audit events; newest first with keyset cursors on (occurredAt, id). */
export async function listAuditEvents(em: EntityManager, args: ListAuditEventsArgs): Promise<Connection<AuditEvent>> {
  const size = pageSize(args.first);
  const cursor = args.after ? decodeCursor(args.after) : undefined;
  const [rows, totalCount] = await Promise.all([
    em.find(AuditEvent, afterCursor(cursor, ORDER_FIELD), { orderBy: newestFirst(ORDER_FIELD), limit: size + 1 }),
    em.count(AuditEvent, {}),
  ]);
  return toConnection(rows, size, totalCount, ORDER_FIELD);
}

/** Loads events by id in one statement, in the order asked (null where missing). */
export async function auditEventsByIds(em: EntityManager, ids: readonly string[]): Promise<Array<AuditEvent | null>> {
  const rows = await em.find(AuditEvent, { id: { $in: [...ids] } });
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}
