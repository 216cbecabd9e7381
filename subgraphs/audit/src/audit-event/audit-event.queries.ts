import { InputError, isUuid, pageOf, type Connection, type FieldError, type EntityManager } from '@platform/kernel';
import { AuditEvent } from './audit-event.entity.js';
import type { AuditEventFilter } from './audit-event.inputs.js';

/** A validated filter: what `auditEvents` narrows the log to. */
export interface AuditQuery {
  actorId?: string;
  action?: string;
  actionPrefix?: string;
  targetType?: string;
  targetId?: string;
  from?: Date;
  to?: Date;
}

const ACTION = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*){2,}$/;
const ACTION_PREFIX = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;

/** Checks every field of the filter; all problems at once, as BAD_USER_INPUT naming `filter.<field>`. */
export function auditQueryOf(filter: AuditEventFilter | null | undefined): AuditQuery {
  if (!filter) return {};
  const problems: FieldError[] = [];
  const problem = (field: keyof AuditEventFilter, message: string): void => {
    problems.push({ field: `filter.${field}`, message });
  };
  const query: AuditQuery = {};
  const present = <T>(value: T | null | undefined): value is T => value !== null && value !== undefined;

  if (present(filter.actorId)) {
    if (isUuid(filter.actorId)) query.actorId = filter.actorId.toLowerCase();
    else problem('actorId', 'must be a UUID');
  }
  if (present(filter.action)) {
    if (filter.action.length <= 200 && ACTION.test(filter.action)) query.action = filter.action;
    else problem('action', 'must be an action like module.resource.verb (lower case)');
  }
  if (present(filter.actionPrefix)) {
    const prefix = filter.actionPrefix.endsWith('.') ? filter.actionPrefix.slice(0, -1) : filter.actionPrefix;
    if (prefix.length <= 200 && ACTION_PREFIX.test(prefix)) query.actionPrefix = prefix;
    else problem('actionPrefix', 'must be whole lower-case segments like identity or identity.login');
  }
  for (const [field, max] of [
    ['targetType', 64],
    ['targetId', 128],
  ] as const) {
    const value = filter[field];
    if (!present(value)) continue;
    if (value.length === 0 || value.length > max) problem(field, `must be 1 to ${max} characters`);
    else query[field] = value;
  }
  for (const field of ['from', 'to'] as const) {
    const value = filter[field];
    if (!present(value)) continue;
    if (!(value instanceof Date) || Number.isNaN(value.getTime())) problem(field, 'must be a date-time');
    else query[field] = value;
  }
  if (query.from && query.to && query.to <= query.from) problem('to', 'must be later than filter.from');
  if (problems.length > 0) throw new InputError('Invalid audit event filter', problems);
  return query;
}

/** `_` and `%` are LIKE wildcards: escaped, the prefix matches itself only. */
const likeLiteral = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);

function whereOf(query: AuditQuery): Record<string, unknown> {
  const where: Record<string, unknown> = {};
  if (query.actorId) where.actorId = query.actorId;
  if (query.action) where.action = query.action;
  if (query.targetType) where.targetType = query.targetType;
  if (query.targetId) where.targetId = query.targetId;
  if (query.from || query.to) {
    where.occurredAt = { ...(query.from ? { $gte: query.from } : {}), ...(query.to ? { $lt: query.to } : {}) };
  }
  if (query.actionPrefix) {
    where.$and = [
      { $or: [{ action: query.actionPrefix }, { action: { $like: `${likeLiteral(query.actionPrefix)}.%` } }] },
    ];
  }
  return where;
}

/** Cursors are chain positions: later records always get higher ones, so pages never shift. */
export function encodeAuditCursor(seq: number): string {
  return Buffer.from(`audit:${seq}`, 'utf8').toString('base64url');
}

/** The chain position in a cursor's decoded text (see `pageOf`); at most 15 digits, so exact as a number. */
export function auditCursorPosition(text: string): number {
  const match = /^audit:(\d{1,15})$/.exec(text);
  if (!match) throw InputError.field('after', 'is not a valid cursor');
  return Number(match[1]);
}

export interface ListArgs {
  filter?: AuditEventFilter | null;
  first?: number | null;
  after?: string | null;
}

/**
 * Audit events, most recently recorded first, with keyset cursors on the chain position: a
 * cursor stays valid while events arrive, and paging on from it gives no duplicates and no gaps
 * (new events land before the first page, never between pages).
 */
export async function listAuditEvents(em: EntityManager, args: ListArgs): Promise<Connection<AuditEvent>> {
  const { size, cursor: after } = pageOf(args, auditCursorPosition);
  const where = whereOf(auditQueryOf(args.filter));
  const [rows, totalCount] = await Promise.all([
    em.find(AuditEvent, after === undefined ? where : { ...where, seq: { $lt: after } }, {
      orderBy: { seq: 'desc' },
      limit: size + 1,
    }),
    em.count(AuditEvent, where),
  ]);
  const edges = rows.slice(0, size).map((node) => ({ node, cursor: encodeAuditCursor(node.seq) }));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount,
  };
}

/** Loads events by id in one statement, in the order asked (null where missing). */
export async function auditEventsByIds(em: EntityManager, ids: readonly string[]): Promise<Array<AuditEvent | null>> {
  const rows = await em.find(AuditEvent, { id: { $in: [...ids] } });
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}
