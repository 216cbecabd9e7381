import { defineModule } from '@platform/kernel';
import { migrations } from './migrations/index.js';
import { Role } from './role/role.entity.js';
import { resolveRoleReference } from './role/role.reference.js';
import { RoleResolver } from './role/role.resolver.js';
import { ensureBuiltInRoles } from './role/role.service.js';
import { rules } from './rules.js';

export default defineModule({
  manifest: new URL('../module.yaml', import.meta.url),
  entities: [Role],
  migrations,
  resolvers: [RoleResolver],
  references: { Role: resolveRoleReference },
  rules,
  hooks: {
    async onStart(runtime) {
      const created = await ensureBuiltInRoles(runtime.em());
      if (created.length > 0) runtime.logger.info({ roles: created }, 'built-in roles created');
    },
  },
});
