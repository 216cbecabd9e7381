import { or, permission, publicAccess, rule, ForbiddenError, type GraphQLContext, type IRules } from '@platform/kernel';
import { Permission } from './permissions.generated.js';

/** The caller is the user whose roles are read. */
const isSelf = rule({ cache: 'no_cache' })((parent: { id: string }, _args, ctx: GraphQLContext) =>
  ctx.user?.id.toLowerCase() === parent.id.toLowerCase()
    ? true
    : new ForbiddenError('Only the user themself can see this'),
);

/**
 * Who may touch what. Roles, grants and assignments each have their permission; a user sees
 * their own roles and permissions. `Role` and `Permission` objects are reachable only through
 * fields guarded here (and the guarded `Role` reference), so their fields are open.
 */
export const rules: IRules = {
  Query: {
    roles: permission(Permission.RoleRead),
    role: permission(Permission.RoleRead),
    permissions: permission(Permission.PermissionRead),
  },
  Mutation: {
    createRole: permission(Permission.RoleCreate),
    updateRole: permission(Permission.RoleUpdate),
    grantPermissions: permission(Permission.RoleUpdate),
    revokePermission: permission(Permission.RoleUpdate),
    deleteRole: permission(Permission.RoleDelete),
    assignRole: permission(Permission.RoleAssign),
    unassignRole: permission(Permission.RoleAssign),
  },
  Role: publicAccess,
  Permission: publicAccess,
  User: {
    id: publicAccess,
    roles: or(isSelf, permission(Permission.RoleRead)),
    permissions: or(isSelf, permission(Permission.RoleRead)),
  },
};
