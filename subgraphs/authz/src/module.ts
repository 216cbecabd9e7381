import { defineModule, permission, publicAccess } from '@platform/kernel';
import { RoleAssignment } from './assignment/assignment.entity.js';
import { identityUserConsumer } from './assignment/identity-events.js';
import { identityOrganizationConsumer } from './assignment/organization-events.js';
import { KnownMember, KnownOrganization } from './user/known-organization.entity.js';
import { seedAdministratorRoles } from './assignment/seed.js';
import { authzConfigSchema } from './config.js';
import { RolePermission } from './grant/grant.entity.js';
import { migrations } from './migrations/index.js';
import { Permission } from './permissions.generated.js';
import { Role } from './role/role.entity.js';
import { resolveRoleReference } from './role/role.reference.js';
import { RoleResolver } from './role/role.resolver.js';
import { permissionRoutes } from './routes.js';
import { rules } from './rules.js';
import { createAuthzServices, type AuthzServices } from './services.js';
import { KnownUser } from './user/known-user.entity.js';
import { UserRolesResolver } from './user/user.resolver.js';
import { resolveUserReference } from './user/user.type.js';

export default defineModule<typeof authzConfigSchema, AuthzServices>({
  manifest: new URL('../module.yaml', import.meta.url),
  config: authzConfigSchema,
  entities: [Role, RolePermission, RoleAssignment, KnownUser, KnownOrganization, KnownMember],
  migrations,
  resolvers: [RoleResolver, UserRolesResolver],
  references: {
    Role: { rule: permission(Permission.RoleRead), resolve: resolveRoleReference },
    // Only the id; `roles` and `permissions` carry their own rules.
    User: { rule: publicAccess, resolve: resolveUserReference },
  },
  rules,
  services: createAuthzServices,
  // authz computes every caller's permissions (the permissions contract): asked in process here.
  contracts: { permissions: (_runtime, services) => services.permissions },
  routes: permissionRoutes,
  // Started after onStart made the built-in roles: identity's events assign them.
  consumers: [identityUserConsumer, identityOrganizationConsumer],
  hooks: {
    async onStart(runtime, services) {
      const created = await services.builtInRoles.ensure(runtime.em());
      if (created.length > 0) runtime.logger.info({ roles: created }, 'built-in roles created');
      const revoked = await services.builtInRoles.enforceGuestAllowList(runtime.em());
      if (revoked.length > 0) {
        runtime.logger.warn(
          { revoked, allowList: services.delegation.guestAllowList() },
          'guest role held permissions outside modules.authz.guestAllowList: revoked',
        );
      }
    },
    // `platformctl seed`: the administrator identity seeded holds `user` and `admin`.
    seed: seedAdministratorRoles,
  },
});
