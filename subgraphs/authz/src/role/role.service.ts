import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { afterCursor, decodeCursor, NEWEST_FIRST, pageSize, toConnection, type Connection } from '@platform/kernel';
import { Role } from './role.entity.js';

/** The roles every installation has: `admin` gets every permission, `guest` is anonymous. */
export const BUILT_IN_ROLES = [
  { name: 'admin', description: 'Every permission' },
  { name: 'user', description: 'Every registered user' },
  { name: 'guest', description: 'Anonymous callers' },
] as const;

export interface ListRolesArgs {
  first?: number | null;
  after?: string | null;
}

/** Reads roles; newest first with keyset cursors. */
export async function listRoles(em: EntityManager, args: ListRolesArgs): Promise<Connection<Role>> {
  const size = pageSize(args.first);
  const cursor = args.after ? decodeCursor(args.after) : undefined;
  const [rows, totalCount] = await Promise.all([
    em.find(Role, afterCursor(cursor), { orderBy: NEWEST_FIRST, limit: size + 1 }),
    em.count(Role, {}),
  ]);
  return toConnection(rows, size, totalCount);
}

/** Loads roles by id in one statement, in the order asked (null where missing). */
export async function rolesByIds(em: EntityManager, ids: readonly string[]): Promise<Array<Role | null>> {
  const rows = await em.find(Role, { id: { $in: [...ids] } });
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}

/**
 * Creates the built-in roles that are missing; safe to run on every start and from several
 * processes at once (`on conflict (name) do nothing`). Returns the names it created.
 */
export async function ensureBuiltInRoles(em: EntityManager): Promise<string[]> {
  const existing = new Set(
    (await em.find(Role, { name: { $in: BUILT_IN_ROLES.map((r) => r.name) } })).map((r) => r.name),
  );
  const missing = BUILT_IN_ROLES.filter((role) => !existing.has(role.name));
  if (missing.length === 0) return [];
  const now = new Date();
  await em.upsertMany(
    Role,
    // Plain rows skip the entity's defaults: the id is set here.
    missing.map((role) => ({ ...role, id: randomUUID(), builtIn: true, createdAt: now })),
    { onConflictFields: ['name'], onConflictAction: 'ignore' },
  );
  return missing.map((role) => role.name);
}
