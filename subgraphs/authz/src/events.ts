/**
 * Every event authz publishes (topic → what the payload carries). Other services drop cached
 * permissions on them; audit records them. Services record them with the kernel's `Emit<AuthzEvents>`.
 */
export interface AuthzEvents {
  /** `organizationId`: the organization the role belongs to; absent for a global role. */
  'authz.role.created': { roleId: string; name: string; organizationId?: string };
  'authz.role.updated': { roleId: string; name: string; changed: string[] };
  /** `holders`: how many users lost the role with it. */
  'authz.role.deleted': { roleId: string; name: string; holders: number };
  'authz.grant.changed': { roleId: string; roleName: string; granted: string[]; revoked: string[] };
  'authz.assignment.created': { userId: string; roleId: string; roleName: string };
  'authz.assignment.deleted': { userId: string; roleId: string; roleName: string };
}
