// Generated from module.yaml by npm run generate. Do not edit.

/** Permissions of the authz module, as declared in its module.yaml. */
export const Permission = {
  /** List roles and see what they grant */
  RoleRead: 'authz.role.read',
  /** Create new roles */
  RoleCreate: 'authz.role.create',
  /** Rename roles and change their permissions */
  RoleUpdate: 'authz.role.update',
  /** Delete roles that are not built in */
  RoleDelete: 'authz.role.delete',
  /** Give roles to users and take them away */
  RoleAssign: 'authz.role.assign',
  /** List every permission the modules declare */
  PermissionRead: 'authz.permission.read',
} as const;

export type Permission = (typeof Permission)[keyof typeof Permission];
