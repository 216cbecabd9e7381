import type { GraphQLContext } from '@platform/kernel';
import { isUuid } from '@platform/kernel';
import type { Role } from './role.entity.js';
import { rolesByIds } from './role.service.js';

/** Loads a role through the request's DataLoader, so any number of lookups is one query. */
export function loadRole(ctx: GraphQLContext, id: string): Promise<Role | null> {
  return ctx.loader<string, Role | null>('Role.byId', (ids) => rolesByIds(ctx.em, ids)).load(id);
}

/** `_entities` lookups of `Role` from other subgraphs (guarded by the module's reference rule). */
export function resolveRoleReference(reference: { id?: unknown }, ctx: GraphQLContext): Promise<Role | null> | null {
  return isUuid(reference.id) ? loadRole(ctx, reference.id.toLowerCase()) : null;
}
