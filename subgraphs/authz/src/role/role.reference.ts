import { isUuid, NotFoundError, type GraphQLContext } from '@platform/kernel';
import { delegatorOf, type AuthzContext } from '../context.js';
import type { Role } from './role.entity.js';
import { rolesByIds } from './role.service.js';

/**
 * Loads a role through the request's DataLoader, so any number of lookups is one query. A role of
 * an organization the caller does not act in is null, unless they read roles globally.
 */
export async function loadRole(ctx: AuthzContext, id: string): Promise<Role | null> {
  const role = await ctx.loader<string, Role | null>('Role.byId', (ids) => rolesByIds(ctx.em, ids)).load(id);
  if (!role) return null;
  try {
    await ctx.services.delegation.requireVisible(ctx.em, delegatorOf(ctx), role);
    return role;
  } catch (error) {
    if (error instanceof NotFoundError) return null;
    throw error;
  }
}

/** `_entities` lookups of `Role` from other subgraphs (guarded by the module's reference rule). */
export function resolveRoleReference(reference: { id?: unknown }, ctx: GraphQLContext): Promise<Role | null> | null {
  return isUuid(reference.id) ? loadRole(ctx as AuthzContext, reference.id.toLowerCase()) : null;
}
