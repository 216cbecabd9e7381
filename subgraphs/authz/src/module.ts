import { defineModule } from '@platform/kernel';
import { RoleAssignment } from './assignment/assignment.entity.js';
import { migrations } from './migrations/index.js';
import { Role } from './role/role.entity.js';
import { resolveRoleReference } from './role/role.reference.js';
import { RoleResolver } from './role/role.resolver.js';
import { ensureBuiltInRoles } from './role/role.service.js';
import { rules } from './rules.js';
import { createAuthzServices } from './services.js';

export default defineModule({
  manifest: new URL('../module.yaml', import.meta.url),
  entities: [Role, RoleAssignment],
  migrations,
  resolvers: [RoleResolver],
  references: { Role: resolveRoleReference },
  rules,
  services: createAuthzServices,
  hooks: {
    async onStart(runtime, services) {
      const created = await ensureBuiltInRoles(runtime.em());
      if (created.length > 0) runtime.logger.info({ roles: created }, 'built-in roles created');
      // After the built-in roles exist: identity's events assign them.
      await services.identityEvents.start();
    },
  },
});
