import type { EntityManager } from '@mikro-orm/core';
import { User } from './user.entity.js';

/** Loads users by id in one statement, in the order asked (null where missing). */
export async function usersByIds(em: EntityManager, ids: readonly string[]): Promise<Array<User | null>> {
  const rows = await em.find(User, { id: { $in: [...ids] } });
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}
