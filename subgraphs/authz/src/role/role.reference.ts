import { isUuid, type GraphQLContext } from '@platform/kernel';
import type { Role } from './role.entity.js';
import { rolesByIds } from './role.service.js';

/** Loads a role through the request's DataLoader, so any number of lookups is one query. */
export function loadRole(ctx: GraphQLContext, id: string): Promise<Role | null> {
  return ctx.loader<string, Role | null>('Role.byId', (ids) => rolesByIds(ctx.em, ids)).load(id);
}

/**
 * `_entities` lookups of `Role` from other subgraphs. Shield does not wrap
 * `__resolveReference`, so the query rule (`authenticated`) is repeated here: anonymous
 * callers get null rather than a role.
 */
export function resolveRoleReference(
  reference: { __typename: string; id?: unknown },
  ctx: GraphQLContext,
): Promise<Role | null> | null {
  if (!ctx.user || !isUuid(reference.id)) return null;
  return loadRole(ctx, reference.id.toLowerCase());
}
